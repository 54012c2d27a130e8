"""The conversation after a request: the practice reads and answers it through its link, the
patient follows it through theirs. Links act once, expire, can be revoked; emails carry links
only; nothing written is logged; answers go with their request when it is purged."""

import logging
import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.core import mail, signing
from django.core.management import call_command
from django.utils import timezone

from appointments import conversation
from appointments import delivery as appointments
from appointments.models import Answer, AppointmentRequest
from tests.factories import (
    REQUEST_MESSAGE,
    AffiliationFactory,
    UserFactory,
    request_form_data,
    route_requests_to,
)

pytestmark = pytest.mark.django_db

Status = AppointmentRequest.Status
LINK = re.compile(r"https?://\S+/requests/(?:answer|follow)/\S+/")
QUESTION = "Do you have a recent CT scan of the liver?"
REPLY = "Yes, from last month; I will bring it."
REASON = "Our next free dates are in four months."
# What a browser sends when a person opens a link.
OPENED_BY_A_PERSON = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-User": "?1"}


def link_in(message) -> str:
    """The path of the one link in an email."""
    (found,) = LINK.findall(message.body)
    return urlsplit(found).path


@pytest.fixture
def affiliation():
    affiliation = AffiliationFactory(
        specialist__email="",
        specialist__languages=["de", "en"],
        location__clinic__email="info@klinikum.example",
    )
    route_requests_to(affiliation.clinic, "info@klinikum.example")
    return affiliation


@pytest.fixture
def sent(affiliation, client, django_capture_on_commit_callbacks):
    """A request sent through the form; returns (request, practice's link, patient's link)."""
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/en/specialists/{affiliation.specialist.slug}/request/", request_form_data())
    practice, patient = mail.outbox
    mail.outbox.clear()
    return AppointmentRequest.objects.get(), link_in(practice), link_in(patient)


def english(path: str) -> str:
    """A link's page in English (the practice's links come in German)."""
    return path.replace("/de/", "/en/", 1)


def later(days: int = 3, hour: int = 9) -> str:
    when = timezone.localtime() + timedelta(days=days)
    return when.replace(hour=hour, minute=40).strftime("%Y-%m-%dT%H:%M")


def post(client, captured, path: str, **data):
    with captured(execute=True):
        return client.post(path, data)


def test_the_practice_reads_the_request_behind_its_link_and_the_patient_sees_it_read(sent, client):
    request, practice, patient = sent
    assert practice.startswith("/de/requests/answer/")  # in the practice's language
    assert patient.startswith("/en/requests/follow/")  # in the language the patient used

    before = client.get(patient)
    assert before.status_code == 200
    assert "Not read by the practice yet" in before.text
    assert client.get(practice).status_code == 200  # a mail scanner's fetch
    request.refresh_from_db()
    assert request.read_at is None
    page = client.get(practice, headers=OPENED_BY_A_PERSON)

    assert page.status_code == 200
    for shown in ("Maria Muster", "maria@example.org", "+49 30 1234567", REQUEST_MESSAGE):
        assert shown in page.text
    assert page["Cache-Control"].startswith("max-age=0")
    assert '<meta name="robots" content="noindex">' in page.text
    request.refresh_from_db()
    assert request.status == Status.READ
    assert request.read_at is not None
    assert "Read by the practice" in client.get(patient).text


def test_proposals_then_the_patient_accepts_one_and_each_side_is_told(
    sent, client, django_capture_on_commit_callbacks
):
    request, practice, _patient = sent
    first, second = later(3), later(4, 14)

    response = post(
        client,
        django_capture_on_commit_callbacks,
        practice,
        action="proposal",
        first=first,
        second=second,
        note="Please bring your findings.",
    )

    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == Status.ANSWERED
    assert request.step == 1
    (to_patient,) = mail.outbox
    assert to_patient.to == ["maria@example.org"]
    assert "proposed dates" in to_patient.body
    assert "Please bring" not in to_patient.body  # the email links, it does not tell
    patient = link_in(to_patient)
    page = client.get(patient)
    assert "Please bring your findings." in page.text
    assert 'type="radio"' in page.text

    mail.outbox.clear()
    accepted = post(
        client, django_capture_on_commit_callbacks, patient, action="accept", choice="1"
    )

    assert accepted.status_code == 302
    request.refresh_from_db()
    assert request.status == Status.AGREED
    (to_practice,) = mail.outbox
    assert to_practice.to == ["info@klinikum.example"]
    assert "Antwort der Patientin" in to_practice.subject  # practices get German
    agreed = conversation.agreed_time(request)
    assert timezone.localtime(agreed).strftime("%Y-%m-%dT%H:%M") == second
    shown = client.get(link_in(to_practice))
    assert "Vereinbarter Termin:" in shown.text


def test_a_link_acts_once(sent, client, django_capture_on_commit_callbacks):
    request, practice, _patient = sent
    post(client, django_capture_on_commit_callbacks, practice, action="question", question=QUESTION)

    again = post(
        client, django_capture_on_commit_callbacks, practice, action="decline", reason=REASON
    )

    assert again.status_code == 409
    assert "bereits verwendet" in again.text
    request.refresh_from_db()
    assert request.status == Status.ANSWERED
    assert list(request.answers.values_list("kind", flat=True)) == ["question"]
    assert len(mail.outbox) == 1


def test_the_patient_replies_to_a_question_and_the_practice_answers_again(
    sent, client, django_capture_on_commit_callbacks
):
    request, practice, _patient = sent
    post(client, django_capture_on_commit_callbacks, practice, action="question", question=QUESTION)
    patient = link_in(mail.outbox.pop())
    assert QUESTION in client.get(patient).text

    post(client, django_capture_on_commit_callbacks, patient, action="reply", reply=REPLY)

    request.refresh_from_db()
    assert request.status == Status.REPLIED
    next_link = link_in(mail.outbox.pop())
    assert next_link != practice
    page = client.get(next_link)
    assert REPLY in page.text
    assert QUESTION in page.text
    assert 'value="proposal"' in page.text  # the new link may answer


def test_a_decline_names_a_colleague_the_patient_can_open(
    sent, affiliation, client, django_capture_on_commit_callbacks
):
    colleague = AffiliationFactory(clinic=affiliation.clinic, location=affiliation.location)
    request, practice, _patient = sent
    outsider = AffiliationFactory().specialist  # not of the clinic: not offered
    page = client.get(practice)
    assert str(colleague.specialist) in page.text
    assert str(outsider) not in page.text

    post(
        client,
        django_capture_on_commit_callbacks,
        practice,
        action="decline",
        reason=REASON,
        colleague=str(colleague.specialist.pk),
    )

    request.refresh_from_db()
    assert request.status == Status.DECLINED
    patient_page = client.get(link_in(mail.outbox.pop()))
    assert REASON in patient_page.text
    assert colleague.specialist.get_absolute_url() in patient_page.text
    assert 'name="action"' not in patient_page.text  # a declined request takes no answers


def test_a_proposal_needs_a_future_date_and_keeps_what_was_typed(sent, client):
    request, practice, _patient = sent

    response = client.post(
        english(practice), {"action": "proposal", "first": "2001-01-01T09:00", "note": "Room 4"}
    )

    assert response.status_code == 400
    assert "Please propose a date and time in the future." in response.text
    assert "Room 4" in response.text
    assert request.answers.count() == 0
    assert client.post(practice, {"action": "proposal", "first": "soon"}).status_code == 400
    assert client.post(practice, {"action": "nonsense"}).status_code == 400
    assert client.post(practice, {"action": "accept", "choice": "0"}).status_code == 400
    # A moment with an offset, or too far ahead, is not a date a practice proposes.
    for odd in ("9999-12-31T23:59-14:00", "2027-01-01T09:00+01:00", "9999-12-31T23:59"):
        refused = client.post(english(practice), {"action": "proposal", "first": odd})
        assert refused.status_code == 400, odd
    assert request.answers.count() == 0


def test_the_patient_answers_only_once_the_practice_has_written(
    sent, client, django_capture_on_commit_callbacks
):
    request, _practice, patient = sent
    page = client.get(patient)
    assert 'name="action"' not in page.text
    assert "as soon as the practice answers" in page.text

    response = post(
        client, django_capture_on_commit_callbacks, patient, action="reply", reply=REPLY
    )

    assert response.status_code == 409
    request.refresh_from_db()
    assert (request.step, request.answers.count()) == (0, 0)
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("token", "status", "text"),
    [
        ("not-a-token", 400, "not valid"),
        (signing.dumps({"r": 1, "v": 0, "s": 0}, salt="other"), 400, "not valid"),
        (signing.dumps([1, 0, 0], salt=conversation.SALTS["practice"]), 400, "not valid"),
        (
            signing.dumps({"r": 999999, "v": 0, "s": 0}, salt=conversation.SALTS["practice"]),
            410,
            "no longer exists",
        ),
    ],
)
def test_a_broken_link_gets_a_clear_page(client, token, status, text):
    response = client.get(f"/en/requests/answer/{token}/")
    assert response.status_code == status
    assert text in response.text


def test_a_patients_link_does_not_open_the_practices_page(sent, client):
    _request, _practice, patient = sent
    token = patient.rstrip("/").rsplit("/", 1)[1]
    assert client.get(f"/en/requests/answer/{token}/").status_code == 400


def test_an_expired_link_gets_a_clear_page(sent, client, settings, monkeypatch):
    _request, practice, _patient = sent
    settings.APPOINTMENT_LINK_DAYS = 14
    later_on = time.time() + 15 * 86400
    monkeypatch.setattr(signing.time, "time", lambda: later_on)

    response = client.get(english(practice))

    assert response.status_code == 410
    assert "expired" in response.text


def test_a_revoked_link_stops_working_and_a_new_one_can_be_sent(sent, client):
    request, practice, patient = sent
    clerk = UserFactory(username="clara", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_appointmentrequest", "change_appointmentrequest"]
        )
    )
    client.force_login(clerk)
    changes = "/admin/appointments/appointmentrequest/"

    client.post(changes, {"action": "revoke_practice_links", "_selected_action": [request.pk]})

    revoked = client.get(english(practice))
    assert revoked.status_code == 410
    assert "withdrawn" in revoked.text
    assert client.get(patient).status_code == 200  # the patient's links still work
    client.post(changes, {"action": "send_practice_link", "_selected_action": [request.pk]})
    (fresh,) = mail.outbox
    assert fresh.to == ["info@klinikum.example"]
    assert client.get(link_in(fresh)).status_code == 200
    history = client.get(f"{changes}{request.pk}/history/").text
    assert "Practice&#x27;s links revoked." in history


def test_an_answer_whose_email_fails_is_sent_by_the_retry_command(
    sent, client, settings, django_capture_on_commit_callbacks
):
    _request, practice, _patient = sent
    settings.EMAIL_BACKEND = "tests.test_appointments.FailingBackend"
    post(client, django_capture_on_commit_callbacks, practice, action="question", question=QUESTION)
    entry = Answer.objects.get()
    assert entry.notified_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("send_pending_requests")

    entry.refresh_from_db()
    assert entry.notified_at is not None
    assert mail.outbox[-1].to == ["maria@example.org"]
    call_command("send_pending_requests")
    assert len(mail.outbox) == 1  # sent once


def test_nothing_anyone_writes_reaches_a_log(
    sent, client, settings, caplog, django_capture_on_commit_callbacks
):
    request, practice, _patient = sent
    settings.EMAIL_BACKEND = "tests.test_appointments.FailingBackend"
    with caplog.at_level(logging.DEBUG):
        post(
            client,
            django_capture_on_commit_callbacks,
            practice,
            action="question",
            question=QUESTION,
        )
        appointments.send_pending()

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"to request {request.pk}" in logged  # the failure is logged, by number
    for secret in (QUESTION, "Maria", "maria@example.org", practice.split("/")[-2]):
        assert secret not in logged


def test_answers_are_purged_with_their_request(
    sent, client, settings, django_capture_on_commit_callbacks
):
    request, practice, _patient = sent
    post(client, django_capture_on_commit_callbacks, practice, action="question", question=QUESTION)
    settings.APPOINTMENT_RETENTION_DAYS = 30
    AppointmentRequest.objects.filter(pk=request.pk).update(
        created=timezone.now() - timedelta(days=31)
    )

    call_command("purge_requests")

    assert not Answer.objects.exists()
    gone = client.get(english(practice))
    assert gone.status_code == 410
    assert "no longer exists" in gone.text


def test_the_inbox_shows_the_conversation_only_with_the_permission(
    sent, client, editor, django_capture_on_commit_callbacks
):
    request, practice, _patient = sent
    post(client, django_capture_on_commit_callbacks, practice, action="question", question=QUESTION)
    change = f"/admin/appointments/appointmentrequest/{request.pk}/change/"
    client.force_login(editor)
    assert client.get(change).status_code == 403

    clerk = UserFactory(username="clara", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_appointmentrequest", "change_appointmentrequest"]
        )
    )
    client.force_login(clerk)
    page = client.get(change)
    assert page.status_code == 200
    assert QUESTION in page.text


def test_both_pages_speak_german(sent, client):
    _request, practice, patient = sent
    german_patient = client.get(patient.replace("/en/", "/de/", 1))

    assert german_patient.status_code == 200
    assert "Ihre Terminanfrage" in german_patient.text
    assert "Terminanfrage Nr." in client.get(practice).text
