import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.factories import EditorFactory

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page: Page, live_server) -> None:
    """Sign in to admin as the editor the test made (redakteurin)."""
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("redakteurin")
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()


def test_editor_creates_a_specialist_with_a_photo_publishes_and_sees_the_profile(
    live_server, page: Page, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    EditorFactory(username="redakteurin", password="a-long-test-password")
    photo = tmp_path / "portrait.jpg"
    Image.new("RGB", (900, 900), (90, 140, 180)).save(photo, "JPEG")

    log_in(page, live_server)

    page.goto(f"{live_server.url}/admin/directory/specialist/add/")
    page.get_by_label("Academic title").fill("Dr. med.")
    page.get_by_label("Given name").fill("Hedda")
    page.get_by_label("Family name").press_sequentially("Kornmaier")
    expect(page.locator("#id_slug")).to_have_value("hedda-kornmaier")
    page.get_by_label("Position [en]").fill("Senior consultant, visceral surgery")
    page.get_by_label("Position [de]").fill("Oberärztin, Viszeralchirurgie")
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
    portrait = page.locator("header picture")
    assert ".webp" in portrait.locator("source").get_attribute("srcset")
    assert portrait.locator("img").get_attribute("src").endswith(".jpg")
    expect(page.locator("main")).to_contain_text("Senior consultant, visceral surgery")
    page.goto(f"{live_server.url}/de/specialists/hedda-kornmaier/")
    expect(page.locator("main")).to_contain_text("Oberärztin, Viszeralchirurgie")


def test_editor_edits_an_article_previews_the_draft_and_publishes_it(
    live_server, page: Page, browser
):
    from content.models import Article
    from tests.factories import ConditionFactory

    condition = ConditionFactory(name_en="Gallstones", name_de="Gallensteine", slug="gallstones")
    article = Article.objects.create(
        condition=condition,
        title_en="Gallstones",
        title_de="Gallensteine",
        summary_en="An old summary.",
        summary_de="Eine alte Zusammenfassung.",
        body_en="## What are gallstones?\n\nStones in the gallbladder.\n",
        body_de="## Was sind Gallensteine?\n\nSteine in der Gallenblase.\n",
        reviewer_name="Dr. med. Ida Probe",
    )
    EditorFactory(username="redakteurin", password="a-long-test-password")
    log_in(page, live_server)

    page.goto(f"{live_server.url}/admin/content/article/{article.pk}/change/")
    page.locator("#id_summary_en").fill("Hard stones that form in the gallbladder.")
    page.locator("#id_body_en").fill(
        "## What are gallstones?\n\nStones **in** the gallbladder.\n\n## Treatment\n\nSurgery."
    )
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    # The editor previews the draft on the site; the public does not see it yet.
    page.goto(f"{live_server.url}/en/conditions/gallstones/")
    expect(page.get_by_role("status")).to_contain_text("Preview")
    expect(page.get_by_text("Hard stones that form in the gallbladder.")).to_be_visible()
    expect(page.get_by_role("link", name="Treatment", exact=True)).to_be_visible()  # contents
    public = browser.new_page()
    public.goto(f"{live_server.url}/en/conditions/gallstones/")
    expect(public.get_by_text("Hard stones that form in the gallbladder.")).to_have_count(0)

    page.goto(f"{live_server.url}/admin/content/article/{article.pk}/change/")
    page.locator("#id_status").select_option("published")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    public.goto(f"{live_server.url}/en/conditions/gallstones/")
    expect(public.get_by_text("Hard stones that form in the gallbladder.")).to_be_visible()
    expect(public.get_by_text("Medically reviewed by Dr. med. Ida Probe")).to_be_visible()
    public.close()


@pytest.mark.parametrize("language", ["en", "de", "fr", "it"])
def test_editor_revises_the_live_article_while_visitors_keep_reading_it(
    live_server, page: Page, browser, language
):
    """The published liver-metastases article is revised: the editor previews the draft while
    an anonymous visitor still reads the live text, publishes it, the visitor reads the new
    text, and a revert brings the old one back. The article has no French or Italian text yet:
    there the visitor reads the English one until the draft is published, and again after the
    revert."""
    from content.models import Article
    from tests.factories import ConditionFactory

    condition = ConditionFactory(
        name_en="Liver metastases", name_de="Lebermetastasen", slug="liver-metastases"
    )
    article = Article.objects.create(
        condition=condition,
        title_en="Liver metastases",
        title_de="Lebermetastasen",
        summary_en="Tumours that have spread to the liver.",
        summary_de="Tumoren, die sich in der Leber angesiedelt haben.",
        body_en="## What are they?\n\nThe live English text.\n",
        body_de="## Was ist das?\n\nDer veröffentlichte deutsche Text.\n",
        reviewer_name="Dr. med. Ida Probe",
        status="published",
    )
    live_text = {"de": "Der veröffentlichte deutsche Text."}.get(language, "The live English text.")
    new_text = {
        "en": "The revised English text.",
        "de": "Der überarbeitete deutsche Text.",
        "fr": "Le texte français révisé.",
        "it": "Il testo italiano rivisto.",
    }[language]
    public = f"{live_server.url}/{language}/conditions/liver-metastases/"
    visitor = browser.new_context().new_page()
    EditorFactory(username="redakteurin", password="a-long-test-password")
    log_in(page, live_server)

    page.goto(f"{live_server.url}/admin/content/article/{article.pk}/change/")
    page.locator(f"#id_body_{language}").fill(f"## {new_text}\n\n{new_text}\n")
    page.get_by_role("button", name="Save as draft revision").click()
    expect(page.locator(".messagelist")).to_contain_text("the live version stays online")
    expect(page.locator(".revision-diff").first).to_contain_text(new_text.split()[-2])

    visitor.goto(public)
    expect(visitor.locator("main")).to_contain_text(live_text)
    preview_link = page.get_by_role("link", name="Preview on the site")
    preview = page.context.new_page()
    preview.goto(
        live_server.url + preview_link.get_attribute("href").replace("/en/", f"/{language}/")
    )
    expect(preview.locator("main")).to_contain_text(new_text)
    banner = {
        "en": "Preview of draft revision",
        "de": "Vorschau der Entwurfsfassung",
        "fr": "Aperçu de la version brouillon",
        "it": "Anteprima della versione bozza",
    }[language]
    expect(preview.get_by_role("status")).to_contain_text(banner)
    visitor.reload()
    expect(visitor.locator("main")).to_contain_text(live_text)  # still the live text

    page.get_by_role("button", name="Publish now").click()
    expect(page.locator(".messagelist")).to_contain_text("Published")
    visitor.reload()
    expect(visitor.locator("main")).to_contain_text(new_text)
    expect(visitor.locator("main")).not_to_contain_text(live_text)

    page.get_by_role("button", name="Revert: make the text before it the draft").click()
    page.get_by_role("button", name="Publish now").click()
    visitor.reload()
    expect(visitor.locator("main")).to_contain_text(live_text)
    expect(visitor.locator("main")).not_to_contain_text(new_text)
    preview.close()
    visitor.context.close()  # its open connections would keep the test database in use
