"""Free appointment times (FHIR Slot): read from the practices' own systems as SMART Scheduling
Links feeds (SlotSource, directory.slots.feeds and .sync), or generated on this site from weekly
templates. Public data: a slot says when a practice has time, never who took it (that is health
data and lives with the bookings, in the appointments app).

Part of the directory app (imported by directory.models), because the search row of every
specialist carries its next free time.
"""

from django.contrib.postgres.fields import DateTimeRangeField
from django.contrib.postgres.indexes import GistIndex
from django.db import models
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SlotSourceQuerySet(models.QuerySet):
    def of(self, listing):
        """The sources of a specialist or a clinic."""
        field = "clinic" if listing._meta.model_name == "clinic" else "specialist"
        return self.filter(**{field: listing})

    def active(self):
        return self.filter(active=True)


class SlotSource(models.Model):
    """Where a clinic's or a specialist's free times come from: the address of a SMART
    Scheduling Links manifest ($bulk-publish), or a file uploaded by an editor for a practice
    whose software publishes none. `manage.py sync_slots` reads it and records here how that
    went; a bad feed is reported and never removes the slots of the last good one."""

    clinic = models.ForeignKey(
        "directory.Clinic",
        verbose_name=_("clinic"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="slot_sources",
    )
    specialist = models.ForeignKey(
        "directory.Specialist",
        verbose_name=_("specialist"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="slot_sources",
    )
    url = models.URLField(
        _("address of the manifest"),
        max_length=500,
        blank=True,
        help_text=_(
            "The practice software's SMART Scheduling Links manifest, usually ending in "
            "“$bulk-publish”."
        ),
    )
    upload = models.FileField(
        _("file"),
        upload_to="slot-feeds/",
        blank=True,
        help_text=_(
            "Instead of an address: one NDJSON file with the practice's Location, Schedule and "
            "Slot resources, one per line."
        ),
    )
    active = models.BooleanField(
        _("read"), default=True, help_text=_("Unticked, the source is not read; its slots stay.")
    )
    # What the last reading found (sync_slots); never edited by hand.
    checked_at = models.DateTimeField(_("last read"), null=True, blank=True, editable=False)
    synced_at = models.DateTimeField(_("last good feed"), null=True, blank=True, editable=False)
    transaction_time = models.CharField(
        _("feed's time of the last good feed"), max_length=40, blank=True, editable=False
    )
    last_modified = models.CharField(
        _("server's date of the last good feed"), max_length=40, blank=True, editable=False
    )
    problem = models.TextField(_("problem"), blank=True, editable=False)
    problem_since = models.DateTimeField(_("problem since"), null=True, blank=True, editable=False)
    skipped = models.TextField(_("lines left out"), blank=True, editable=False)
    slot_count = models.PositiveIntegerField(_("free slots"), default=0, editable=False)

    objects = SlotSourceQuerySet.as_manager()

    class Meta:
        verbose_name = _("slot source")
        verbose_name_plural = _("slot sources")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(specialist__isnull=False, clinic__isnull=True)
                | models.Q(specialist__isnull=True, clinic__isnull=False),
                name="slot_source_one_listing",
            ),
            models.CheckConstraint(
                condition=~models.Q(url="", upload=""), name="slot_source_url_or_file"
            ),
        ]

    def __str__(self) -> str:
        return _("Free times of %(listing)s") % {"listing": self.listing}

    @property
    def listing(self):
        return self.specialist or self.clinic

    def candidate_locations(self):
        """Our locations its feed's places may be: the clinic's, or the specialist's places of
        work."""
        from directory.models import Location

        if self.clinic_id:
            return Location.objects.filter(clinic_id=self.clinic_id)
        return Location.objects.filter(affiliations__specialist_id=self.specialist_id).distinct()


class FeedLocation(models.Model):
    """A place named in a source's feed (FHIR Location), and which of ours it is: matched by
    postcode and street when they agree, else chosen by an editor. Slots at a place that is
    not matched are left out."""

    source = models.ForeignKey(SlotSource, on_delete=models.CASCADE, related_name="feed_locations")
    external_id = models.CharField(_("ID in the feed"), max_length=200)
    description = models.CharField(_("in the feed"), max_length=500, blank=True)
    location = models.ForeignKey(
        "directory.Location",
        verbose_name=_("our location"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("place in the feed")
        verbose_name_plural = _("places in the feed")
        ordering = ["external_id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="feed_location_unique")
        ]

    def __str__(self) -> str:
        return self.description or self.external_id


class FeedSchedule(models.Model):
    """A schedule named in a source's feed (FHIR Schedule), and whose it is: for a specialist's
    source, the specialist's place of work at the schedule's place; for a clinic's, the place
    of work an editor chose, or, when none, the clinic's own (its slots show on the clinic's
    page but no specialist's card)."""

    source = models.ForeignKey(SlotSource, on_delete=models.CASCADE, related_name="feed_schedules")
    external_id = models.CharField(_("ID in the feed"), max_length=200)
    description = models.CharField(_("in the feed"), max_length=500, blank=True)
    feed_location = models.ForeignKey(
        FeedLocation,
        verbose_name=_("place in the feed"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="schedules",
    )
    affiliation = models.ForeignKey(
        "directory.Affiliation",
        verbose_name=_("place of work"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The specialist whose times these are. Empty: the clinic's own times."),
    )

    class Meta:
        verbose_name = _("schedule in the feed")
        verbose_name_plural = _("schedules in the feed")
        ordering = ["external_id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="feed_schedule_unique")
        ]

    def __str__(self) -> str:
        return self.description or self.external_id


class SlotQuerySet(models.QuerySet):
    def bookable(self, now=None):
        """Free slots that begin after `now` and no booking holds or has taken."""
        now = now or timezone.now()
        return self.filter(start__gt=now, booked=False).filter(
            models.Q(held_until__isnull=True) | models.Q(held_until__lte=now)
        )


class Slot(models.Model):
    """A free appointment time of a clinic at one of its locations, of one specialist there
    when `affiliation` is set. From a feed (`source` and `external_id`) or from a weekly
    template of this site (`template`).

    `held_until` and `booked` are the bookings' marks: while `held_until` lies in the future a
    booking holds the slot (the minutes until its email link is used); `booked`, one has taken
    it. The appointments app sets them under the slot's row lock; the search reads them
    without knowing the bookings."""

    source = models.ForeignKey(
        SlotSource,
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="slots",
    )
    external_id = models.CharField(_("ID in the feed"), max_length=200, blank=True)
    clinic = models.ForeignKey(
        "directory.Clinic", verbose_name=_("clinic"), on_delete=models.CASCADE, related_name="+"
    )
    location = models.ForeignKey(
        "directory.Location",
        verbose_name=_("location"),
        on_delete=models.CASCADE,
        related_name="slots",
    )
    affiliation = models.ForeignKey(
        "directory.Affiliation",
        verbose_name=_("place of work"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="slots",
    )
    span = DateTimeRangeField(_("time"))
    # The span's beginning, kept beside it for the b-tree indexes of "next free".
    start = models.DateTimeField(_("begins"), editable=False)
    booking_url = models.URLField(
        _("booking link"),
        max_length=500,
        blank=True,
        help_text=_("The practice's own booking page for this slot (booking-deep-link)."),
    )
    booking_phone = models.CharField(_("booking phone"), max_length=40, blank=True)
    held_until = models.DateTimeField(_("held until"), null=True, blank=True)
    booked = models.BooleanField(_("booked"), default=False)

    objects = SlotQuerySet.as_manager()

    class Meta:
        verbose_name = _("free slot")
        verbose_name_plural = _("free slots")
        ordering = ["start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=models.Q(source__isnull=False),
                name="slot_unique_in_feed",
            ),
            models.CheckConstraint(
                condition=models.Q(span__startswith=models.F("start")),
                name="slot_start_is_span_start",
            ),
        ]
        indexes = [
            # Next free time of a specialist (search rows) and the profile's list of times.
            models.Index(fields=["affiliation", "start"], name="slot_affiliation_start_idx"),
            # The clinic page's next free times.
            models.Index(fields=["clinic", "start"], name="slot_clinic_start_idx"),
            # Times of a place that overlap a period (the week view, a template's exceptions).
            GistIndex(fields=["location", "span"], name="slot_location_span_gist"),
        ]

    def __str__(self) -> str:
        return timezone.localtime(self.start).strftime("%Y-%m-%d %H:%M")

    def save(self, *args, **kwargs):
        if isinstance(self.span, (tuple, list)):
            self.span = DateTimeTZRange(*self.span)
        self.start = self.span.lower
        super().save(*args, **kwargs)

    @property
    def end(self):
        return self.span.upper
