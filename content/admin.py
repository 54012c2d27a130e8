from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from modeltranslation.admin import TranslationAdmin
from reversion.admin import VersionAdmin

from content.models import Article, Page, Source
from core import languages
from core.admin import GuardedLookups, RevisionAdmin
from directory.admin import StatusActions

# An article's or page's texts, each in the four languages side by side (English and German
# required, French and Italian optional).
TEXTS = tuple(languages.side_by_side(field) for field in ("title", "summary", "body"))


class ReviewDueFilter(admin.SimpleListFilter):
    title = _("review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("due", _("Not reviewed for 12 months"))]

    def queryset(self, request, queryset):
        return queryset.review_due() if self.value() == "due" else queryset


class SourceInline(admin.TabularInline):
    model = Source
    extra = 1
    fields = ("position", "title", "publisher", "url")


@admin.register(Article)
class ArticleAdmin(RevisionAdmin, GuardedLookups, StatusActions, VersionAdmin, TranslationAdmin):
    """Editors write in Markdown; the site shows the sanitised HTML. "View on site" previews a
    draft (only staff see drafts). A live article's text is changed as a draft revision,
    previewed on the site and published later (RevisionAdmin). History lists every saved version
    and can revert to one."""

    revisable_fields = languages.columns("title", "summary", "body")

    list_display = ("title", "topic", "status", "publish_at", "reviewed_on", "review_overdue")
    list_filter = ("status", ReviewDueFilter)
    search_fields = languages.columns("title")
    autocomplete_fields = ("condition", "specialty")
    inlines = [SourceInline]
    actions = ["publish", "unpublish"]
    fieldsets = (
        (None, {"fields": ("condition", "specialty", *TEXTS)}),
        (
            _("Medical review"),
            {
                "fields": (
                    "reviewer_name",
                    languages.side_by_side("reviewer_credentials"),
                    "reviewed_on",
                )
            },
        ),
        (_("Publishing"), {"fields": ("status", "publish_at")}),
    )

    @admin.display(description=pgettext_lazy("what an article is about", "about"))
    def topic(self, article: Article) -> str:
        return str(article.condition or article.specialty)

    @admin.display(description=_("review due"), boolean=True)
    def review_overdue(self, article: Article) -> bool:
        return article.review_due


@admin.register(Page)
class PageAdmin(GuardedLookups, VersionAdmin, TranslationAdmin):
    """The privacy policy, legal notice, contact page and editorial policy. Editors write in
    Markdown, with placeholders for the operator's facts from the settings; "History" lists
    every saved version and can revert to one. The pages are linked from every page of the
    site, so they are edited, never deleted, and each exists once."""

    list_display = ("title", "kind", "modified")
    search_fields = languages.columns("title")
    fields = ("kind", *TEXTS)

    def get_readonly_fields(self, request, obj=None):
        return ("kind",) if obj else ()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def dashboard_entries() -> list:
    """The articles' entries of the editors' dashboard (core/dashboard.py)."""
    from core.dashboard import Entry

    return [
        Entry(
            _("Articles due for review (not reviewed for 12 months)"),
            "content.view_article",
            lambda: Article.objects.review_due().count(),
            "admin:content_article_changelist",
            "review=due",
        ),
        Entry(
            _("Draft articles"),
            "content.view_article",
            lambda: Article.objects.filter(status="draft").count(),
            "admin:content_article_changelist",
            "status__exact=draft",
        ),
    ]
