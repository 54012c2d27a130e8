"""Free appointment times (FHIR Slot): read from the practices' own systems as SMART Scheduling
Links feeds (SlotSource, directory.slots.feeds and .sync), or generated on this site from weekly
templates. Public data: a slot says when a practice has time, never who took it (that is health
data and lives with the bookings, in the appointments app).

Part of the directory app (imported by directory.models), because the search row of every
specialist carries its next free time.
"""

from datetime import date

from django.contrib.postgres.fields import DateTimeRangeField
from django.contrib.postgres.indexes import GistIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SlotSourceQuerySet(models.QuerySet):
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
    def public(self):
        """Slots of published clinics and, when a specialist's, of published specialists."""
        published = "published"  # directory.models.Status.PUBLISHED (imported by it)
        return self.filter(clinic__status=published).filter(
            models.Q(affiliation__isnull=True) | models.Q(affiliation__specialist__status=published)
        )

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
    template = models.ForeignKey(
        "directory.WeeklyTemplate",
        verbose_name=_("weekly times"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="slots",
    )
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
            # A slot comes from a feed or from weekly times on this site, never both or neither.
            models.CheckConstraint(
                condition=models.Q(source__isnull=False, template__isnull=True)
                | models.Q(source__isnull=True, template__isnull=False),
                name="slot_from_feed_or_weekly_times",
            ),
            # A template makes one slot per time: regenerating finds it again (and keeps its ID).
            models.UniqueConstraint(
                fields=["template", "span"],
                condition=models.Q(template__isnull=False),
                name="slot_unique_in_weekly_times",
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
        self.start = self.span.lower
        super().save(*args, **kwargs)

    @property
    def end(self):
        return self.span.upper

    def is_free(self, now=None) -> bool:
        """No booking has taken it or holds it at `now` (SlotQuerySet.bookable, for one)."""
        now = now or timezone.now()
        return not self.booked and (self.held_until is None or self.held_until <= now)


class WeeklyTemplate(models.Model):
    """The weekly times of one place, entered on this site for a practice whose software
    publishes no feed: a specialist's place of work (`affiliation`), or a clinic's own times at
    one of its locations (no affiliation). Its rows (WeeklyTime) say when, its exceptions
    (SlotException) when not; directory.slots.weekly makes the slots from them for the next
    SLOT_WEEKS_AHEAD weeks.

    `link_version` is the version of the practice's links to edit these times (appointments,
    weekly_link): moving it on revokes every link sent so far."""

    affiliation = models.OneToOneField(
        "directory.Affiliation",
        verbose_name=_("place of work"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="weekly_template",
        help_text=_("The specialist whose times these are. Empty: the clinic's own times."),
    )
    location = models.ForeignKey(
        "directory.Location",
        verbose_name=_("location"),
        on_delete=models.CASCADE,
        related_name="weekly_templates",
        help_text=_("Where the appointments take place; for a place of work, its location."),
    )
    link_version = models.PositiveIntegerField(default=1, editable=False)
    modified = models.DateTimeField(_("modified"), default=timezone.now, editable=False)
    generated_at = models.DateTimeField(_("slots made"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("weekly times")
        verbose_name_plural = _("weekly times")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["location"],
                condition=models.Q(affiliation__isnull=True),
                name="weekly_template_one_per_clinic_location",
            ),
        ]

    def __str__(self) -> str:
        if self.affiliation_id:
            return _("Weekly times of %(place)s") % {"place": self.affiliation}
        return _("Weekly times of %(clinic)s, %(location)s") % {
            "clinic": self.location.clinic,
            "location": self.location,
        }

    def save(self, *args, **kwargs):
        if self.affiliation_id:
            self.location_id = self.affiliation.location_id
        self.modified = timezone.now()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "location", "modified"}
        super().save(*args, **kwargs)

    def clean(self):
        from django.core.exceptions import ValidationError

        if (
            self.affiliation_id
            and self.location_id
            and (self.affiliation.location_id != self.location_id)
        ):
            raise ValidationError(
                {"location": _("A place of work's times are at the place of work's location.")}
            )

    @property
    def specialist(self):
        return self.affiliation.specialist if self.affiliation_id else None

    @property
    def listing(self):
        """The specialist, or for a clinic's own times the clinic."""
        return self.affiliation.specialist if self.affiliation_id else self.location.clinic


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


SLOT_MINUTES_MIN, SLOT_MINUTES_MAX = 5, 240


class WeeklyTime(models.Model):
    """One row of weekly times: "Tuesday 09:00-12:00, 20 minutes each", from `valid_from` until
    `valid_until` (both optional, both days included). Wall-clock times of the location's
    country: 09:00 stays 09:00 when the clocks change. Minutes left over at the end (09:00-12:00
    in 25-minute slots) stay free. Rows of one template may not overlap (checked by the
    forms, directory.slots.forms)."""

    template = models.ForeignKey(WeeklyTemplate, on_delete=models.CASCADE, related_name="times")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"))
    minutes = models.PositiveSmallIntegerField(
        _("minutes per slot"),
        default=20,
        validators=[
            MinValueValidator(SLOT_MINUTES_MIN),
            MaxValueValidator(SLOT_MINUTES_MAX),
        ],
        help_text=_("Between 5 and 240. Minutes left over at the end stay free."),
    )
    valid_from = models.DateField(
        _("valid from"), null=True, blank=True, help_text=_("Empty: from now on.")
    )
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Empty: until changed.")
    )

    class Meta:
        verbose_name = _("weekly time")
        verbose_name_plural = _("weekly times")
        ordering = ["weekday", "starts", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends__gt=models.F("starts")),
                name="weekly_time_ends_after_start",
                violation_error_message=_("The end must come after the start."),
            ),
            models.CheckConstraint(
                condition=models.Q(minutes__gte=SLOT_MINUTES_MIN, minutes__lte=SLOT_MINUTES_MAX),
                name="weekly_time_minutes_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_from__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="weekly_time_valid_until_not_before_from",
                violation_error_message=_("“Valid until” cannot come before “valid from”."),
            ),
        ]

    def __str__(self) -> str:
        return _("%(day)s %(starts)s–%(ends)s, %(minutes)d min") % {
            "day": self.get_weekday_display(),
            "starts": self.starts.strftime("%H:%M"),
            "ends": self.ends.strftime("%H:%M"),
            "minutes": self.minutes,
        }

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.starts is None or self.ends is None or self.minutes is None:
            return
        length = _minutes(self.ends) - _minutes(self.starts)
        if length <= 0:
            raise ValidationError({"ends": _("The end must come after the start.")})
        if self.minutes > length:
            raise ValidationError(
                {
                    "minutes": _(
                        "A slot of %(minutes)d minutes does not fit into %(length)d minutes."
                    )
                    % {"minutes": self.minutes, "length": length}
                }
            )

    def overlaps(self, other: "WeeklyTime") -> bool:
        """Both rows give slots on the same weekday at the same time on some day."""
        if self.weekday != other.weekday:
            return False
        if not (self.starts < other.ends and other.starts < self.ends):
            return False
        first = max(self.valid_from or date.min, other.valid_from or date.min)
        last = min(self.valid_until or date.max, other.valid_until or date.max)
        return first <= last


def _minutes(value) -> int:
    return value.hour * 60 + value.minute


class SlotException(models.Model):
    """Days on which a template gives no slots (a holiday, a vacation, a congress), besides the
    location's closures and, where it closes on them, its public holidays."""

    template = models.ForeignKey(
        WeeklyTemplate, on_delete=models.CASCADE, related_name="exceptions"
    )
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("day without slots")
        verbose_name_plural = _("days without slots")
        ordering = ["first_day", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_day__gte=models.F("first_day")),
                name="slot_exception_last_day_not_before_first",
                violation_error_message=_("The last day cannot come before the first."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_day} – {self.last_day}"
