"""Editorial content: articles about a condition or a medical field, with the trust signals
patients look for (medical reviewer, date of the last review, sources), and the pages a health
site owes its visitors (privacy policy, legal notice, contact, editorial policy)."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from content import markdown
from core import languages
from directory.models import Condition, Specialty, Status, TimeStamped

# Articles are reviewed again at least this often; older ones are flagged in admin.
REVIEW_INTERVAL = timedelta(days=365)

MARKDOWN_HELP = _(
    "Markdown: ## for a section heading, ### for a sub-heading, a blank line between "
    "paragraphs, - for a list, **bold**, [link text](https://…). HTML is not allowed."
)


class ArticleQuerySet(models.QuerySet):
    def live(self, now=None):
        """Published, and either not scheduled or scheduled for a time that has come."""
        now = now or timezone.now()
        return self.filter(status=Status.PUBLISHED).filter(
            Q(publish_at__isnull=True) | Q(publish_at__lte=now)
        )

    def review_due(self, now=None):
        cutoff = (now or timezone.now()).date() - REVIEW_INTERVAL
        return self.filter(Q(reviewed_on__isnull=True) | Q(reviewed_on__lt=cutoff))


class Article(TimeStamped):
    """An article about one condition or one medical field, in the site's languages. The body is
    Markdown; its sanitised HTML is kept beside it, made on every save."""

    condition = models.OneToOneField(
        Condition,
        verbose_name=_("condition or treatment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="article",
    )
    specialty = models.OneToOneField(
        Specialty,
        verbose_name=_("medical field"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="article",
    )
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"), help_text=_("Two or three sentences, shown first."))
    body = models.TextField(_("text"), help_text=MARKDOWN_HELP)
    body_html = models.TextField(editable=False, default="")
    reviewer_name = models.CharField(
        _("medical reviewer"), max_length=200, help_text=_('e.g. "Dr. med. Erika Beispiel"')
    )
    reviewer_credentials = models.CharField(
        _("reviewer's qualifications"),
        max_length=300,
        blank=True,
        help_text=_('e.g. "specialist in internal medicine and oncology"'),
    )
    reviewed_on = models.DateField(_("last reviewed"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=Status.choices,
        default=Status.DRAFT,
        help_text=_("Only published articles are shown on the site."),
    )
    publish_at = models.DateTimeField(
        _("publish from"),
        null=True,
        blank=True,
        help_text=_("Leave empty to publish at once; a published article waits until then."),
    )

    objects = ArticleQuerySet.as_manager()

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(condition__isnull=False, specialty__isnull=True)
                | Q(condition__isnull=True, specialty__isnull=False),
                name="article_about_one_topic",
                violation_error_message=_(
                    "An article is about either a condition or a medical field."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        if self.condition_id:
            return reverse("content:condition", kwargs={"slug": self.condition.slug})
        return reverse("content:specialty", kwargs={"slug": self.specialty.slug})

    def clean(self):
        if bool(self.condition_id) == bool(self.specialty_id):
            raise ValidationError(_("Choose either a condition or a medical field, not both."))

    def save(self, *args, **kwargs):
        self.render_text()
        super().save(*args, **kwargs)

    def render_text(self) -> None:
        """Make the HTML the site shows from the Markdown (on save, and for a revision's
        preview)."""
        for code in languages.codes():
            setattr(self, f"body_html_{code}", markdown.render(getattr(self, f"body_{code}", "")))

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == Status.PUBLISHED and (
            self.publish_at is None or self.publish_at <= now
        )

    @property
    def headings(self) -> list[markdown.Heading]:
        return markdown.headings(self.body_html)

    @property
    def contents(self) -> list[markdown.Heading]:
        """The headings as a table of contents: sections with their sub-sections."""
        return markdown.contents(self.body_html)

    @property
    def review_due(self) -> bool:
        return self.reviewed_on is None or (
            self.reviewed_on < timezone.now().date() - REVIEW_INTERVAL
        )


class Source(models.Model):
    """A citation: a public guideline or reference the article relies on."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="sources")
    title = models.CharField(_("title"), max_length=300)
    publisher = models.CharField(_("publisher"), max_length=300, blank=True)
    url = models.URLField(_("link"), max_length=500)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class Page(TimeStamped):
    """One of the site's fixed pages (privacy policy, legal notice, contact, editorial policy),
    in the site's languages. The body is Markdown, kept beside its sanitised HTML like an
    article's; placeholders such as {operator_name} in its text are filled from the settings
    when the page is shown (content.facts). Every saved version is kept: its admin (VersionAdmin)
    registers it with django-reversion once modeltranslation has added the language columns,
    so each version holds both languages (registered here, it would hold neither)."""

    class Kind(models.TextChoices):
        # The values are the pages' URL paths and URL names (content:privacy ...).
        PRIVACY = "privacy", _("Privacy policy")
        LEGAL_NOTICE = "legal-notice", _("Legal notice")
        CONTACT = "contact", _("Contact")
        EDITORIAL_POLICY = "editorial-policy", _("Editorial policy")

    kind = models.CharField(_("page"), max_length=20, choices=Kind.choices, unique=True)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(
        _("summary"), help_text=_("One or two sentences, shown first and to search engines.")
    )
    body = models.TextField(
        _("text"),
        help_text=format_lazy(
            "{markdown} {placeholders}",
            markdown=MARKDOWN_HELP,
            placeholders=_(
                "These placeholders are replaced by the site's settings: {operator_name}, "
                "{operator_address}, {operator_email}, {operator_phone}, {operator_register}, "
                "{privacy_email}, {retention_days} (days before appointment requests are "
                "deleted), {report_retention_days} (days before reports of wrong entries are "
                "deleted). Write them in the text, not inside a link."
            ),
        ),
    )
    body_html = models.TextField(editable=False, default="")

    class Meta:
        verbose_name = _("page")
        verbose_name_plural = _("pages")
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.title or self.get_kind_display()

    def get_absolute_url(self) -> str:
        return reverse(f"content:{self.kind}")

    def save(self, *args, **kwargs):
        for code in languages.codes():
            setattr(self, f"body_html_{code}", markdown.render(getattr(self, f"body_{code}", "")))
        super().save(*args, **kwargs)
