"""Nobody is left waiting: a request the practice leaves unanswered is followed up in its
working days (weekends and its state's public holidays not counted): a reminder after two, the
patient service and a word to the patient, with other specialists nearby, after four. Once each,
under row locks, together with the purge."""

import threading
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections, transaction
from django.utils import timezone

from appointments import conversation, reminders
from appointments.models import Answer, AppointmentRequest
from tests.factories import (
    REQUEST_MESSAGE,
    AffiliationFactory,
    ConditionFactory,
    route_requests_to,
)

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 10, month: int = 1) -> datetime:
    """A moment in January 2027, Berlin time: the 6th (Epiphany) is a Wednesday and a public
    holiday in Bavaria, not in Berlin."""
    return timezone.make_aware(datetime(2027, month, day, hour, 0))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("received", "region", "due"),
    [
        (at(4), "BE", at(6)),  # Monday in Berlin: Wednesday
        (at(4), "BY", at(7)),  # Monday in Bavaria: Epiphany does not count, Thursday
        (at(1, 15), "BE", at(6, 0)),  # New Year's Day: counted from Monday's beginning
        (at(8, 15), "BY", at(12, 15)),  # Friday afternoon: Tuesday afternoon
        (at(9, 11), "BY", at(13, 0)),  # Saturday: Monday and Tuesday are the two days
    ],
)
def test_working_days_skip_weekends_and_the_states_holidays(received, region, due):
    assert reminders.add_working_days(received, 2, "DE", region) == due


def test_gazetteer_regions_become_the_holiday_calendars_subdivisions():
    assert reminders.subdivision("DE", "02") == "BY"
    assert reminders.subdivision("DE", "16") == "BE"
    assert reminders.subdivision("AT", "09") == "9"
    assert reminders.subdivision("CH", "TI") == "TI"
    assert reminders.subdivision("CH", "XX") is None
    assert reminders.subdivision("DE", "") is None


@pytest.fixture
def munich():
    """A practice in Munich (Bavaria) whose requests go to its confirmed address; a colleague
    in Munich and one in Hamburg treat the same condition."""
    condition = ConditionFactory(slug="liver-metastases", name_en="Liver metastases")
    affiliation = AffiliationFactory(
        location__city="München",
        location__postcode="80331",
        location__clinic__email="info@isar.example",
    )
    route_requests_to(affiliation.clinic, "info@isar.example")
    affiliation.specialist.conditions.add(condition)
    for city, postcode, name in (("München", "80336", "Nachbar"), ("Hamburg", "20095", "Fern")):
        other = AffiliationFactory(
            specialist__family_name=name, location__city=city, location__postcode=postcode
        ).specialist
        other.conditions.add(condition)
    return affiliation.specialist


def due_for_a_reminder() -> datetime:
    """A moment that is, now, at least two and less than four of Munich's working days ago."""
    now = timezone.now()
    for days in range(1, 15):
        then = now - timedelta(days=days)
        if (
            reminders.add_working_days(then, 2, "DE", "BY")
            <= now
            < reminders.add_working_days(then, 4, "DE", "BY")
        ):
            return then
    raise AssertionError("no such moment")


def received(specialist, when, **fields) -> AppointmentRequest:
    fields.setdefault("status", AppointmentRequest.Status.FORWARDED)
    return AppointmentRequest.objects.create(
        specialist=specialist,
        name="Maria Muster",
        email="maria@example.org",
        message=REQUEST_MESSAGE,
        preferred_language="de",
        site_language="en",
        consent_at=when,
        created=when,
        recipient="info@isar.example",
        practice_notified_at=when,
        patient_notified_at=when,
        **fields,
    )


def test_the_practice_is_reminded_once_after_two_working_days_with_a_holiday_between(munich):
    request = received(munich, at(4))  # Monday; Wednesday is Epiphany in Bavaria

    assert reminders.remind(now=at(7, 9)) == {"reminded": 0, "escalated": 0, "failed": 0}
    assert reminders.remind(now=at(7, 10)) == {"reminded": 1, "escalated": 0, "failed": 0}
    assert reminders.remind(now=at(7, 11))["reminded"] == 0  # once

    (reminder,) = mail.outbox
    assert reminder.to == ["info@isar.example"]
    assert "Erinnerung" in reminder.subject  # the practice's language
    assert "/de/requests/answer/" in reminder.body
    for personal in (REQUEST_MESSAGE, "Maria", "maria@example.org"):
        assert personal not in reminder.body
    request.refresh_from_db()
    assert request.reminded_at == at(7, 10)
    assert request.escalated_at is None


def test_after_four_working_days_the_patient_service_takes_over_and_the_patient_is_told(
    munich, client, settings
):
    settings.APPOINTMENT_INBOX_EMAIL = "service@atlas.example"
    request = received(munich, at(4))
    reminders.remind(now=at(7, 10))
    mail.outbox.clear()

    # Tuesday, Thursday, Friday, Monday: four working days on Monday the 11th at 10:00.
    assert reminders.remind(now=at(11, 9))["escalated"] == 0
    assert reminders.remind(now=at(11, 10))["escalated"] == 1
    assert reminders.remind(now=at(12, 10)) == {"reminded": 0, "escalated": 0, "failed": 0}

    to_patient, to_service = mail.outbox
    assert to_patient.to == ["maria@example.org"]
    assert "no answer yet" in to_patient.subject
    assert to_service.to == ["service@atlas.example"]
    for message in (to_patient, to_service):
        assert REQUEST_MESSAGE not in message.body
        assert "Maria" not in message.body
    page = client.get(urlsplit_path(to_patient.body))
    assert "Other specialists nearby" in page.text
    assert "Nachbar" in page.text
    assert "Fern" not in page.text
    assert "condition=liver-metastases" in page.text
    request.refresh_from_db()
    assert request.escalated_at == at(11, 10)


@pytest.fixture
def clerk():
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    user = UserFactory(username="clara", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_appointmentrequest", "change_appointmentrequest"]
        )
    )
    return user


def test_the_patient_service_finds_them_in_admin(munich, client, clerk):
    waiting = received(munich, at(4))
    answered = received(munich, at(4))
    reminders.remind(now=at(11, 10))
    Answer.objects.create(request=answered, side="practice", kind="question", text="?")
    client.force_login(clerk)

    listing = client.get("/admin/appointments/appointmentrequest/?follow_up=service")

    assert f"Request no. {waiting.pk}<" in listing.text
    assert f"Request no. {answered.pk}<" not in listing.text  # answered since
    assert listing.status_code == 200


def test_an_answered_or_closed_request_is_not_followed_up(munich, client):
    answered = received(munich, at(4))
    closed = received(munich, at(4), status=AppointmentRequest.Status.CLOSED)
    visit = conversation.Visit(answered, conversation.Side.PRACTICE, 0)
    conversation.answer(visit, "question", text="Which findings do you have?")
    mail.outbox.clear()

    assert reminders.remind(now=at(20)) == {"reminded": 0, "escalated": 0, "failed": 0}
    assert mail.outbox == []
    closed.refresh_from_db()
    assert closed.reminded_at is None


def test_a_failed_reminder_is_tried_again_by_the_next_run(munich, settings):
    received(munich, due_for_a_reminder())
    settings.EMAIL_BACKEND = "tests.test_appointments.FailingBackend"

    with pytest.raises(CommandError, match="1 follow-up"):
        call_command("remind_requests")

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("remind_requests")
    assert len(mail.outbox) == 1


def test_purge_then_remind_leaves_nothing_of_an_expired_request(munich, settings):
    settings.APPOINTMENT_RETENTION_DAYS = 30
    expired = received(munich, timezone.now() - timedelta(days=40))
    due = received(munich, due_for_a_reminder())

    call_command("purge_requests")
    call_command("remind_requests")

    assert not AppointmentRequest.objects.filter(pk=expired.pk).exists()
    assert [message.to for message in mail.outbox] == [["info@isar.example"]]
    assert f"Nr. {due.pk} " in mail.outbox[0].subject


@pytest.mark.django_db(transaction=True)
def test_a_request_locked_by_another_run_is_skipped_not_sent_twice(munich):
    request = received(munich, due_for_a_reminder())
    locked, release = threading.Event(), threading.Event()

    def other_host() -> None:
        try:
            with transaction.atomic():
                AppointmentRequest.objects.select_for_update().get(pk=request.pk)
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_host)
    thread.start()
    assert locked.wait(30)
    try:
        assert reminders.remind()["reminded"] == 0
    finally:
        release.set()
        thread.join()
    assert reminders.remind()["reminded"] == 1
    assert reminders.remind()["reminded"] == 0
    assert len(mail.outbox) == 1


def urlsplit_path(body: str) -> str:
    from urllib.parse import urlsplit

    (link,) = [word for word in body.split() if "/requests/follow/" in word]
    return urlsplit(link).path.replace("/de/", "/en/", 1)


def test_an_escalation_whose_patient_email_fails_is_tried_again_and_told_once(munich, settings):
    settings.APPOINTMENT_INBOX_EMAIL = "service@atlas.example"
    request = received(munich, at(4), reminded_at=at(7, 10))
    settings.EMAIL_BACKEND = "tests.test_appointments.FailingBackend"

    assert reminders.remind(now=at(11, 10))["failed"] == 1
    request.refresh_from_db()
    assert request.escalated_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert reminders.remind(now=at(11, 11))["escalated"] == 1
    assert reminders.remind(now=at(11, 12))["escalated"] == 0
    assert [message.to for message in mail.outbox] == [
        ["maria@example.org"],
        ["service@atlas.example"],
    ]
