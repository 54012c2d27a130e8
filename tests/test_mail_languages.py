"""The languages of the site's emails: a practice gets every mail in its own language (the
listing's setting, else its clinic's, else its canton's in Switzerland, else German), a patient
in the language of the site they used. French and Italian mails hold no English sentence, and
their links open the pages in the mail's language."""

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from appointments import bookings, conversation, delivery, recipients, reminders, weekly_link
from appointments.models import Answer, AppointmentRequest, Booking, RecipientChange
from directory.models import Place, WeeklyTemplate
from tests.factories import (
    REQUEST_MESSAGE,
    AffiliationFactory,
    free_slot,
    request_form_data,
    route_requests_to,
)

pytestmark = pytest.mark.django_db

PRACTICE_SIDE = conversation.Side.PRACTICE
PATIENT_SIDE = conversation.Side.PATIENT
PRACTICE = "praxis@example.org"
PATIENT = "maria@example.org"
LINK = re.compile(r"https?://\S+")
# What reads the same in every language: the site's name (the French and Italian catalogues
# keep it) and the second specialist of a second opinion.
SITE_NAME = "Specialist Atlas"
COLLEAGUE = "Luca Bernasconi"
# Every mail, by what it is about (every_mail).
MAILS = [
    "new request",
    "confirmation",
    "second opinion confirmation",
    "reminder",
    "escalation",
    "answer: proposal",
    "answer: question",
    "answer: decline",
    "answer: accept",
    "answer: reply",
    "new link: practice",
    "new link: patient",
    "booking held",
    "booking booked: practice",
    "booking booked: patient",
    "booking cancelled",
    "weekly times",
    "address for requests",
    "address for requests: the old address",
    "address for requests from abroad",
]


def practice_in(canton: str | None, *, setting: str = "", own_setting: str = ""):
    """A specialist at a clinic in the canton's largest town (None: Erfurt, Germany), whose
    requests go to the clinic's confirmed address. `setting` is the clinic's mail language,
    `own_setting` the specialist's."""
    fields = {}
    if canton is not None:
        place = Place.objects.filter(country="CH", region=canton).order_by("-population").first()
        fields = {
            "location__country": "CH",
            "location__city": place.name_de,
            "location__postcode": "1000",
            "location__place": place,
        }
    affiliation = AffiliationFactory(specialist__email="", location__clinic__email="", **fields)
    affiliation.clinic.correspondence_language = setting
    affiliation.clinic.save()
    affiliation.specialist.correspondence_language = own_setting
    affiliation.specialist.save()
    route_requests_to(affiliation.clinic, PRACTICE)
    return affiliation


def every_mail(affiliation, patient_language: str) -> dict[str, tuple[str, object]]:
    """Every email the site sends about a listing's requests and bookings, each kind once:
    {name (MAILS): (side, message)}, the side being the practice's or the patient's. The patient
    used the site in `patient_language`. (The site's own inbox is told of an escalation in
    English; that notice is left out.)"""
    specialist, clinic = affiliation.specialist, affiliation.clinic
    found: dict = {}

    def sent(step, *names) -> None:
        mail.outbox.clear()
        step()
        messages = [m for m in mail.outbox if m.to != [settings.APPOINTMENT_INBOX_EMAIL]]
        assert len(messages) == len(names), names
        for (name, side), message in zip(names, messages, strict=True):
            found[name] = (side, message)

    # No public holiday that week in Germany or in any canton.
    monday = timezone.make_aware(datetime(2025, 3, 3, 10))  # noqa: DTZ001
    request = AppointmentRequest.objects.create(
        specialist=specialist,
        name="Maria Muster",
        email=PATIENT,
        message=REQUEST_MESSAGE,
        preferred_language="de",
        site_language=patient_language,
        consent_at=monday,
        created=monday,
        recipient=PRACTICE,
    )
    sent(
        lambda: delivery.deliver(request.pk),
        ("new request", PRACTICE_SIDE),
        ("confirmation", PATIENT_SIDE),
    )
    colleague = AffiliationFactory(
        specialist__honorific_prefix="", specialist__given_name="Luca"
    ).specialist
    colleague.family_name = "Bernasconi"
    together = [request, AppointmentRequest(pk=request.pk + 1, specialist=colleague)]
    sent(
        lambda: conversation.message(request, PATIENT_SIDE, "patient", together=together).send(),
        ("second opinion confirmation", PATIENT_SIDE),
    )
    sent(lambda: reminders.remind(now=monday + timedelta(days=2)), ("reminder", PRACTICE_SIDE))
    sent(lambda: reminders.remind(now=monday + timedelta(days=4)), ("escalation", PATIENT_SIDE))
    for side, kind in [
        (PRACTICE_SIDE, Answer.Kind.PROPOSAL),
        (PRACTICE_SIDE, Answer.Kind.QUESTION),
        (PRACTICE_SIDE, Answer.Kind.DECLINE),
        (PATIENT_SIDE, Answer.Kind.ACCEPT),
        (PATIENT_SIDE, Answer.Kind.REPLY),
    ]:
        answer = Answer.objects.create(request=request, side=side, kind=kind)
        told = PATIENT_SIDE if side == PRACTICE_SIDE else PRACTICE_SIDE
        sent(lambda pk=answer.pk: conversation.notify(pk), (f"answer: {kind}", told))
    for side in (PRACTICE_SIDE, PATIENT_SIDE):
        sent(lambda s=side: conversation.send_link(request, s), (f"new link: {side}", side))

    slot = free_slot(affiliation, timezone.now().replace(microsecond=0) + timedelta(days=2))
    booking = Booking.objects.create(
        slot=slot,
        clinic=clinic,
        specialist=specialist,
        start=slot.start,
        end=slot.end,
        address=str(affiliation.location),
        name="Maria Muster",
        email=PATIENT,
        phone="+41 22 000 00 00",
        reason="Follow-up",
        preferred_language="de",
        site_language=patient_language,
        consent_at=timezone.now(),
        hold_until=timezone.now() + timedelta(minutes=10),
        recipient=PRACTICE,
    )
    sent(lambda: bookings.deliver(booking.pk), ("booking held", PATIENT_SIDE))
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.BOOKED)
    sent(
        lambda: bookings.deliver(booking.pk),
        ("booking booked: practice", PRACTICE_SIDE),
        ("booking booked: patient", PATIENT_SIDE),
    )
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.CANCELLED)
    sent(lambda: bookings.deliver(booking.pk), ("booking cancelled", PRACTICE_SIDE))

    template = WeeklyTemplate.objects.create(affiliation=affiliation)
    sent(lambda: weekly_link.send(template), ("weekly times", PRACTICE_SIDE))

    changes = [
        RecipientChange.objects.create(
            clinic=clinic,
            purpose=purpose,
            email=f"{purpose}@example.org",
            state=RecipientChange.State.AWAITING_CONFIRMATION,
        )
        for purpose in RecipientChange.Purpose.values
    ]
    sent(
        lambda: recipients.send_confirmation(changes[0].pk),
        ("address for requests", PRACTICE_SIDE),
        ("address for requests: the old address", PRACTICE_SIDE),
    )
    sent(
        lambda: recipients.send_confirmation(changes[1].pk),
        ("address for requests from abroad", PRACTICE_SIDE),
    )
    assert sorted(found) == sorted(MAILS)
    return found


def words(message, affiliation) -> str:
    """The mail's subject and text without what reads the same in every language: links,
    addresses, digits, names and the site's name."""
    text = LINK.sub("", f"{message.subject}\n{message.body}")
    same = [
        str(affiliation.specialist),
        str(affiliation.clinic),
        str(affiliation.location),
        SITE_NAME,
        COLLEAGUE,
    ]
    for each in sorted(same, key=len, reverse=True):
        text = text.replace(each, "")
    text = re.sub(r"\S+@\S+", "", text)
    return re.sub(r"\d", "", text)


def sentences(text: str) -> set[str]:
    """The pieces of a text that have words: its lines, cut after each sentence."""
    pieces = re.split(r"\n|(?<=[.:!?])\s+(?=[A-Z])", text)
    return {piece.strip() for piece in pieces if re.search(r"[A-Za-z]{2}", piece)}


def paths(message) -> list[str]:
    return [urlsplit(found).path for found in LINK.findall(message.body)]


@pytest.mark.parametrize("language", ["fr", "it"])
def test_french_and_italian_mails_hold_no_english_sentence(language):
    english_practice = practice_in(None, setting="en")
    english = every_mail(english_practice, "en")
    AppointmentRequest.objects.all().delete()
    Booking.objects.all().delete()
    practice = practice_in(None, setting=language)
    translated = every_mail(practice, language)

    compared = links = 0
    for name, (_side, message) in translated.items():
        original = english[name][1]
        text = words(message, practice)
        assert message.subject != original.subject, name
        for sentence in sentences(words(original, english_practice)):
            assert sentence not in text, f"{name}: {sentence!r} is in English"
            compared += 1
        for path in paths(message):
            assert path.startswith(f"/{language}/"), f"{name}: {path}"
            links += 1
    assert compared > 100
    assert links == len(MAILS) - 1  # each has its link, but the notice to the old address


@pytest.mark.parametrize(
    ("canton", "setting", "language", "word"),
    [
        ("GE", "", "fr", "demande"),  # Geneva
        ("TI", "", "it", "richiesta"),  # Lugano
        ("ZH", "", "de", "Terminanfrage"),  # Zürich
        ("GE", "de", "de", "Terminanfrage"),  # a practice in Geneva that asked for German
        (None, "", "de", "Terminanfrage"),  # Erfurt
    ],
)
def test_every_mail_to_a_practice_is_in_its_language(canton, setting, language, word):
    """As the mails of a practice that chose the language, and patients' mails stay English."""
    practice = practice_in(canton, setting=setting)
    chosen = practice_in(None, setting=language)

    found = every_mail(practice, "en")
    reference = every_mail(chosen, "en")

    assert recipients.practice_language(practice.specialist) == language
    assert recipients.practice_language(practice.clinic) == language
    assert word.casefold() in found["new request"][1].subject.casefold()
    for name, (side, message) in found.items():
        prefix = f"/{language}/" if side == PRACTICE_SIDE else "/en/"
        assert all(path.startswith(prefix) for path in paths(message)), name
        if side == PRACTICE_SIDE:
            expected = reference[name][1]
            assert sentences(words(message, practice)) == sentences(words(expected, chosen)), name


def test_the_specialists_own_language_comes_before_the_clinics():
    practice = practice_in("GE", own_setting="it")

    assert recipients.practice_language(practice.specialist) == "it"
    assert recipients.practice_language(practice.clinic) == "fr"


@pytest.mark.parametrize(
    ("language", "word"), [("it", "richiesta"), ("fr", "demande"), ("de", "Terminanfrage")]
)
def test_a_patient_gets_the_mails_in_the_language_of_the_site_they_asked_on(
    client, django_capture_on_commit_callbacks, language, word
):
    practice = practice_in(None)  # in Germany: the practice's mails are German

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/{language}/specialists/{practice.specialist.slug}/request/", request_form_data()
        )

    assert response.status_code == 302
    request = AppointmentRequest.objects.get()
    assert request.site_language == language
    to_practice, to_patient = mail.outbox
    assert to_patient.to == [PATIENT]
    assert word.casefold() in to_patient.subject.casefold()
    assert paths(to_patient)[0].startswith(f"/{language}/requests/follow/")
    assert "Terminanfrage" in to_practice.subject
    assert paths(to_practice)[0].startswith("/de/requests/answer/")
    # Later mails too.
    mail.outbox.clear()
    conversation.send_link(request, PATIENT_SIDE)
    assert word.casefold() in mail.outbox[0].subject.casefold()
    assert paths(mail.outbox[0])[0].startswith(f"/{language}/requests/follow/")


def test_a_patient_who_books_on_the_italian_site_gets_italian_mails(
    client, django_capture_on_commit_callbacks
):
    practice = practice_in("GE")
    slot = free_slot(practice, timezone.now().replace(microsecond=0) + timedelta(days=1))
    data = {
        "name": "Maria Muster",
        "email": PATIENT,
        "phone": "+41 91 000 00 00",
        "reason": "Controllo",
        "preferred_language": "de",
        "consent": "on",
        "leave_empty": "",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/it/book/{slot.pk}/", data)

    assert response.status_code == 302
    (held,) = mail.outbox
    assert "prenotazione" in held.subject
    (link,) = paths(held)
    assert link.startswith("/it/bookings/confirm/")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link)
    to_practice, to_patient = mail.outbox
    assert "prenotazione" in to_patient.subject
    assert paths(to_patient)[0].startswith("/it/bookings/cancel/")
    assert "Réservation" in to_practice.subject  # Geneva: French
    assert paths(to_practice)[0].startswith("/fr/bookings/practice/")


def test_a_site_language_the_site_no_longer_has_mails_the_patient_in_english():
    practice = practice_in(None)
    request = AppointmentRequest.objects.create(
        specialist=practice.specialist,
        name="Maria Muster",
        email=PATIENT,
        message=REQUEST_MESSAGE,
        preferred_language="de",
        site_language="xx",
        consent_at=timezone.now(),
        recipient=PRACTICE,
    )

    conversation.send_link(request, PATIENT_SIDE)

    assert paths(mail.outbox[0])[0].startswith("/en/requests/follow/")
