import pytest
from playwright.sync_api import Page, expect

from directory.search import index
from tests.browser.accessibility import assert_accessible
from tests.factories import AffiliationFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = {
    "en": {
        "english": "English",
        "apply": "Apply filters",
        "found": "22 specialists found",
        "next": "Next page",
        "page": "Page 2 of 2",
    },
    "de": {
        "english": "Englisch",
        "apply": "Filter anwenden",
        "found": "22 Fachärztinnen und Fachärzte gefunden",
        "next": "Nächste Seite",
        "page": "Seite 2 von 2",
    },
}


@pytest.fixture
def specialists(db):
    """22 specialists called Muster who speak English, and 3 who speak only German."""
    with index.deferred():
        for number in range(25):
            AffiliationFactory(
                specialist__given_name="Max",
                specialist__family_name=f"Muster{number:02}",
                specialist__languages=["de", "en"] if number < 22 else ["de"],
            )


@pytest.mark.parametrize("language", ["en", "de"])
def test_search_filter_next_page_profile(live_server, page: Page, specialists, language):
    words = WORDS[language]
    page.goto(f"{live_server.url}/{language}/")
    page.locator("#header-q").fill("Muster")
    page.locator("#header-q").press("Enter")

    expect(page.locator("#results-heading")).to_contain_text("25")
    assert_accessible(page)

    page.get_by_label(words["english"]).check()
    page.get_by_role("button", name=words["apply"]).click()
    expect(page.locator("#results-heading")).to_have_text(words["found"])
    assert "language=en" in page.url

    page.get_by_role("link", name=words["next"]).click()
    expect(page.get_by_text(words["page"])).to_be_visible()
    assert "language=en" in page.url
    assert "q=Muster" in page.url
    assert page.locator(".card").count() == 2
    assert_accessible(page)

    page.locator(".card__title a").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dr. med. Max Muster20")


@pytest.mark.parametrize(("language", "name"), [("en", "Oncology"), ("de", "Onkologie")])
def test_field_page_is_accessible_in_both_languages(live_server, page: Page, language, name):
    field = SpecialtyFactory(name_en="Oncology", name_de="Onkologie", slug="oncology")
    SpecialtyFactory(name_en="Haematology", name_de="Hämatologie", slug="haem", parent=field)
    specialist = AffiliationFactory().specialist
    specialist.specialties.add(field)

    page.goto(f"{live_server.url}/{language}/specialties/oncology/")

    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator(".card")).to_have_count(1)
    assert_accessible(page)
