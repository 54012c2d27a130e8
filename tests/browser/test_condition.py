import pytest
from playwright.sync_api import Page, expect

from content.demo import load_demo_articles
from tests.browser.accessibility import assert_accessible
from tests.factories import AffiliationFactory, ConditionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("language", "title", "contents"),
    [("en", "Liver metastases", "Contents"), ("de", "Lebermetastasen", "Inhalt")],
)
def test_condition_page_is_accessible_in_both_languages(
    live_server, page: Page, language, title, contents
):
    condition = ConditionFactory(
        slug="liver-metastases", name_en="Liver metastases", name_de="Lebermetastasen"
    )
    load_demo_articles()
    for _ in range(2):
        AffiliationFactory().specialist.specialistcondition_set.create(condition=condition)

    page.goto(f"{live_server.url}/{language}/conditions/liver-metastases/")

    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    toc = page.get_by_role("navigation", name=contents)
    expect(toc).to_be_visible()
    toc.get_by_role("link").nth(1).click()
    assert "#" in page.url
    expect(page.locator(".card")).to_have_count(2)
    assert_accessible(page)
