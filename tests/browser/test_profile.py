import pytest
from playwright.sync_api import Page, expect

from tests.browser.accessibility import assert_accessible
from tests.factories import AffiliationFactory, ConditionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("language", "heading"), [("en", "Treatment focus"), ("de", "Behandlungsschwerpunkte")]
)
def test_profile_is_accessible_in_both_languages(live_server, page: Page, language, heading):
    specialist = AffiliationFactory(
        specialist__biography_en="About me.", specialist__biography_de="Über mich."
    ).specialist
    specialist.conditions.add(
        ConditionFactory(name_en="Liver metastases", name_de="Lebermetastasen")
    )

    page.goto(f"{live_server.url}/{language}/specialists/{specialist.slug}/")

    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    assert_accessible(page)
