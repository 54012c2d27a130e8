"""The booking flow in a browser, in both languages: the search sorted by the earliest
appointment, "Next free" on the card, the profile's free times, the booking form, the email's
link that books, and the time gone from the profile's list. axe on every page of the way."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from appointments.models import Booking
from directory.slots import availability
from tests.browser.accessibility import assert_accessible
from tests.factories import AffiliationFactory, free_slot, route_requests_to

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = {
    "en": {
        "times": "Free appointments",
        "name": "Your name",
        "email": "Email address",
        "phone": "Phone",
        "reason": "Reason for the appointment",
        "consent": "I agree that Specialist Atlas stores my request",
        "hold": "Hold this time",
        "held": "Almost done: please confirm by email",
        "book": "Book this appointment",
        "booked": "Your appointment is booked.",
    },
    "de": {
        "times": "Freie Termine",
        "name": "Ihr Name",
        "email": "E-Mail-Adresse",
        "phone": "Telefon",
        "reason": "Grund für den Termin",
        "consent": "Ich bin einverstanden, dass der Spezialisten-Atlas meine Anfrage speichert",
        "hold": "Diesen Termin reservieren",
        "held": "Fast fertig: Bitte bestätigen Sie per E-Mail",
        "book": "Diesen Termin buchen",
        "booked": "Ihr Termin ist gebucht.",
    },
}


@pytest.fixture
def practice(db):
    """Dr. Lena Aurich, free tomorrow at 09:00 and 09:30."""
    affiliation = AffiliationFactory(
        specialist__given_name="Lena",
        specialist__family_name="Aurich",
        location__clinic__name="Klinikum Stadtpark",
        location__clinic__email="info@stadtpark.example",
    )
    route_requests_to(affiliation.clinic, "info@stadtpark.example")
    tomorrow = timezone.localdate() + timedelta(days=1)
    for hour, minute in ((9, 0), (9, 30)):
        start = datetime.combine(
            tomorrow, time(hour, minute), tzinfo=timezone.get_current_timezone()
        )
        free_slot(affiliation, start)
    availability.refresh([affiliation.specialist_id])
    return affiliation


def times_listed(page: Page) -> list[str]:
    """The times of day listed (each link also names its day, for screen readers)."""
    return [
        re.sub(r"\s+", " ", text).strip().rsplit(", ", 1)[-1]
        for text in page.locator("#times li a").all_inner_texts()
    ]


@pytest.mark.parametrize("language", ["en", "de"])
def test_search_next_free_book_confirm_and_the_time_is_gone(
    live_server, page: Page, practice, language
):
    words = WORDS[language]
    page.goto(f"{live_server.url}/{language}/specialists/?q=Aurich&sort=earliest")
    assert_accessible(page)
    card = page.locator("article.card", has_text="Lena Aurich")
    next_free = card.locator(".card__next a")
    expect(next_free).to_contain_text("09:00")
    next_free.click()

    expect(page.get_by_role("heading", name=words["times"])).to_be_visible()
    assert times_listed(page) == ["09:00", "09:30"]
    assert_accessible(page)
    page.locator("#times").get_by_role("link", name=re.compile("09:00")).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Lena Aurich")
    assert_accessible(page)
    page.get_by_label(words["name"]).fill("Maria Muster")
    page.get_by_label(words["email"]).fill("maria@example.org")
    page.get_by_label(words["phone"]).fill("+49 30 1234567")
    page.get_by_label(words["reason"]).fill("A check-up after my operation.")
    page.get_by_label(words["consent"]).check()
    page.get_by_role("button", name=words["hold"]).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(words["held"])
    assert_accessible(page)
    booking = Booking.objects.get()
    assert booking.status == "held"
    (message,) = mail.outbox
    assert message.to == ["maria@example.org"]
    (link,) = re.findall(r"https?://\S+", message.body)
    page.goto(live_server.url + re.sub(r"^https?://[^/]+", "", link))
    page.get_by_role("button", name=words["book"]).click()

    expect(page.get_by_text(words["booked"])).to_be_visible()
    assert_accessible(page)
    booking.refresh_from_db()
    assert booking.status == "booked"

    page.goto(
        f"{live_server.url}{practice.specialist.get_absolute_url()}".replace(
            "/en/", f"/{language}/"
        )
    )
    assert times_listed(page) == ["09:30"]
