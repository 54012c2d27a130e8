"""Revisions of live text: an editor changes a published article, profile or clinic as a draft
revision while the live version stays online, previews it on the site, publishes it now or at a
set time, and reverts it; the revisions page compares each side by side."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.utils import timezone

from content.models import Article
from core import revisions
from core.models import Revision
from tests.admin_forms import change_form_data
from tests.factories import AffiliationFactory, ConditionFactory, EditorFactory, UserFactory
from tests.test_content import make_article

pytestmark = pytest.mark.django_db

NEW_BODY = "## What is new\n\nA <script>x</script> new treatment is described here.\n"


@pytest.fixture
def article():
    return make_article(ConditionFactory(slug="liver-metastases", name_en="Liver metastases"))


@pytest.fixture
def editor(client):
    user = EditorFactory()
    client.force_login(user)
    return user


def page(client, path: str) -> str:
    return client.get(path).content.decode()


def save_revision(client, url: str, **changes):
    data = change_form_data(client, url, **changes)
    data["_save_revision"] = "Save as draft revision"
    return client.post(url, data)


def test_a_revision_keeps_the_live_article_online_until_it_is_published(
    client, article, editor, django_assert_max_num_queries
):
    change = f"/admin/content/article/{article.pk}/change/"
    live_page = "/en/conditions/liver-metastases/"

    response = save_revision(client, change, body_en=NEW_BODY, reviewer_name="Dr. Neu")

    assert response.status_code == 302
    draft = Revision.objects.get()
    assert response.url == f"/admin/content/article/{article.pk}/revisions/"
    article.refresh_from_db()
    assert "What is new" not in article.body_html_en  # the live text stays
    assert article.reviewer_name == "Dr. Neu"  # what is not text is saved as usual
    anonymous = client.__class__()
    assert "What is new" not in page(anonymous, live_page)
    assert "What is new" not in page(anonymous, f"{live_page}?revision={draft.pk}")
    # Staff preview the revision on the site.
    preview = page(client, f"{live_page}?revision={draft.pk}")
    assert "What is new" in preview
    assert "<script>x</script>" not in preview  # sanitised as any text
    assert f"Preview of draft revision no. {draft.pk}" in preview
    # The form shows the draft while it waits; the revisions page compares it side by side.
    assert "What is new" in page(client, change)
    compared = page(client, response.url)
    assert 'class="diff"' in compared
    assert "treatment&nbsp;is&nbsp;described" in compared  # difflib's side-by-side table
    assert "&lt;script&gt;" in compared  # escaped
    assert "Text [de]" not in compared  # only what changed

    # The list of revisions leads to the entry's revisions page.
    listed = page(client, "/admin/core/revision/?state__exact=pending")
    assert f'href="/admin/content/article/{article.pk}/revisions/"' in listed

    published = client.post(response.url, {"action": "publish", "revision": draft.pk})

    assert published.status_code == 302
    assert "What is new" in page(anonymous, live_page)
    draft.refresh_from_db()
    assert draft.state == Revision.State.PUBLISHED
    assert "Was ist das?" not in draft.replaced["body_en"]
    assert draft.replaced["body_en"].startswith("## ")  # the text it replaced is kept


def test_revert_makes_the_old_text_the_draft_and_publishing_it_restores_it(client, article, editor):
    change = f"/admin/content/article/{article.pk}/change/"
    revisions_page = f"/admin/content/article/{article.pk}/revisions/"
    old_title = article.title_en
    save_revision(client, change, title_en="Liver metastases: new")
    first = Revision.objects.get()
    client.post(revisions_page, {"action": "publish", "revision": first.pk})
    assert Article.objects.get().title_en == "Liver metastases: new"

    client.post(revisions_page, {"action": "revert", "revision": first.pk})
    again = revisions.pending(article)
    assert again.data["title_en"] == old_title
    client.post(revisions_page, {"action": "publish", "revision": again.pk})

    assert Article.objects.get().title_en == old_title
    assert len(revisions.history(article)) == 2
    # django-reversion keeps the published versions too.
    from reversion.models import Version

    assert Version.objects.get_for_object(Article.objects.get()).count() >= 2


def test_a_scheduled_revision_is_published_when_its_time_comes(client, article, editor):
    change = f"/admin/content/article/{article.pk}/change/"
    revisions_page = f"/admin/content/article/{article.pk}/revisions/"
    save_revision(client, change, summary_en="A new summary.")
    draft = Revision.objects.get()

    past = client.post(
        revisions_page,
        {"action": "schedule", "revision": draft.pk, "publish_at": "2001-01-01T09:00"},
    )
    assert past.status_code == 400
    assert "in the future" in past.content.decode()
    when = timezone.localtime() + timedelta(hours=2)
    client.post(
        revisions_page,
        {"action": "schedule", "revision": draft.pk, "publish_at": when.strftime("%Y-%m-%dT%H:%M")},
    )
    draft.refresh_from_db()
    assert draft.publish_at is not None

    out = io.StringIO()
    call_command("publish_revisions", stdout=out)
    assert "Published 0" in out.getvalue()  # not yet
    assert revisions.publish_due(now=timezone.now() + timedelta(hours=3)) == 1
    assert Article.objects.get().summary_en == "A new summary."


def test_a_plain_save_of_the_form_that_shows_the_draft_publishes_what_it_shows(
    client, article, editor
):
    change = f"/admin/content/article/{article.pk}/change/"
    before = article.title_en
    save_revision(client, change, title_en="Drafted title")
    data = change_form_data(client, change)
    assert data["title_en"] == "Drafted title"  # the form shows the draft

    client.post(change, {**data, "title_en": "Edited further"})

    assert Article.objects.get().title_en == "Edited further"  # what the editor saw and saved
    assert revisions.pending(article) is None
    (done,) = revisions.history(article)
    assert done.data == {"title_en": "Edited further"}
    assert done.replaced == {"title_en": before}  # so a revert brings back the real text


def test_a_draft_is_not_published_over_a_later_change_of_the_live_text(client, article, editor):
    change = f"/admin/content/article/{article.pk}/change/"
    save_revision(client, change, title_en="Drafted title")
    draft = Revision.objects.get()
    assert draft.data == {"title_en": "Drafted title"}  # only what it changes
    live = Article.objects.get()
    live.title_en = "Changed meanwhile"  # another editor, or an import
    live.save()

    response = client.post(
        f"/admin/content/article/{article.pk}/revisions/",
        {"action": "publish", "revision": draft.pk},
    )

    assert response.status_code == 400
    assert "changed after this draft was saved" in response.content.decode()
    assert Article.objects.get().title_en == "Changed meanwhile"
    assert revisions.pending(article) == draft
    # A draft of other fields still publishes.
    save_revision(client, change, title_en="Changed meanwhile", summary_en="New summary.")
    draft.refresh_from_db()
    assert draft.data == {"summary_en": "New summary."}
    assert revisions.publish(draft, editor)


@pytest.mark.parametrize(
    ("language", "body", "heading"),
    [
        ("fr", "## Qu’est-ce que c’est?\n\nDes tumeurs qui ont atteint le foie.", "Qu’est-ce"),
        ("it", "## Che cosa sono?\n\nTumori che hanno raggiunto il fegato.", "Che cosa sono?"),
    ],
)
def test_a_french_or_italian_text_drafted_for_a_live_article_is_published_in_its_language(
    client, article, editor, language, body, heading
):
    """The live article has no text in the language yet: its page there shows the English one
    (with a note) until the draft is published."""
    change = f"/admin/content/article/{article.pk}/change/"
    live_page = f"/{language}/conditions/liver-metastases/"
    title = {"fr": "Métastases hépatiques", "it": "Metastasi epatiche"}[language]

    save_revision(client, change, **{f"body_{language}": body, f"title_{language}": title})

    draft = Revision.objects.get()
    assert draft.data == {f"body_{language}": body, f"title_{language}": title}
    assert draft.replaced == {f"body_{language}": "", f"title_{language}": ""}
    visitor = client.__class__()
    assert heading not in page(visitor, live_page)
    assert "What is it?" in page(visitor, live_page)  # the English text, for now
    assert heading in page(client, f"{live_page}?revision={draft.pk}")

    published = client.post(
        f"/admin/content/article/{article.pk}/revisions/",
        {"action": "publish", "revision": draft.pk},
    )

    assert published.status_code == 302
    live = Article.objects.get()
    assert getattr(live, f"body_{language}") == body
    assert heading in getattr(live, f"body_html_{language}")
    assert live.body_en == article.body_en  # the other languages stay as they were
    shown = page(visitor, live_page)
    assert heading in shown
    assert title in shown
    assert "What is it?" not in shown


def test_a_profiles_biography_is_revised_and_previewed_too(client, editor):
    specialist = AffiliationFactory(specialist__biography_en="The live biography.").specialist
    change = f"/admin/directory/specialist/{specialist.pk}/change/"

    save_revision(client, change, biography_en="The drafted biography.")

    draft = Revision.objects.get()
    profile = specialist.get_absolute_url()
    assert "The live biography." in page(client.__class__(), profile)
    assert "The drafted biography." in page(client, f"{profile}?revision={draft.pk}")
    discarded = client.post(
        f"/admin/directory/specialist/{specialist.pk}/revisions/",
        {"action": "discard", "revision": draft.pk},
    )
    assert discarded.status_code == 302
    assert revisions.pending(specialist) is None


def test_the_revisions_page_refuses_what_it_must(client, article, editor):
    save_revision(client, f"/admin/content/article/{article.pk}/change/", title_en="X")
    draft = Revision.objects.get()
    other = make_article(ConditionFactory())
    other_page = f"/admin/content/article/{other.pk}/revisions/"

    assert client.post(other_page, {"action": "publish", "revision": draft.pk}).status_code == 400
    assert client.post(other_page, {"action": "publish", "revision": "abc"}).status_code == 400
    assert client.get("/admin/content/article/999999/revisions/").status_code == 404
    assert client.get("/admin/content/article/x/revisions/").status_code == 404
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_article"))
    client.force_login(viewer)
    mine = f"/admin/content/article/{article.pk}/revisions/"
    assert client.get(mine).status_code == 200
    assert client.post(mine, {"action": "publish", "revision": draft.pk}).status_code == 403
    assert Article.objects.get(pk=article.pk).title_en != "X"
