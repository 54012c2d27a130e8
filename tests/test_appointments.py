"""Appointment requests: the form, the rules that protect it, the
emails after commit, the retry and purge commands, and the inbox in admin."""

import logging
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from appointments import delivery as appointments
from appointments.models import AppointmentRequest
from tests.factories import (
    REQUEST_MESSAGE,
    AffiliationFactory,
    ClinicFactory,
    SpecialistFactory,
    UserFactory,
    request_form_data,
    route_requests_to,
)

pytestmark = pytest.mark.django_db


def _request_received(specialist, days_ago: int = 0, **fields) -> AppointmentRequest:
    """A stored request, as if sent `days_ago` days ago."""
    return AppointmentRequest.objects.create(
        specialist=specialist,
        name="Maria Muster",
        email="maria@example.org",
        message=REQUEST_MESSAGE,
        preferred_language="de",
        site_language="en",
        consent_at=timezone.now(),
        created=timezone.now() - timedelta(days=days_ago),
        **fields,
    )


@pytest.fixture
def clerk():
    """Clara, staff given the permissions to see and handle requests (not an editor)."""
    user = UserFactory(username="clara", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_appointmentrequest", "change_appointmentrequest"]
        )
    )
    return user


@pytest.fixture
def specialist():
    """A specialist whose requests go to their clinic's confirmed address."""
    affiliation = AffiliationFactory(
        specialist__email="",
        location__clinic__email="info@klinikum.example",
        specialist__languages=["de"],
    )
    route_requests_to(affiliation.clinic, "info@klinikum.example")
    return affiliation.specialist


def url(specialist) -> str:
    return f"/en/specialists/{specialist.slug}/request/"


class FailingBackend:
    """An email backend whose server is down."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server unreachable")


# --- The form ------------------------------------------------------------------------------


def test_form_shows_fields_consent_with_retention_and_csrf(specialist, settings):
    settings.APPOINTMENT_RETENTION_DAYS = 90
    client = Client(enforce_csrf_checks=True)

    english = client.get(url(specialist))
    german = client.get(f"/de/specialists/{specialist.slug}/request/")

    assert english.status_code == 200
    for field in ("name", "email", "phone", "message", "preferred_language", "consent"):
        assert f'name="{field}"' in english.text
    assert "csrfmiddlewaretoken" in english.text
    assert "It is deleted after 90 days" in english.text
    assert "Sie wird nach 90 Tagen gelöscht" in german.text
    assert english["Cache-Control"].startswith("max-age=0")


def test_post_without_csrf_token_is_refused(specialist):
    client = Client(enforce_csrf_checks=True)

    response = client.post(url(specialist), request_form_data())

    assert response.status_code == 403
    assert not AppointmentRequest.objects.exists()


def test_a_request_is_saved_then_both_emails_go_after_commit(
    specialist, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(url(specialist), request_form_data())

    assert response.status_code == 302
    assert response["Location"].startswith(f"{url(specialist)}sent/?r=")
    assert len(callbacks) == 1
    request = AppointmentRequest.objects.get()
    thanks = client.get(response["Location"]).content.decode()
    assert f"Your request number is {request.pk}." in thanks
    assert (request.specialist, request.name, request.message) == (
        specialist,
        "Maria Muster",
        REQUEST_MESSAGE,
    )
    assert request.consent_at is not None
    assert request.site_language == "en"
    assert request.status == AppointmentRequest.Status.FORWARDED
    assert request.recipient == "info@klinikum.example"
    practice, patient = mail.outbox
    assert practice.to == ["info@klinikum.example"]
    # The practice reads the request behind its link: the email holds nothing of it.
    assert practice.reply_to == []
    for personal in (REQUEST_MESSAGE, "Maria", "maria@example.org", "1234567"):
        assert personal not in practice.body
    assert "/de/requests/answer/" in practice.body
    assert "Terminanfrage" in practice.subject  # practices get German
    assert patient.to == ["maria@example.org"]
    assert REQUEST_MESSAGE not in patient.body  # the confirmation repeats no health data
    assert "passed your appointment request on" in patient.body
    assert f"Your request number: {request.pk}" in patient.body
    assert "/en/requests/follow/" in patient.body
    assert str(request.pk) in practice.subject


def test_a_forged_request_number_shows_none(specialist, client):
    page = client.get(f"{url(specialist)}sent/", {"r": "12345"}).content.decode()
    assert "Your request number" not in page
    assert "Thank you" in page


def test_no_email_is_tried_before_the_request_is_committed(specialist, client):
    # Without running the on-commit callbacks, the request is stored and nothing is sent.
    client.post(url(specialist), request_form_data())

    assert AppointmentRequest.objects.count() == 1
    assert mail.outbox == []


def test_the_thank_you_page_shows_nothing_that_was_sent(specialist, client):
    response = client.post(url(specialist), request_form_data(), follow=True)

    assert response.status_code == 200
    assert "your request has been sent" in response.text
    assert "maria@example.org" not in response.text
    assert REQUEST_MESSAGE not in response.text


def test_the_confirmation_is_in_the_language_of_the_page(
    specialist, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/de/specialists/{specialist.slug}/request/", request_form_data())

    assert "Terminanfrage" in mail.outbox[1].subject


def test_without_an_address_on_the_listing_the_site_inbox_gets_it_and_it_stays_new(
    client, settings, django_capture_on_commit_callbacks
):
    settings.APPOINTMENT_INBOX_EMAIL = "inbox@atlas.example"
    specialist = AffiliationFactory(specialist__email="", location__clinic__email="").specialist

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(specialist), request_form_data())

    request = AppointmentRequest.objects.get()
    assert mail.outbox[0].to == ["inbox@atlas.example"]
    assert request.recipient == "inbox@atlas.example"
    assert request.status == AppointmentRequest.Status.NEW  # staff still have to forward it


def test_the_specialists_own_address_comes_first(client, django_capture_on_commit_callbacks):
    affiliation = AffiliationFactory(
        specialist__email="aurich@praxis.example", location__clinic__email="info@klinikum.example"
    )
    specialist = affiliation.specialist
    route_requests_to(specialist, "aurich@praxis.example")
    route_requests_to(affiliation.clinic, "info@klinikum.example")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(specialist), request_form_data(preferred_language="en"))

    assert mail.outbox[0].to == ["aurich@praxis.example"]


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"consent": None}, "consent", "Please agree, so that we may pass on your request."),
        ({"name": ""}, "name", "Please enter your name."),
        ({"email": "maria"}, "email", "Please enter an email address like name@example.org."),
        ({"message": ""}, "message", "Please tell the practice what the appointment is for."),
        ({"message": "x" * 2001}, "message", "at most 2000 characters"),
        ({"preferred_language": "xx"}, "preferred_language", "Select a valid choice"),
    ],
)
def test_invalid_input_is_refused_with_the_error_beside_the_field(
    specialist, client, changes, field, error
):
    response = client.post(url(specialist), request_form_data(**changes))

    assert response.status_code == 400
    assert not AppointmentRequest.objects.exists()
    assert error in response.text
    assert f'id="{field}-error"' in response.text
    assert 'class="error-summary"' in response.text
    # What the patient typed is kept, so nothing has to be written twice.
    if field != "name":
        assert 'value="Maria Muster"' in response.text


def test_preferred_language_offers_the_languages_the_specialist_speaks(client):
    specialist = AffiliationFactory(specialist__languages=["tr", "de"]).specialist

    response = client.get(url(specialist))
    choices = re.search(r'<select name="preferred_language".*?</select>', response.text, re.S)

    assert '<option value="tr">Turkish</option>' in choices.group()
    assert '<option value="de" selected>German</option>' in choices.group()  # no English there
    assert '<option value="en"' not in choices.group()
    assert (
        client.post(url(specialist), request_form_data(preferred_language="en")).status_code == 400
    )


def test_a_filled_honeypot_stores_nothing_but_looks_like_success(specialist, client):
    response = client.post(url(specialist), request_form_data(leave_empty="http://spam.example"))

    assert response.status_code == 302
    assert response["Location"].endswith("/request/sent/")
    assert not AppointmentRequest.objects.exists()
    assert mail.outbox == []


def test_too_many_submissions_from_one_client_get_429(specialist, settings):
    settings.APPOINTMENT_REQUESTS_PER_HOUR = 2
    one = Client(REMOTE_ADDR="203.0.113.7")
    other = Client(REMOTE_ADDR="198.51.100.1")

    statuses = [one.post(url(specialist), request_form_data()).status_code for _ in range(3)]
    limited = one.post(url(specialist), request_form_data())

    assert statuses == [302, 302, 429]
    assert limited.status_code == 429
    assert "Too many requests" in limited.text
    assert 0 < int(limited["Retry-After"]) <= 3600  # until the hour's window ends
    assert AppointmentRequest.objects.count() == 2
    assert other.post(url(specialist), request_form_data()).status_code == 302
    assert one.get(url(specialist)).status_code == 200  # reading the form is not limited


def test_ipv6_clients_are_limited_by_their_network(specialist, settings):
    settings.APPOINTMENT_REQUESTS_PER_HOUR = 1
    first = Client(REMOTE_ADDR="2001:db8:1:2::1")
    same_network = Client(REMOTE_ADDR="2001:db8:1:2::ffff")

    assert first.post(url(specialist), request_form_data()).status_code == 302
    assert same_network.post(url(specialist), request_form_data()).status_code == 429


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_no_form_for_drafts_and_archived_listings(client, editor, status):
    specialist = SpecialistFactory(status=status)
    clinic = ClinicFactory(status=status)

    assert client.get(url(specialist)).status_code == 404
    assert client.post(url(specialist), request_form_data()).status_code == 404
    assert client.get(f"/en/clinics/{clinic.slug}/request/").status_code == 404
    client.force_login(editor)  # not even staff: a draft takes no requests
    assert client.get(url(specialist)).status_code == 404
    assert not AppointmentRequest.objects.exists()


def test_clinics_take_requests_too(client, django_capture_on_commit_callbacks):
    clinic = ClinicFactory(email="kontakt@zentrum.example")
    route_requests_to(clinic, "kontakt@zentrum.example")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/en/clinics/{clinic.slug}/request/", request_form_data(preferred_language="de")
        )

    assert response.status_code == 302
    request = AppointmentRequest.objects.get()
    assert (request.clinic, request.specialist) == (clinic, None)
    assert mail.outbox[0].to == ["kontakt@zentrum.example"]
    assert client.get(response["Location"]).status_code == 200


def test_other_methods_are_refused(specialist, client):
    assert client.put(url(specialist)).status_code == 405


# --- Failed sending, retries --------------------------------------------------------------


def test_a_request_survives_an_email_backend_that_raises(
    specialist, client, settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = "tests.test_appointments.FailingBackend"

    with (
        caplog.at_level(logging.DEBUG),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(url(specialist), request_form_data())

    assert response.status_code == 302
    request = AppointmentRequest.objects.get()
    assert request.status == AppointmentRequest.Status.NEW
    assert request.practice_notified_at is None
    assert request.failed_attempts == 1
    assert list(AppointmentRequest.objects.pending()) == [request]
    # Nothing the patient wrote reaches the logs.
    assert "ConnectionRefusedError" in caplog.text
    for secret in (REQUEST_MESSAGE, "Maria Muster", "maria@example.org", "1234567"):
        assert secret not in caplog.text


def test_send_pending_requests_retries_until_sent(
    specialist, client, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.test_appointments.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(specialist), request_form_data())

    with pytest.raises(CommandError, match="1 email of an appointment request"):
        call_command("send_pending_requests")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("send_pending_requests")

    request = AppointmentRequest.objects.get()
    assert request.failed_attempts == 2
    assert request.status == AppointmentRequest.Status.FORWARDED
    assert request.practice_notified_at
    assert request.patient_notified_at
    assert len(mail.outbox) == 2
    call_command("send_pending_requests")  # nothing left: nothing sent twice
    assert len(mail.outbox) == 2


def test_a_failed_confirmation_is_retried_without_notifying_the_practice_twice(specialist):
    request = _request_received(
        specialist,
        practice_notified_at=timezone.now(),
        recipient="info@klinikum.example",
        status=AppointmentRequest.Status.FORWARDED,
    )

    assert appointments.deliver(request.pk) == appointments.Delivery.SENT

    assert [message.to for message in mail.outbox] == [["maria@example.org"]]


def test_closed_requests_are_not_retried(specialist):
    _request_received(specialist, status=AppointmentRequest.Status.CLOSED)

    call_command("send_pending_requests")

    assert mail.outbox == []


def test_nothing_the_patient_wrote_reaches_an_error_report(specialist, monkeypatch, caplog):
    """If storing fails unexpectedly, an error report built from the request (as Django's
    ExceptionReporter builds one for any error reporting service) shows the form's fields
    cleansed, and the log record carries no request at all."""
    import sys

    from django.core.signals import got_request_exception
    from django.views.debug import ExceptionReporter

    def broken(form):
        raise RuntimeError("storage failed")

    failed = []

    def remember(sender, request, **kwargs):
        failed.append((request, sys.exc_info()))

    monkeypatch.setattr(appointments, "submit", broken)
    got_request_exception.connect(remember)
    client = Client(raise_request_exception=False)
    try:
        with caplog.at_level(logging.ERROR, logger="django.request"):
            response = client.post(url(specialist), request_form_data())
    finally:
        got_request_exception.disconnect(remember)

    assert response.status_code == 500
    record = next(r for r in caplog.records if r.name == "django.request" and r.exc_info)
    assert isinstance(record.request, str)  # the handlers' filter took the request away
    request, exc_info = failed[0]
    report = ExceptionReporter(request, *exc_info).get_traceback_text()
    assert "storage failed" in report
    for secret in (REQUEST_MESSAGE, "Maria Muster", "maria@example.org", "1234567"):
        assert secret not in report


# --- Purge ---------------------------------------------------------------------------------


def test_purge_deletes_only_requests_older_than_the_retention_period(specialist, settings):
    settings.APPOINTMENT_RETENTION_DAYS = 30
    old = _request_received(specialist, 31)
    kept = [_request_received(specialist, 29), _request_received(specialist, 0)]

    call_command("purge_requests")

    assert not AppointmentRequest.objects.filter(pk=old.pk).exists()
    assert set(AppointmentRequest.objects.all()) == set(kept)


# --- The inbox -----------------------------------------------------------------------------


def test_editors_do_not_see_the_inbox_by_default(specialist, client, editor):
    request = _request_received(specialist, 0)
    client.force_login(editor)

    assert client.get("/admin/appointments/appointmentrequest/").status_code == 403
    change = f"/admin/appointments/appointmentrequest/{request.pk}/change/"
    assert client.get(change).status_code == 403
    assert "appointmentrequest" not in client.get("/admin/").text


def test_staff_with_the_permission_list_filter_and_close_requests(specialist, client, clerk):
    request = _request_received(specialist, 0)
    client.force_login(clerk)

    listing = client.get("/admin/appointments/appointmentrequest/?status__exact=new")
    assert listing.status_code == 200
    assert "Maria Muster" in listing.text
    response = client.post(
        "/admin/appointments/appointmentrequest/",
        {"action": "mark_closed", "_selected_action": [request.pk]},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == AppointmentRequest.Status.CLOSED
    closed = client.get("/admin/appointments/appointmentrequest/?status__exact=new")
    assert "Maria Muster" not in closed.text
    assert client.get("/admin/appointments/appointmentrequest/add/").status_code == 403


def test_the_admin_history_names_no_personal_data(specialist):
    request = _request_received(specialist, 0)

    assert str(request) == f"Request no. {request.pk}"


def test_request_pages_query_counts_are_pinned(specialist, client, django_assert_max_num_queries):
    # The listing and the conditions it treats (the form's choice).
    with django_assert_max_num_queries(2):
        assert client.get(url(specialist)).status_code == 200
    with django_assert_max_num_queries(1):
        assert client.get(f"{url(specialist)}sent/").status_code == 200
    # Look-up, the rate limit's count, the conditions to choose from, the recipient, then the
    # insert inside its transaction (a savepoint within the test's own).
    with django_assert_max_num_queries(7):
        assert client.post(url(specialist), request_form_data()).status_code == 302


def test_ipv4_clients_on_a_dual_stack_socket_are_limited_by_their_own_address(specialist, settings):
    settings.APPOINTMENT_REQUESTS_PER_HOUR = 1
    mapped = Client(REMOTE_ADDR="::ffff:203.0.113.7")
    same = Client(REMOTE_ADDR="203.0.113.7")
    neighbour = Client(REMOTE_ADDR="::ffff:203.0.113.8")

    assert mapped.post(url(specialist), request_form_data()).status_code == 302
    assert same.post(url(specialist), request_form_data()).status_code == 429
    assert neighbour.post(url(specialist), request_form_data()).status_code == 302


def test_draft_and_archived_clinics_never_receive_requests(
    client, settings, django_capture_on_commit_callbacks
):
    settings.APPOINTMENT_INBOX_EMAIL = "inbox@atlas.example"
    affiliation = AffiliationFactory(
        specialist__email="", location__clinic__email="old@closed.example"
    )
    route_requests_to(affiliation.clinic, "old@closed.example")
    specialist = affiliation.specialist
    affiliation.clinic.__class__.objects.update(status="archived")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(specialist), request_form_data())

    assert mail.outbox[0].to == ["inbox@atlas.example"]


def test_the_confirmation_cannot_carry_a_message_of_a_strangers_choosing(
    specialist, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(specialist), request_form_data(name="Buy cheap pills at spam.example"))

    confirmation = mail.outbox[1]
    assert "spam.example" not in confirmation.body
    assert "spam.example" not in confirmation.subject


def test_saving_a_request_in_admin_changes_only_its_status(specialist, client, clerk):
    request = _request_received(specialist, 0)
    client.force_login(clerk)
    change_url = f"/admin/appointments/appointmentrequest/{request.pk}/change/"
    assert client.get(change_url).status_code == 200
    # Meanwhile the emails went out.
    sent_at = timezone.now()
    AppointmentRequest.objects.filter(pk=request.pk).update(
        practice_notified_at=sent_at, patient_notified_at=sent_at, recipient="a@b.example"
    )

    # The form as the page sends it, with the (read-only) answers' management form.
    response = client.post(
        change_url,
        {"status": "closed", "answers-TOTAL_FORMS": "0", "answers-INITIAL_FORMS": "0"},
    )

    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "closed"
    assert (request.practice_notified_at, request.recipient) == (sent_at, "a@b.example")


def test_a_listing_with_requests_cannot_be_deleted_by_accident(specialist):
    from django.db.models import ProtectedError

    _request_received(specialist, 0)

    with pytest.raises(ProtectedError):
        specialist.delete()


def test_one_failing_request_does_not_stop_the_retries_of_the_others(specialist, monkeypatch):
    from django.db import DatabaseError

    first, second = _request_received(specialist, 2), _request_received(specialist, 1)
    real = appointments.deliver

    def flaky(pk):
        if pk == first.pk:
            raise DatabaseError("row is broken")
        return real(pk)

    monkeypatch.setattr(appointments, "deliver", flaky)

    assert appointments.send_pending() == (1, 1)
    second.refresh_from_db()
    assert second.patient_notified_at is not None


def test_a_failed_csrf_check_gets_a_friendly_page(specialist):
    client = Client(enforce_csrf_checks=True)

    response = client.post(url(specialist), request_form_data())

    assert response.status_code == 403
    assert "Please send the form again" in response.content.decode()
