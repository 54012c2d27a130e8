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
