"""The patient flow: search, profile, appointment request, thank-you page; axe on the profile,
the form (empty and with errors) and the clinic pages, in both languages."""

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from appointments.models import AppointmentRequest
from tests.browser.accessibility import assert_accessible
from tests.factories import (
    AffiliationFactory,
    ConditionFactory,
    SpecialtyFactory,
    route_requests_to,
)

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = {
    "en": {
        "request": "Request an appointment",
        "name": "Your name",
        "email": "Email address",
        "message": "Message",
        "consent": "I agree that Specialist Atlas stores my request",
        "send": "Send request",
        "check": "Please check the form",
        "thanks": "Thank you: your request has been sent",
        "clinics": "Find a clinic",
        "search": "Search",
    },
    "de": {
        "request": "Termin anfragen",
        "name": "Ihr Name",
        "email": "E-Mail-Adresse",
        "message": "Nachricht",
        "consent": "Ich bin einverstanden, dass der Spezialisten-Atlas meine Anfrage speichert",
        "send": "Anfrage senden",
        "check": "Bitte prüfen Sie das Formular",
        "thanks": "Danke: Ihre Anfrage wurde gesendet",
        "clinics": "Klinik finden",
        "search": "Suchen",
    },
}


@pytest.fixture
def specialist(db):
    affiliation = AffiliationFactory(
        specialist__given_name="Lena",
        specialist__family_name="Aurich",
        specialist__biography_en="Liver surgeon.",
        specialist__biography_de="Leberchirurgin.",
        specialist__memberships="German Society of Surgery",
        location__clinic__name="Klinikum Stadtpark",
        location__clinic__email="info@stadtpark.example",
        location__clinic__international_contact="International Office",
        location__clinic__international_phone="+49 30 5555",
        location__clinic__international_languages=["en", "ar"],
        location__clinic__international_services=["cost-estimates", "visa-letters"],
        location__opening_hours_en="Mon–Fri 8–16",
        location__opening_hours_de="Mo–Fr 8–16",
    )
    route_requests_to(affiliation.clinic, "info@stadtpark.example")
    specialist = affiliation.specialist
    specialist.specialties.add(SpecialtyFactory())
    specialist.conditions.add(ConditionFactory())
    return specialist


@pytest.mark.parametrize("language", ["en", "de"])
def test_search_profile_request_thank_you(live_server, page: Page, specialist, language):
    words = WORDS[language]
    page.goto(f"{live_server.url}/{language}/specialists/?q=Aurich")
    page.get_by_role("link", name="Dr. med. Lena Aurich", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Dr. med. Lena Aurich")
    assert_accessible(page)

    page.get_by_role("link", name=words["request"], exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lena Aurich")
    assert_accessible(page)

    # Sent without consent: the form comes back with the error and keeps what was typed.
    page.get_by_label(words["name"]).fill("Maria Muster")
    page.get_by_label(words["email"]).fill("maria@example.org")
    page.get_by_label(words["message"]).fill("I would like a second opinion.")
    page.get_by_role("button", name=words["send"]).click()
    expect(page.get_by_role("heading", name=words["check"])).to_be_visible()
    expect(page.get_by_label(words["name"])).to_have_value("Maria Muster")
    assert_accessible(page)
    assert not AppointmentRequest.objects.exists()

    page.get_by_label(words["consent"]).check()
    page.get_by_role("button", name=words["send"]).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(words["thanks"])
    assert_accessible(page)
    request = AppointmentRequest.objects.get()
    assert (request.specialist_id, request.name) == (specialist.pk, "Maria Muster")
    assert [message.to for message in mail.outbox] == [
        ["info@stadtpark.example"],
        ["maria@example.org"],
    ]


@pytest.mark.parametrize("language", ["en", "de"])
def test_clinic_search_and_profile_are_accessible(live_server, page: Page, specialist, language):
    words = WORDS[language]
    page.goto(f"{live_server.url}/{language}/clinics/")
    expect(page.get_by_role("heading", level=1)).to_have_text(words["clinics"])
    assert_accessible(page)

    page.get_by_role("link", name="Klinikum Stadtpark", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Klinikum Stadtpark")
    assert_accessible(page)


@pytest.fixture
def no_script_page(browser):
    """A page in a browser with JavaScript turned off, as some patients browse."""
    context = browser.new_context(java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_search_filter_profile_and_request_work_without_javascript(
    live_server, no_script_page, specialist
):
    page = no_script_page
    page.goto(f"{live_server.url}/en/")
    page.locator("#header-q").fill("Aurich")
    page.locator("#header-q").press("Enter")
    expect(page.locator("#results-heading")).to_have_text("1 specialist found")

    page.get_by_label("English").check()
    page.get_by_role("button", name="Apply filters").click()
    assert "language=en" in page.url
    expect(page.locator("#results-heading")).to_have_text("1 specialist found")

    page.get_by_role("link", name="Dr. med. Lena Aurich", exact=True).click()
    page.get_by_role("link", name="Request an appointment", exact=True).click()
    words = WORDS["en"]
    page.get_by_label(words["name"]).fill("Maria Muster")
    page.get_by_label(words["email"]).fill("maria@example.org")
    page.get_by_label(words["message"]).fill("I would like a second opinion.")
    page.get_by_label(words["consent"]).check()
    page.get_by_role("button", name=words["send"]).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(words["thanks"])
    assert AppointmentRequest.objects.get().name == "Maria Muster"
