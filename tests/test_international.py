"""Clinics' international offices: shown on the clinic's page, and the recipient of requests
from patients living abroad once the office's address is approved and confirmed, as any
address for requests is."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail

from appointments import recipients
from appointments.models import AppointmentRequest, RecipientChange
from tests.factories import AffiliationFactory, request_form_data, route_requests_to
from tests.test_recipients import clerk  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

Purpose = RecipientChange.Purpose


@pytest.fixture
def affiliation():
    affiliation = AffiliationFactory(
        specialist__email="",
        location__clinic__email="info@nord.example",
        location__clinic__international_contact="International Patient Office",
        location__clinic__international_phone="+49 30 5555",
        location__clinic__international_languages=["ar", "en"],
        location__clinic__international_services=["cost-estimates", "visa-letters"],
    )
    route_requests_to(affiliation.clinic, "info@nord.example")
    return affiliation


def confirm_office(clinic, clerk, client, captured) -> None:  # noqa: F811
    """The address, set by the patient service (so approved at once), confirmed by its owner."""
    with captured(execute=True):
        clinic.international_email = "international@nord.example"
        clinic.changed_by = clerk
        clinic.save()
    (link,) = re.findall(r"https?://\S+/requests/address/\S+/", mail.outbox[-1].body)
    assert client.post(urlsplit(link).path).status_code == 200


def send(client, specialist, captured, **fields) -> AppointmentRequest:
    with captured(execute=True):
        client.post(
            f"/en/specialists/{specialist.slug}/request/",
            request_form_data(
                **{
                    "kind": "cost-estimate",
                    "insurance_status": "abroad",
                    "residence": "NL",
                    **fields,
                }
            ),
        )
    return AppointmentRequest.objects.order_by("-pk").first()


def test_the_clinic_page_shows_the_office_but_not_its_address(affiliation, client):
    affiliation.clinic.international_email = "international@nord.example"
    affiliation.clinic.save()

    page = client.get(f"/en/clinics/{affiliation.clinic.slug}/").text

    assert "For patients from abroad" in page
    assert "International Patient Office" in page
    assert "+49 30 5555" in page
    assert "Arabic, English" in page
    assert "<li>Letters for a visa</li>" in page
    assert "international@nord.example" not in page


def test_an_office_address_receives_requests_from_abroad_only_once_confirmed(
    affiliation,
    clerk,  # noqa: F811
    client,
    django_capture_on_commit_callbacks,
):
    clinic, specialist = affiliation.clinic, affiliation.specialist
    clinic.international_email = "international@nord.example"
    clinic.save()  # by a command: waits for approval
    waiting = RecipientChange.objects.of(clinic, Purpose.INTERNATIONAL).get()
    assert waiting.state == RecipientChange.State.AWAITING_APPROVAL
    assert send(client, specialist, django_capture_on_commit_callbacks).recipient == (
        "info@nord.example"
    )

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        recipients.approve(waiting, by=clerk)
    confirmation = mail.outbox[0]
    assert confirmation.to == ["international@nord.example"]
    assert "internationale Büro" in confirmation.body  # in the practice's language
    (link,) = re.findall(r"https?://\S+/requests/address/\S+/", confirmation.body)
    assert client.post(urlsplit(link).path).status_code == 200

    assert recipients.address_in_force(clinic) == "info@nord.example"  # the clinic's own stays
    from_abroad = send(client, specialist, django_capture_on_commit_callbacks)
    at_home = send(client, specialist, django_capture_on_commit_callbacks, residence="DE")
    no_residence = send(client, specialist, django_capture_on_commit_callbacks, kind="appointment")
    assert from_abroad.recipient == "international@nord.example"
    assert at_home.recipient == "info@nord.example"
    assert no_residence.recipient == "info@nord.example"


def test_clearing_the_office_sends_requests_from_abroad_where_the_others_go(
    affiliation,
    clerk,  # noqa: F811
    client,
    django_capture_on_commit_callbacks,
):
    clinic, specialist = affiliation.clinic, affiliation.specialist
    confirm_office(clinic, clerk, client, django_capture_on_commit_callbacks)
    clinic.international_email = ""
    clinic.save()

    assert send(client, specialist, django_capture_on_commit_callbacks).recipient == (
        "info@nord.example"
    )


def test_a_draft_clinics_office_receives_nothing(
    affiliation,
    clerk,  # noqa: F811
    client,
    django_capture_on_commit_callbacks,
):
    clinic = affiliation.clinic
    confirm_office(clinic, clerk, client, django_capture_on_commit_callbacks)
    clinic.status = "draft"
    clinic.save()

    assert recipients.recipient_for(affiliation.specialist, abroad=True)[0] != (
        "international@nord.example"
    )
