from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RateLimitCount(models.Model):
    """How often one client did one limited thing in one window of time (core/rate_limits.py).

    Kept in PostgreSQL, not in the cache: the cache holds pages that anyone can fill with junk
    URLs, which would evict the counts and reset every limit; a table is shared by all workers
    and hosts and nothing evicts it. Old windows are deleted by `manage.py purge_requests`.
    """

    key = models.CharField(_("scope and hashed client"), max_length=100)
    window_start = models.DateTimeField(_("window start"))
    count = models.PositiveIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("rate limit count")
        verbose_name_plural = _("rate limit counts")
        constraints = [
            # One row per client and window, counted up atomically (INSERT ... ON CONFLICT).
            models.UniqueConstraint(fields=["key", "window_start"], name="ratelimit_key_window")
        ]
        indexes = [
            # Deleting the windows that have passed.
            models.Index(fields=["window_start"], name="ratelimit_window_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.window_start:%Y-%m-%d %H:%M}: {self.count}"


class Revision(models.Model):
    """A draft of an entry's text (core/revisions.py), kept beside the live entry until it is
    published: an article's title, summary and text, a profile's position and biography, a
    clinic's description. The live entry stays online meanwhile; staff preview the draft on the
    site. Published ones are kept, with the text they replaced, as the entry's history."""

    class State(models.TextChoices):
        PENDING = "pending", _("Draft")
        PUBLISHED = "published", _("Published")
        DISCARDED = "discarded", _("Discarded")

    content_type = models.ForeignKey(
        "contenttypes.ContentType", verbose_name=_("kind of entry"), on_delete=models.CASCADE
    )
    object_id = models.PositiveBigIntegerField(_("entry"))
    data = models.JSONField(_("text of the revision"), default=dict)
    replaced = models.JSONField(_("text it replaced"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("written by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created = models.DateTimeField(_("started"), auto_now_add=True)
    modified = models.DateTimeField(_("last saved"), auto_now=True)
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("revision")
        verbose_name_plural = _("revisions")
        ordering = ["-created", "-id"]
        constraints = [
            # One draft per entry at a time.
            models.UniqueConstraint(
                fields=["content_type", "object_id"],
                condition=models.Q(state="pending"),
                name="revision_one_draft_per_entry",
            )
        ]
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="revision_entry_idx"),
            # The scheduled ones, for publish_revisions.
            models.Index(
                fields=["publish_at"],
                condition=models.Q(state="pending", publish_at__isnull=False),
                name="revision_scheduled_idx",
            ),
        ]

    def __str__(self) -> str:
        return _("Revision no. %(number)s") % {"number": self.pk}
