"""The facts' new markup in a real browser, in both languages: a clinic page with a
certification in force and one that ran out, and the "Something wrong?" form with its errors."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.accessibility import assert_accessible
from tests.factories import AffiliationFactory, ConditionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(("language", "expired"), [("en", "Expired on"), ("de", "Abgelaufen am")])
def test_certifications_and_the_report_form_are_accessible(
    live_server, page: Page, language, expired
):
    affiliation = AffiliationFactory(location__clinic__slug="zentrum")
    condition = ConditionFactory(name_en="Liver metastases", name_de="Lebermetastasen")
    today = timezone.localdate()
    for title, days in (("Certified liver centre", 300), ("Old label", -2)):
        affiliation.clinic.certifications.create(
            title_en=title,
            issuer="A cancer society",
            valid_until=today + timedelta(days=days),
            register_url="https://register.example/1",
        ).conditions.add(condition)

    page.goto(f"{live_server.url}/{language}/clinics/zentrum/")
    expect(page.get_by_text(expired)).to_be_visible()
    assert_accessible(page)

    page.goto(f"{live_server.url}/{language}/specialists/{affiliation.specialist.slug}/")
    page.locator('a[href$="/report/"]').click()
    page.locator("form.request-form button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_accessible(page)
