"""Health data goes only where it should: a listing's appointment requests go to an address
only after staff with the permission approved it and its owner confirmed it; a stored request
is never rerouted; everything is in the listing's history (appointments/recipients.py)."""

import csv
import io
import re
import time

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core import mail, signing
from django.core.management import call_command
from django.test import Client

from appointments import delivery, recipients
from appointments.models import AppointmentRequest, RecipientChange
from directory.csv_format import export_specialists, import_specialists
from directory.models import Specialist
from tests.admin_forms import change_form_data
from tests.factories import (
    AffiliationFactory,
    ClinicFactory,
    UserFactory,
    request_form_data,
    route_requests_to,
)

pytestmark = pytest.mark.django_db

State = RecipientChange.State


@pytest.fixture
def clerk():
    """Clara, staff with the appointment-request permissions (the patient service)."""
    user = UserFactory(username="clara", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "view_appointmentrequest",
                "change_appointmentrequest",
                "view_clinic",
                "change_clinic",
                "view_specialist",
                "change_specialist",
            ]
        )
    )
    return user


@pytest.fixture
def clinic():
    clinic = ClinicFactory(name="Klinikum Nord", email="info@nord.example")
    route_requests_to(clinic, "info@nord.example")
    return clinic


def send_request(clinic, django_capture_on_commit_callbacks) -> AppointmentRequest:
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(f"/en/clinics/{clinic.slug}/request/", request_form_data())
    assert response.status_code == 302
    return AppointmentRequest.objects.latest("id")


def edit_address(client, clinic, email: str):
    url = f"/admin/directory/clinic/{clinic.pk}/change/"
    response = client.post(url, change_form_data(client, url, email=email))
    errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    assert response.status_code == 302, errors


def confirmation_link(message) -> str:
    return re.search(r"https?://\S+/requests/address/\S+/", message.body).group(0)


def test_an_editors_new_address_receives_nothing_until_approved_and_confirmed(
    client, editor, clinic, django_capture_on_commit_callbacks
):
    client.force_login(editor)
    with django_capture_on_commit_callbacks(execute=True):
        edit_address(client, clinic, "editor@mine.example")

    change = RecipientChange.objects.of(clinic).get(email="editor@mine.example")
    assert change.state == State.AWAITING_APPROVAL
    assert change.requested_by == editor
    assert mail.outbox == []  # nothing goes to the new address yet
    request = send_request(clinic, django_capture_on_commit_callbacks)
    assert request.recipient == "info@nord.example"
    assert mail.outbox[0].to == ["info@nord.example"]
    history = LogEntry.objects.filter(object_id=str(clinic.pk)).values_list(
        "change_message", flat=True
    )
    assert any("editor@mine.example proposed" in line for line in history)


def test_an_editor_cannot_approve_or_see_the_changes(client, editor, clinic):
    edit = RecipientChange.objects.create(
        clinic=clinic, email="x@y.example", state=State.AWAITING_APPROVAL
    )
    client.force_login(editor)
    assert client.get("/admin/appointments/recipientchange/").status_code == 403
    client.post(
        "/admin/appointments/recipientchange/",
        {"action": "approve", "_selected_action": [edit.pk]},
    )
    edit.refresh_from_db()
    assert edit.state == State.AWAITING_APPROVAL
    with pytest.raises(PermissionError):
        recipients.approve(edit, by=editor)


def test_approval_sends_the_link_and_tells_the_old_address_then_the_owner_confirms(
    client, editor, clerk, clinic, django_capture_on_commit_callbacks
):
    recipients.propose(clinic, "neu@nord.example", by=editor)
    change = RecipientChange.objects.of(clinic).get(email="neu@nord.example")
    client.force_login(clerk)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/appointments/recipientchange/",
            {"action": "approve", "_selected_action": [change.pk]},
        )

    change.refresh_from_db()
    assert change.state == State.AWAITING_CONFIRMATION
    assert change.approved_by == clerk
    link_mail, notice = mail.outbox
    assert link_mail.to == ["neu@nord.example"]
    assert notice.to == ["info@nord.example"]
    assert "Klinikum Nord" in notice.body
    # Until the owner confirms, requests still go to the old address.
    mail.outbox.clear()
    assert send_request(clinic, django_capture_on_commit_callbacks).recipient == "info@nord.example"

    owner = Client(enforce_csrf_checks=False)
    link = confirmation_link(link_mail)
    shown = owner.get(link)
    assert shown.status_code == 200
    assert "neu@nord.example" in shown.content.decode()
    assert (
        RecipientChange.objects.get(pk=change.pk).state == State.AWAITING_CONFIRMATION
    )  # GET alone
    confirmed = owner.post(link)

    assert confirmed.status_code == 200
    assert recipients.address_in_force(clinic) == "neu@nord.example"
    assert send_request(clinic, django_capture_on_commit_callbacks).recipient == "neu@nord.example"
    assert (
        RecipientChange.objects.of(clinic)
        .filter(email="info@nord.example")
        .latest("requested_at")
        .state
        == State.SUPERSEDED
    )
    assert owner.post(link).status_code == 409  # used: a page that says so
    history = " ".join(
        LogEntry.objects.filter(object_id=str(clinic.pk)).values_list("change_message", flat=True)
    )
    assert "approved" in history
    assert "confirmed by its owner" in history


def test_staff_with_the_permission_need_no_second_approval(
    client, clerk, clinic, django_capture_on_commit_callbacks
):
    client.force_login(clerk)
    with django_capture_on_commit_callbacks(execute=True):
        edit_address(client, clinic, "praxis@nord.example")

    change = RecipientChange.objects.of(clinic).get(email="praxis@nord.example")
    assert change.state == State.AWAITING_CONFIRMATION
    assert mail.outbox[0].to == ["praxis@nord.example"]
    assert recipients.address_in_force(clinic) == "info@nord.example"  # until confirmed


def test_a_stored_request_is_never_rerouted(clinic, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.test_appointments.FailingBackend"
    request = send_request(clinic, django_capture_on_commit_callbacks)
    assert request.practice_notified_at is None  # pending, to be retried
    route_requests_to(clinic, "somebody-else@elsewhere.example")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    assert delivery.send_pending() == (1, 0)

    assert mail.outbox[0].to == ["info@nord.example"]


@pytest.mark.parametrize("by_command", [True, False], ids=["command", "admin"])
def test_an_import_that_changes_an_address_waits_for_approval(editor, by_command, tmp_path):
    specialist = AffiliationFactory(specialist__slug="lena-aurich", specialist__email="").specialist
    route_requests_to(specialist, "lena@praxis.example")
    exported = io.StringIO()
    export_specialists(exported, Specialist.objects.filter(pk=specialist.pk))
    rows = list(csv.DictReader(io.StringIO(exported.getvalue())))
    rows[0]["email"] = "thief@elsewhere.example"
    edited = io.StringIO()
    writer = csv.DictWriter(edited, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)

    if by_command:
        path = tmp_path / "listings.csv"
        path.write_text(edited.getvalue(), encoding="utf-8")
        call_command("import_directory", str(path), stdout=io.StringIO())
    else:
        import_specialists(edited.getvalue(), user=editor)

    change = RecipientChange.objects.of(specialist).get(email="thief@elsewhere.example")
    assert change.state == State.AWAITING_APPROVAL
    assert change.requested_by == (None if by_command else editor)
    assert recipients.address_in_force(specialist) == "lena@praxis.example"


@pytest.mark.parametrize(
    ("token", "status", "text"),
    [
        ("not-a-token", 400, "not valid"),
        (signing.dumps({"change": 999999, "email": "x@y.example"}, salt="other"), 400, "not valid"),
    ],
)
def test_a_broken_link_gets_a_clear_page(client, token, status, text):
    response = client.get(f"/en/requests/address/{token}/")
    assert response.status_code == status
    assert text in response.content.decode()


def test_an_expired_link_gets_a_clear_page(client, clerk, clinic, settings, monkeypatch):
    recipients.propose(clinic, "neu@nord.example", by=clerk)
    change = RecipientChange.objects.of(clinic).get(email="neu@nord.example")
    token = recipients.confirmation_token(change)
    settings.RECIPIENT_CONFIRMATION_DAYS = 1
    later = time.time() + 2 * 86400
    monkeypatch.setattr(signing.time, "time", lambda: later)

    response = client.post(f"/en/requests/address/{token}/")

    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert recipients.address_in_force(clinic) == "info@nord.example"


def test_a_link_for_a_withdrawn_address_does_not_confirm_it(client, clerk, clinic):
    recipients.propose(clinic, "first@nord.example", by=clerk)
    first = RecipientChange.objects.of(clinic).get(email="first@nord.example")
    token = recipients.confirmation_token(first)
    recipients.propose(clinic, "second@nord.example", by=clerk)  # the first is withdrawn

    assert client.post(f"/en/requests/address/{token}/").status_code == 409
    assert recipients.address_in_force(clinic) == "info@nord.example"


def test_clearing_the_address_sends_requests_to_the_site_inbox_at_once(
    clinic, editor, settings, django_capture_on_commit_callbacks
):
    settings.APPOINTMENT_INBOX_EMAIL = "inbox@atlas.example"
    clinic.email = ""
    clinic.changed_by = editor
    clinic.save()

    assert (
        send_request(clinic, django_capture_on_commit_callbacks).recipient == "inbox@atlas.example"
    )


def test_a_specialists_requests_go_to_the_primary_clinic_first():
    primary = AffiliationFactory(specialist__email="", location__clinic__email="")
    specialist = primary.specialist
    other = AffiliationFactory(specialist=specialist, is_primary=False, location__clinic__email="")
    route_requests_to(other.clinic, "other@clinic.example")
    route_requests_to(primary.clinic, "primary@clinic.example")

    assert recipients.recipient_for(specialist) == ("primary@clinic.example", True)


@pytest.mark.parametrize(
    ("town", "country", "setting", "language"),
    [
        ("Berlin", "DE", "", "de"),
        ("Wien", "AT", "", "de"),
        ("Zürich", "CH", "", "de"),
        ("Lausanne", "CH", "", "fr"),
        ("Lugano", "CH", "", "it"),
        ("Berlin", "DE", "en", "en"),
    ],
)
def test_mail_to_a_practice_is_in_its_language(town, country, setting, language):
    """tests/test_mail_languages.py: every mail follows it."""
    from directory.models import Place

    place = Place.objects.filter(name_de=town, country=country).order_by("-population").first()
    affiliation = AffiliationFactory(
        location__city=town, location__country=country, location__place=place
    )
    affiliation.clinic.correspondence_language = setting
    affiliation.clinic.save()

    assert recipients.practice_language(affiliation.specialist) == language
    assert recipients.practice_language(affiliation.clinic) == language


def test_a_language_the_site_cannot_write_yet_becomes_english(settings):
    """Should a language leave settings.LANGUAGES, its practices are written to in English."""
    from directory.models import Place

    settings.LANGUAGES = [("en", "English"), ("de", "German")]
    place = Place.objects.filter(name_de="Lugano").first()
    clinic = AffiliationFactory(location__country="CH", location__place=place).clinic
    assert recipients.practice_language(clinic) == "en"
