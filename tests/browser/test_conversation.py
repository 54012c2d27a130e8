"""The whole loop in a browser: the patient sends a request, the practice answers through its
link with proposed dates, the patient accepts one on their page; axe on every page of it, and
on the page of a broken link, in both languages."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from appointments.models import AppointmentRequest
from tests.browser.accessibility import assert_accessible
from tests.factories import AffiliationFactory, route_requests_to

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"https?://\S+/requests/(?:answer|follow)/\S+/")

WORDS = {
    "en": {
        "name": "Your name",
        "email": "Email address",
        "message": "Message",
        "consent": "I agree that Specialist Atlas stores my request",
        "send": "Send request",
        "first": "First date and time",
        "second": "Second date and time (optional)",
        "note": "Note for the patient (optional)",
        "send_dates": "Send the dates",
        "sent": "Your answer has been sent.",
        "accept": "Accept this date",
        "agreed": "Appointment agreed:",
        "check": "Please check the form",
        "broken": "This link cannot be used",
    },
    "de": {
        "name": "Ihr Name",
        "email": "E-Mail-Adresse",
        "message": "Nachricht",
        "consent": "Ich bin einverstanden, dass der Spezialisten-Atlas meine Anfrage speichert",
        "send": "Anfrage senden",
        "first": "Erster Termin (Datum und Uhrzeit)",
        "second": "Zweiter Termin (optional)",
        "note": "Hinweis für die Patientin oder den Patienten (optional)",
        "send_dates": "Termine senden",
        "sent": "Ihre Antwort wurde gesendet.",
        "accept": "Diesen Termin annehmen",
        "agreed": "Vereinbarter Termin:",
        "check": "Bitte prüfen Sie das Formular",
        "broken": "Dieser Link kann nicht verwendet werden",
    },
}


def path_of_link(message, language: str) -> str:
    """The link of an email, opened in `language` (the token does not depend on it)."""
    (found,) = LINK.findall(message.body)
    return re.sub(r"^/[a-z]{2}/", f"/{language}/", urlsplit(found).path)


@pytest.fixture
def specialist(db):
    affiliation = AffiliationFactory(
        specialist__given_name="Lena",
        specialist__family_name="Aurich",
        location__clinic__email="info@stadtpark.example",
    )
    route_requests_to(affiliation.clinic, "info@stadtpark.example")
    return affiliation.specialist


@pytest.mark.parametrize("language", ["en", "de"])
def test_request_answer_and_accept(live_server, page: Page, specialist, language):
    words = WORDS[language]
    page.goto(f"{live_server.url}/{language}/specialists/{specialist.slug}/request/")
    page.get_by_label(words["name"]).fill("Maria Muster")
    page.get_by_label(words["email"]).fill("maria@example.org")
    page.get_by_label(words["message"]).fill("I would like a second opinion.")
    page.get_by_label(words["consent"]).check()
    page.get_by_role("button", name=words["send"]).click()
    practice_mail, patient_mail = mail.outbox
    mail.outbox.clear()

    # The practice opens its link, first sends a date in the past, then two good ones.
    page.goto(live_server.url + path_of_link(practice_mail, language))
    expect(page.get_by_text("I would like a second opinion.")).to_be_visible()
    assert_accessible(page)
    page.get_by_label(words["first"]).fill("2001-01-01T09:00")
    page.get_by_role("button", name=words["send_dates"]).click()
    expect(page.get_by_role("heading", name=words["check"])).to_be_visible()
    assert_accessible(page)
    first = timezone.localtime() + timedelta(days=3)
    second = timezone.localtime() + timedelta(days=5)
    page.get_by_label(words["first"]).fill(first.strftime("%Y-%m-%dT09:40"))
    page.get_by_label(words["second"]).fill(second.strftime("%Y-%m-%dT15:00"))
    page.get_by_label(words["note"]).fill("Please bring your findings.")
    page.get_by_role("button", name=words["send_dates"]).click()
    expect(page.get_by_text(words["sent"])).to_be_visible()
    assert_accessible(page)

    # The patient's page before and after the answer, then the accepted date.
    page.goto(live_server.url + path_of_link(patient_mail, language))
    assert_accessible(page)
    (answered,) = mail.outbox
    page.goto(live_server.url + path_of_link(answered, language))
    expect(page.get_by_text("Please bring your findings.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("radio").nth(1).check()
    page.get_by_role("button", name=words["accept"]).click()
    expect(page.get_by_text(words["agreed"])).to_be_visible()
    assert_accessible(page)
    request = AppointmentRequest.objects.get()
    assert request.status == AppointmentRequest.Status.AGREED
    assert mail.outbox[-1].to == ["info@stadtpark.example"]

    # The other kinds of request, sent with errors: their own fields, each error beside its field.
    for kind in ("second-opinion", "cost-estimate"):
        page.goto(
            f"{live_server.url}/{language}/specialists/{specialist.slug}/request/?kind={kind}"
        )
        assert_accessible(page)
        page.get_by_role("button", name=words["send"]).click()
        expect(page.get_by_role("heading", name=words["check"])).to_be_visible()
        assert_accessible(page)

    page.goto(f"{live_server.url}/{language}/requests/follow/not-a-link/")
    expect(page.get_by_role("heading", level=1)).to_have_text(words["broken"])
    assert_accessible(page)


TOGETHER = {
    "en": {"update": "Update the recipients", "side_by_side": "The answers side by side"},
    "de": {"update": "Empfänger aktualisieren", "side_by_side": "Die Antworten nebeneinander"},
}


@pytest.mark.parametrize("language", ["en", "de"])
def test_one_second_opinion_to_two_specialists(live_server, page: Page, specialist, language):
    """The patient adds a second specialist for the condition, sends once, both practices
    answer, and the patient accepts one of the dates in its column."""
    from tests.factories import ConditionFactory

    words, more = WORDS[language], TOGETHER[language]
    condition = ConditionFactory(slug="liver-metastases", name_en="Liver metastases")
    colleague = AffiliationFactory(
        specialist__given_name="Jonas",
        specialist__family_name="Berg",
        location__clinic__email="info@berg.example",
    )
    route_requests_to(colleague.clinic, "info@berg.example")
    specialist.conditions.add(condition)
    colleague.specialist.conditions.add(condition)
    form = f"{live_server.url}/{language}/specialists/{specialist.slug}/request/"

    page.goto(f"{form}?kind=second-opinion&condition=liver-metastases")
    assert_accessible(page)
    page.get_by_label(re.compile("Jonas Berg")).check()
    page.get_by_role("button", name=more["update"]).click()
    expect(page.get_by_label(words["consent"])).to_be_attached()
    consent = page.locator("label[for=id_consent]").inner_text()
    assert "Aurich" in consent
    assert "Berg" in consent
    assert_accessible(page)
    page.get_by_label(words["name"]).fill("Maria Muster")
    page.get_by_label(words["email"]).fill("maria@example.org")
    page.get_by_label(words["message"]).fill("I would like two opinions.")
    page.get_by_label(words["consent"]).check()
    page.get_by_role("button", name=words["send"]).click()
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {"info@stadtpark.example", "info@berg.example", "maria@example.org"}
    mail.outbox.clear()

    soon = (timezone.localtime() + timedelta(days=4)).strftime("%Y-%m-%dT10:00")
    for address in ("info@stadtpark.example", "info@berg.example"):
        page.goto(live_server.url + path_of_link(by_address[address], language))
        page.get_by_label(words["first"]).fill(soon)
        page.get_by_role("button", name=words["send_dates"]).click()
        expect(page.get_by_text(words["sent"])).to_be_visible()

    # The patient's latest email (the second answer's) opens both to act on.
    latest = [message for message in mail.outbox if message.to == ["maria@example.org"]][-1]
    page.goto(live_server.url + path_of_link(latest, language))
    expect(page.get_by_role("heading", name=more["side_by_side"])).to_be_visible()
    assert_accessible(page)
    column = page.locator(".thread").filter(has_text="Jonas Berg")
    column.get_by_role("radio").check()
    column.get_by_role("button", name=words["accept"]).click()
    expect(page.get_by_text(words["agreed"])).to_be_visible()
    assert_accessible(page)
    agreed = AppointmentRequest.objects.get(status=AppointmentRequest.Status.AGREED)
    assert agreed.specialist == colleague.specialist
    assert AppointmentRequest.objects.filter(status=AppointmentRequest.Status.ANSWERED).count() == 1
