import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.factories import EditorFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_editor_creates_a_specialist_with_a_photo_publishes_and_sees_the_profile(
    live_server, page: Page, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    EditorFactory(username="redakteurin", password="a-long-test-password")
    photo = tmp_path / "portrait.jpg"
    Image.new("RGB", (900, 900), (90, 140, 180)).save(photo, "JPEG")

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("redakteurin")
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/admin/directory/specialist/add/")
    page.get_by_label("Academic title").fill("Dr. med.")
    page.get_by_label("Given name").fill("Hedda")
    page.get_by_label("Family name").press_sequentially("Kornmaier")
    expect(page.locator("#id_slug")).to_have_value("hedda-kornmaier")
    page.get_by_label("Position").fill("Senior consultant, visceral surgery")
    page.locator("#id_photo").set_input_files(str(photo))
    page.locator("#id_biography_en").fill("Experienced in liver surgery.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")

    page.goto(f"{live_server.url}/admin/directory/specialist/")
    page.get_by_role("row", name="Kornmaier").get_by_role("checkbox").check()
    page.locator("select[name=action]").select_option("publish")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist")).to_contain_text("1 entry changed")

    page.goto(f"{live_server.url}/en/specialists/hedda-kornmaier/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dr. med. Hedda Kornmaier")
    expect(page.get_by_role("img", name="Photo of Dr. med. Hedda Kornmaier")).to_be_visible()
    assert ".webp" in page.get_by_role("img").first.get_attribute("src")
