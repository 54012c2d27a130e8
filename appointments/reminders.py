"""Nobody is left waiting: a request the practice has not answered is followed up, counted in
the practice's working days (weekends and the public holidays of its country and state or
canton not counted; the `holidays` package knows them).

- After REMIND_AFTER working days the practice is reminded, once, with a fresh link.
- After ESCALATE_AFTER working days the request goes to the patient service (admin: "Waiting
  for the patient service"; a notice without health data goes to APPOINTMENT_INBOX_EMAIL), and
  the patient is told, with a link to their page, which then offers other specialists for the
  same condition nearby.

`manage.py remind_requests` runs it (a systemd timer, hourly). It is idempotent (each step is
recorded on the request and done once) and safe on several hosts at once: each request is
handled under a row lock that other runs skip.
"""

import logging
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from appointments import conversation, recipients
from appointments.models import Answer, AppointmentRequest
from directory.models import Clinic, Specialist

logger = logging.getLogger(__name__)

REMIND_AFTER = 2  # working days
ESCALATE_AFTER = 4

Status = AppointmentRequest.Status
# Waiting for the practice's first answer.
WAITING = [Status.NEW, Status.FORWARDED, Status.READ]

# GeoNames' first-level codes (directory.Place.region) as the ISO 3166-2 subdivisions the
# `holidays` package takes. Switzerland's cantons are the same in both.
GERMAN_STATES = {
    "01": "BW",
    "02": "BY",
    "03": "HB",
    "04": "HH",
    "05": "HE",
    "06": "NI",
    "07": "NW",
    "08": "RP",
    "09": "SL",
    "10": "SH",
    "11": "BB",
    "12": "MV",
    "13": "SN",
    "14": "ST",
    "15": "TH",
    "16": "BE",
}
AUSTRIAN_STATES = {f"0{n}": str(n) for n in range(1, 10)}  # 01 Burgenland ... 09 Vienna


def subdivision(country: str, region: str) -> str | None:
    """The `holidays` subdivision of a gazetteer region, or None (national holidays only)."""
    if country == "DE":
        return GERMAN_STATES.get(region)
    if country == "AT":
        return AUSTRIAN_STATES.get(region)
    if country == "CH" and region in holidays.country_holidays("CH").subdivisions:
        return region
    return None


@lru_cache(maxsize=256)
def _calendar(country: str, subdiv: str | None) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdiv)


def is_working_day(day: date, country: str, subdiv: str | None) -> bool:
    return day.weekday() < 5 and day not in _calendar(country, subdiv)


def add_working_days(start: datetime, days: int, country: str, subdiv: str | None) -> datetime:
    """The moment `days` working days after `start`, at the same time of day: a request
    received on a Friday afternoon is two working days old on Tuesday afternoon (Wednesday's
    after a public holiday on the Monday). A start outside working days counts from the next
    working day's beginning."""
    moment = timezone.localtime(start)
    while not is_working_day(moment.date(), country, subdiv):
        moment = _next_midnight(moment)
    for _day in range(days):
        moment = _same_time_next_day(moment)
        while not is_working_day(moment.date(), country, subdiv):
            moment = _same_time_next_day(moment)
    return moment


def _next_midnight(moment: datetime) -> datetime:
    day = moment.date() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _same_time_next_day(moment: datetime) -> datetime:
    # Across a change to or from summer time, the same wall-clock time.
    naive = timezone.make_naive(moment) + timedelta(days=1)
    return timezone.make_aware(naive)


def practice_calendar(target: Specialist | Clinic) -> tuple[str, str | None]:
    """The country and subdivision whose days off the practice keeps: those of its primary
    location. Germany's when unknown."""
    location = recipients.primary_location(target)
    if location is None:
        return "DE", None
    region = location.place.region if location.place else ""
    return location.country, subdivision(location.country, region)


def _unanswered():
    """Requests the practice has been told of and has not answered yet."""
    answered = Answer.objects.filter(side=Answer.Side.PRACTICE).values("request")
    return AppointmentRequest.objects.filter(
        status__in=WAITING, practice_notified_at__isnull=False
    ).exclude(pk__in=answered)


def remind(now: datetime | None = None) -> dict[str, int]:
    """Remind and escalate what is due; returns how many of each (and failures). A failed
    email leaves its step undone for the next run."""
    now = now or timezone.now()
    done = {"reminded": 0, "escalated": 0, "failed": 0}
    candidates = _unanswered().filter(escalated_at__isnull=True).order_by("created")
    for pk in candidates.values_list("pk", flat=True):
        outcome = _follow_up(pk, now)
        if outcome:
            done[outcome] += 1
    return done


def _follow_up(pk: int, now: datetime) -> str | None:
    with transaction.atomic():
        request = (
            _unanswered()
            .filter(pk=pk, escalated_at__isnull=True)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("specialist", "clinic")
            .first()
        )
        if request is None:
            return None  # answered meanwhile, done already, or another host has it
        country, subdiv = practice_calendar(request.target)
        try:
            if now >= add_working_days(request.created, ESCALATE_AFTER, country, subdiv):
                # The patient first: until they are told, nothing is recorded and the next run
                # tries again; the service's notice is not repeated (its list shows the request).
                _mail(request, conversation.Side.PATIENT, "patient_escalated").send()
                request.escalated_at = now
                request.save(update_fields=["escalated_at"])
                _tell_the_service(request)
                return "escalated"
            due = add_working_days(request.created, REMIND_AFTER, country, subdiv)
            if request.reminded_at is None and now >= due:
                _mail(request, conversation.Side.PRACTICE, "practice_reminder").send()
                request.reminded_at = now
                request.save(update_fields=["reminded_at"])
                return "reminded"
        except Exception as error:  # the mail server: the next run tries again
            logger.warning(
                "Appointment request %s: follow-up not sent (%s).",
                request.pk,
                type(error).__name__,
            )
            return "failed"
    return None


def _tell_the_service(request: AppointmentRequest) -> None:
    """A notice to APPOINTMENT_INBOX_EMAIL (number and listing only). A failure is logged: the
    admin's "Waiting for the patient service" lists the request all the same."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(
            "appointments/email/inbox_escalated_subject.txt", {"request": request}
        ).strip()
        body = render_to_string(
            "appointments/email/inbox_escalated.txt",
            {"request": request, "target": request.target, "days": ESCALATE_AFTER},
        )
    try:
        EmailMessage(subject, body, to=[settings.APPOINTMENT_INBOX_EMAIL]).send()
    except Exception as error:  # the mail server; the admin list still shows it
        logger.warning(
            "Appointment request %s: the patient service's notice not sent (%s).",
            request.pk,
            type(error).__name__,
        )


def _mail(request: AppointmentRequest, side: str, template: str) -> EmailMessage:
    return conversation.message(
        request, side, template, remind_after=REMIND_AFTER, escalate_after=ESCALATE_AFTER
    )


NEARBY_KM = 50
ALTERNATIVES = 5


def alternatives(request: AppointmentRequest) -> tuple[list[Specialist], str]:
    """Other specialists for the request's condition (else the one its listing treats first) in
    the same town (up to ALTERNATIVES, those taking new patients first), and the search for the
    condition within NEARBY_KM of the town, nearest first. ([], "") without a condition."""
    from django.urls import reverse
    from django.utils.http import urlencode

    from directory.models import Condition

    target = request.target
    if isinstance(target, Specialist):
        condition = request.condition or (
            Condition.objects.filter(specialistcondition__specialist=target)
            .order_by("specialistcondition__position", "specialistcondition__id")
            .first()
        )
        location = target.affiliations.order_by("-is_primary", "id").first()
        location = location.location if location else None
    else:
        condition = request.condition or (
            Condition.objects.filter(specialistcondition__specialist__affiliations__clinic=target)
            .public()
            .order_by("specialistcondition__position", "id")
            .first()
        )
        location = target.locations.order_by("id").first()
    if condition is None or condition.needs_review:
        return [], ""
    people = (
        Specialist.objects.published()
        .filter(specialistcondition__condition=condition)
        .exclude(pk=getattr(request.specialist, "pk", None))
        .distinct()
    )
    parameters = {"condition": condition.slug}
    if location is not None:
        people = people.filter(
            affiliations__location__city__iexact=location.city,
            affiliations__clinic__status="published",
        )
        parameters.update(city=location.city, radius=NEARBY_KM, sort="distance")
    chosen = list(people.order_by("-accepts_new_patients", "family_name", "id")[:ALTERNATIVES])
    return chosen, f"{reverse('directory:search')}?{urlencode(parameters)}"
