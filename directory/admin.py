"""Django admin for editors: listings, taxonomy and the gazetteer, with CSV import and export."""

import base64
import binascii
import io
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy
from modeltranslation.admin import (
    TranslationAdmin,
    TranslationStackedInline,
)

from core import languages
from core.admin import GuardedLookups, LoggedChanges, RevisionAdmin
from directory import merging
from directory.csv_format import (
    CsvFormatError,
    export_specialists,
    import_specialists,
    read_rows,
)
from directory.models import (
    Affiliation,
    Certification,
    Clinic,
    Closure,
    Condition,
    FactReport,
    FactSource,
    Insurance,
    Location,
    LocationFeature,
    Place,
    SlotException,
    SlotSource,
    Specialist,
    SpecialistCondition,
    Specialty,
    Status,
    WeeklyTemplate,
    WeeklyTime,
    fact_cutoff,
    in_force,
    language_choices,
)
from directory.search import index
from directory.slots import weekly
from directory.slots.forms import SlotExceptionFormSet, WeeklyTimeFormSet
from directory.spreadsheets import XLSX_CONTENT_TYPE

# The confirmation step posts the file back base64-encoded (a third larger), which must stay
# under Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB). Larger files: `manage.py import_directory`.
MAX_CSV_BYTES = 1800 * 1024
# The largest workbook the admin writes (at about 4,000 rows a second); larger: the command.
MAX_ADMIN_XLSX_ROWS = 50_000
# An import runs inside the request: this many rows take a few seconds, far within the web
# server's time-out. Larger files: `manage.py import_directory`, which has no time limit.
MAX_ADMIN_IMPORT_ROWS = 500


class NotVerifiedFilter(admin.SimpleListFilter):
    """Quality flag: listings nobody has checked within the last 12 months."""

    title = _("verification")
    parameter_name = "verification"

    def lookups(self, request, model_admin):
        return [("stale", _("Not verified for 12 months")), ("current", _("Verified recently"))]

    def queryset(self, request, queryset):
        stale = queryset.unverified()
        if self.value() == "stale":
            return stale
        if self.value() == "current":
            return queryset.exclude(pk__in=stale.values("pk"))
        return queryset


# Facts about to reach FACT_MAX_AGE_DAYS within this many days are listed on the dashboard.
EXPIRING_WITHIN = timedelta(days=30)


def expiring_window() -> tuple:
    """The confirmation days of the facts that stop counting within EXPIRING_WITHIN."""
    cutoff = fact_cutoff()
    return cutoff, cutoff + EXPIRING_WITHIN


def specialists_with_expiring_facts(queryset, *, lapsed: bool = False):
    """Specialists with a fact a filter uses that stops counting within EXPIRING_WITHIN (or,
    `lapsed`, that no longer counts): their languages, insurance or new patients, the services
    of a place of work, or its location's hours or a feature it has."""
    first, last = expiring_window()
    window = {"lt": first} if lapsed else {"gte": first, "lt": last}

    def dated(path: str) -> Q:
        return Q(**{f"{path}__{op}": day for op, day in window.items()})

    facts = (
        (dated("languages_confirmed_on") & ~Q(languages=[]))
        | (dated("insurance_confirmed_on") & ~Q(insurance=[]))
        | dated("new_patients_confirmed_on")
    )
    places = Affiliation.objects.filter(clinic__status=Status.PUBLISHED).filter(
        (dated("services_confirmed_on") & (Q(video_consultation=True) | Q(home_visits=True)))
        | (dated("location__hours_confirmed_on") & ~Q(location__hours=""))
        | (dated("location__features__confirmed_on") & Q(location__features__present=True))
    )
    return queryset.filter(facts | Q(pk__in=places.values("specialist_id")))


class ExpiringFactsFilter(admin.SimpleListFilter):
    """Specialists whose facts stop counting for the filters soon, to confirm them in time, or
    already have."""

    title = _("facts")
    parameter_name = "facts"

    def lookups(self, request, model_admin):
        return [
            ("expiring", _("A fact stops counting within 30 days")),
            ("lapsed", _("A fact no longer counts")),
        ]

    def queryset(self, request, queryset):
        if self.value() in ("expiring", "lapsed"):
            return specialists_with_expiring_facts(queryset, lapsed=self.value() == "lapsed")
        return queryset


def certifications_to_check(queryset):
    """Certifications that run out, or stop counting unconfirmed, within EXPIRING_WITHIN."""
    first, last = expiring_window()
    today = timezone.localdate()
    return queryset.filter(
        Q(valid_until__gte=today, valid_until__lt=today + EXPIRING_WITHIN)
        | (in_force() & Q(confirmed_on__gte=first, confirmed_on__lt=last))
    )


class CertificationStateFilter(admin.SimpleListFilter):
    title = _("validity")
    parameter_name = "validity"

    def lookups(self, request, model_admin):
        return [
            ("expiring", _("Runs out or needs confirming within 30 days")),
            ("expired", _("Expired")),
            ("unconfirmed", _("Not confirmed recently")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "expiring":
            return certifications_to_check(queryset)
        if self.value() == "expired":
            return queryset.exclude(in_force())
        if self.value() == "unconfirmed":  # not yet expired: that shows as expired
            return queryset.filter(in_force(), confirmed_on__lt=fact_cutoff())
        return queryset


# A fact an editor changes is confirmed that day, by an editor's call, unless the editor set
# its date or source in the same form: the fields of a fact -> its date and source, per model.
_CERTIFICATION = ("confirmed_on", "source")
FACT_DATES = {
    Specialist: {
        "languages": ("languages_confirmed_on", "languages_source"),
        "insurance": ("insurance_confirmed_on", "insurance_source"),
        "accepts_new_patients": ("new_patients_confirmed_on", "new_patients_source"),
    },
    Location: {"hours": ("hours_confirmed_on", "hours_source")},
    Affiliation: {
        "video_consultation": ("services_confirmed_on", "services_source"),
        "home_visits": ("services_confirmed_on", "services_source"),
    },
    LocationFeature: {"present": ("confirmed_on", "source"), "feature": ("confirmed_on", "source")},
    Certification: dict.fromkeys(
        (*languages.columns("title"), "issuer", "conditions", "valid_until", "register_url"),
        _CERTIFICATION,
    ),
}


def confirm_changed_facts(form) -> None:
    facts = FACT_DATES.get(type(form.instance), {})
    for fact, (day, source) in facts.items():
        if fact not in form.changed_data or day not in form.fields:
            continue
        if day not in form.changed_data and source not in form.changed_data:
            setattr(form.instance, day, timezone.localdate())
            setattr(form.instance, source, FactSource.EDITOR)


class StatusActions(LoggedChanges):
    """Admin actions that publish entries or return them to draft. Mixed into ModelAdmins."""

    @admin.action(description=_("Publish selected entries"), permissions=["change"])
    def publish(self, request, queryset):
        self._set(request, queryset, "Published", status=Status.PUBLISHED)

    @admin.action(description=_("Return selected entries to draft"), permissions=["change"])
    def unpublish(self, request, queryset):
        self._set(request, queryset, "Returned to draft", status=Status.DRAFT)


class PublishableAdmin(GuardedLookups, StatusActions, TranslationAdmin):
    """Shared by specialists and clinics: status actions and the verification flag."""

    actions = ["publish", "unpublish", "archive", "mark_verified"]

    def save_model(self, request, obj, form, change):
        obj.changed_by = request.user  # e.g. where a changed address for requests came from
        confirm_changed_facts(form)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        for inline_form in formset.forms:
            confirm_changed_facts(inline_form)
        super().save_formset(request, form, formset, change)

    @admin.action(description=_("Archive selected entries"), permissions=["change"])
    def archive(self, request, queryset):
        self._set(request, queryset, "Archived", status=Status.ARCHIVED)

    @admin.action(description=_("Mark selected entries as verified today"), permissions=["change"])
    def mark_verified(self, request, queryset):
        self._set(request, queryset, "Verified", last_verified=timezone.localdate())


class MergeAdmin:
    """For medical fields and conditions: an entry waiting for review (an import created it)
    has a button "Merge into “…”" in the list, for the approved entry most like its name; one
    click makes it a synonym of that one (directory/merging.py)."""

    def get_urls(self):
        view = self.admin_site.admin_view(self.merge_view)
        name = f"{self.model._meta.app_label}_{self.model._meta.model_name}_merge"
        return [
            path("<int:object_id>/merge/<int:target_id>/", view, name=name),
            *super().get_urls(),
        ]

    def get_changelist_instance(self, request):
        """The list, each entry waiting for review with its suggestion (`merge_target`),
        compared against the known names read once for the whole page."""
        changelist = super().get_changelist_instance(request)
        waiting = [entry for entry in changelist.result_list if entry.needs_review]
        if waiting:
            names = merging.known_names(self.model)
            for entry in waiting:
                entry.merge_target = merging.suggestion(entry, names)
        return changelist

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        if not self.has_delete_permission(request) and "merge_button" in shown:
            shown.remove("merge_button")  # merging deletes the entry merged
        return shown

    @admin.display(description=_("merge"))
    def merge_button(self, obj) -> str:
        if not obj.needs_review:
            return ""
        target = getattr(obj, "merge_target", None)
        if target is None:
            return "–"
        name = f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_merge"
        return format_html(
            '<button type="submit" class="button" formmethod="post" formaction="{}">{}</button>',
            reverse(name, args=[obj.pk, target.pk]),
            _("Merge into “%(name)s”") % {"name": target},
        )

    def merge_view(self, request, object_id: int, target_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        entry = self.model.objects.filter(pk=object_id).first()
        target = self.model.objects.filter(pk=target_id).first()
        if entry is None or target is None:
            raise Http404
        if not (
            self.has_change_permission(request, target)
            and self.has_delete_permission(request, entry)
        ):
            raise PermissionDenied
        changelist = reverse(
            f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_changelist"
        )
        try:
            moved = merging.merge(entry, target)
        except merging.MergeError as error:
            self.message_user(request, str(error), messages.ERROR)
            return redirect(changelist)
        self.log_change(request, target, f"Merged {entry} (no. {entry.pk}) into it.")
        self.message_user(
            request,
            ngettext(
                "“%(entry)s” is now a synonym of “%(target)s”; %(count)d specialist moved over.",
                "“%(entry)s” is now a synonym of “%(target)s”; %(count)d specialists moved over.",
                moved,
            )
            % {"entry": entry, "target": target, "count": moved},
            messages.SUCCESS,
        )
        return redirect(f"{changelist}?needs_review__exact=1")


@admin.register(Specialty)
class SpecialtyAdmin(MergeAdmin, GuardedLookups, TranslationAdmin):
    list_display = [
        *languages.columns("name"),
        "parent",
        "snomed_code",
        "needs_review",
        "merge_button",
    ]
    list_filter = ["needs_review", ("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = [*languages.columns("name", "synonyms"), "slug", "snomed_code"]
    autocomplete_fields = ["parent"]
    fields = [
        languages.side_by_side("name"),
        languages.side_by_side("synonyms"),
        "slug",
        "parent",
        "snomed_code",
        "needs_review",
    ]
    prepopulated_fields = {"slug": ["name_en"]}


@admin.register(Condition)
class ConditionAdmin(MergeAdmin, GuardedLookups, TranslationAdmin):
    list_display = [*languages.columns("name"), "kind", "icd10", "needs_review", "merge_button"]
    list_filter = ["kind", "needs_review", "specialties"]
    search_fields = [*languages.columns("name", "synonyms"), "slug", "icd10"]
    autocomplete_fields = ["specialties"]
    fields = [
        languages.side_by_side("name"),
        languages.side_by_side("synonyms"),
        "slug",
        "kind",
        "icd10",
        languages.side_by_side("documents"),
        "specialties",
        "needs_review",
    ]
    prepopulated_fields = {"slug": ["name_en"]}


@admin.register(Place)
class PlaceAdmin(GuardedLookups, admin.ModelAdmin):
    list_display = ["name_de", "name_en", "name_fr", "name_it", "country", "population"]
    list_filter = ["country"]
    search_fields = [*languages.columns("name"), "slug", "alternate_names"]
    readonly_fields = ["geonames_id", "latitude", "longitude", "population"]
    fields = [
        languages.side_by_side("name"),
        "alternate_names",
        "slug",
        "country",
        *readonly_fields,
    ]


class LocationInline(TranslationStackedInline):
    model = Location
    extra = 0
    autocomplete_fields = ["place"]
    fields = [
        "name",
        "street",
        ("postcode", "city"),
        ("region", "country"),
        ("latitude", "longitude"),
        "place",
        "phone",
        "hours",
        ("hours_source", "hours_confirmed_on"),
        "closed_on_public_holidays",
        languages.side_by_side("opening_hours"),
        languages.side_by_side("accessibility_note"),
    ]


class CertificationInline(TranslationStackedInline):
    model = Certification
    extra = 0
    autocomplete_fields = ["conditions"]
    fields = [
        languages.side_by_side("title"),
        "issuer",
        "conditions",
        "valid_until",
        "register_url",
        "source",
        "confirmed_on",
    ]


@admin.register(Certification)
class CertificationAdmin(GuardedLookups, TranslationAdmin):
    """Certifications are edited with their clinic; this list is for checking them in time."""

    list_display = ["title", "clinic", "issuer", "valid_until", "confirmed_on", "source"]
    list_filter = [CertificationStateFilter, "source"]
    search_fields = ["title", "issuer", "clinic__name"]
    list_select_related = ["clinic"]
    autocomplete_fields = ["clinic", "conditions"]

    def save_model(self, request, obj, form, change):
        confirm_changed_facts(form)
        super().save_model(request, obj, form, change)

    fields = [
        "clinic",
        languages.side_by_side("title"),
        "issuer",
        "conditions",
        "valid_until",
        "register_url",
        "source",
        "confirmed_on",
    ]


@admin.register(FactReport)
class FactReportAdmin(GuardedLookups, admin.ModelAdmin):
    """The editors' queue of facts visitors reported as wrong. Editors correct the listing,
    then mark the report corrected or dismissed; they cannot create or rewrite reports."""

    list_display = ["received", "listing_link", "fact", "state", "handled_on"]
    list_filter = ["state", "fact"]
    list_select_related = ["specialist", "clinic"]
    search_fields = ["specialist__family_name", "clinic__name"]
    fields = ["listing_link", "fact", "message", "email", "received", "state", "handled_on"]
    readonly_fields = ["listing_link", "fact", "message", "email", "received", "handled_on"]
    date_hierarchy = "received"

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description=pgettext_lazy("a reported error", "about"))
    def listing_link(self, report: FactReport):
        listing = report.listing
        if listing is None:
            return "–"
        opts = listing._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[listing.pk])
        return format_html('<a href="{}">{}</a>', url, listing)


def image_preview(renditions: list[dict], alt: str):
    """The picture as the public pages show it (the 160 pixel rendition), or a note."""
    if not renditions:
        return _("No picture uploaded yet.")
    return format_html(
        '<img src="{}" width="{}" alt="{}">', renditions[0]["url"], renditions[0]["width"], alt
    )


class ClinicAdminForm(forms.ModelForm):
    international_languages = forms.MultipleChoiceField(
        label=_("languages of the international office"),
        choices=language_choices,
        widget=FilteredSelectMultiple(_("languages"), is_stacked=False),
        required=False,
    )
    international_services = forms.MultipleChoiceField(
        label=_("services of the international office"),
        choices=Clinic.InternationalService.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Clinic
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose the fields


@admin.register(Clinic)
class ClinicAdmin(RevisionAdmin, PublishableAdmin):
    revisable_fields = languages.columns("description")
    form = ClinicAdminForm
    list_display = ["name", "kind", "status", "last_verified", "needs_review", "modified"]
    list_filter = ["status", NotVerifiedFilter, "kind", "needs_review", "locations__country"]
    search_fields = ["name", "slug", "locations__city"]
    autocomplete_fields = ["parent"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [LocationInline, CertificationInline]
    readonly_fields = ["logo_preview"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "kind", "parent", "status", "last_verified"]}),
        (_("Description"), {"fields": [languages.side_by_side("description")]}),
        (_("Contact"), {"fields": ["website", "phone", "email", "correspondence_language"]}),
        (
            _("International office"),
            {
                "fields": [
                    "international_contact",
                    ("international_email", "international_phone"),
                    "international_languages",
                    "international_services",
                ]
            },
        ),
        (_("Logo"), {"fields": [("logo", "logo_preview"), "needs_review"]}),
    ]

    def save_related(self, request, form, formsets, change):
        # Each location and certification saved would rewrite the same search rows: once.
        with index.deferred():
            super().save_related(request, form, formsets, change)

    @admin.display(description=_("preview"))
    def logo_preview(self, clinic: Clinic):
        return image_preview(clinic.logo_renditions, _("Logo of %(name)s") % {"name": clinic.name})


class LocationFeatureInline(admin.TabularInline):
    model = LocationFeature
    extra = 1
    fields = ["feature", "present", "source", "confirmed_on"]


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 1
    fields = ["first_day", "last_day", "kind", "note"]


@admin.register(Location)
class LocationAdmin(GuardedLookups, TranslationAdmin):
    """Locations are edited inside their clinic, their closures here; this list also serves
    search and autocomplete."""

    fields = ["clinic", *LocationInline.fields]
    inlines = [LocationFeatureInline, ClosureInline]

    def save_model(self, request, obj, form, change):
        confirm_changed_facts(form)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        for inline_form in formset.forms:
            confirm_changed_facts(inline_form)
        super().save_formset(request, form, formset, change)

    def save_related(self, request, form, formsets, change):
        # Each closure and fact saved would rewrite the same search rows: once at the end.
        with index.deferred():
            super().save_related(request, form, formsets, change)
        # Closures and public holidays take slots of the weekly times away (or give them back).
        weekly.regenerate_location(form.instance.pk)

    list_display = ["__str__", "clinic", "country"]
    list_filter = ["country"]
    search_fields = ["street", "postcode", "city", "clinic__name"]
    list_select_related = ["clinic"]
    autocomplete_fields = ["clinic", "place"]


class SpecialistConditionInline(admin.TabularInline):
    model = SpecialistCondition
    extra = 0
    autocomplete_fields = ["condition"]
    fields = ["position", "condition"]
    verbose_name = _("treatment focus item")
    verbose_name_plural = _("treatment focus, in order")


class AffiliationInline(admin.TabularInline):
    model = Affiliation
    extra = 0
    autocomplete_fields = ["clinic", "location"]
    fields = [
        "clinic",
        "location",
        "role_title",
        "is_primary",
        "video_consultation",
        "home_visits",
        "services_source",
        "services_confirmed_on",
        "weekly_times_link",
    ]
    readonly_fields = ["weekly_times_link"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("weekly_template")

    @admin.display(description=_("weekly times"))
    def weekly_times_link(self, affiliation: Affiliation):
        if affiliation.pk is None:
            return "–"
        template = getattr(affiliation, "weekly_template", None)
        if template is not None:
            url = reverse("admin:directory_weeklytemplate_change", args=[template.pk])
            return format_html('<a href="{}">{}</a>', url, _("Change"))
        url = reverse("admin:directory_weeklytemplate_add")
        return format_html('<a href="{}?affiliation={}">{}</a>', url, affiliation.pk, _("Add"))


@admin.register(Affiliation)
class AffiliationAdmin(GuardedLookups, admin.ModelAdmin):
    """Places of work are edited with their specialist; this admin only serves the weekly
    times' search for one (autocomplete) and is not listed on the admin's index."""

    search_fields = ["specialist__family_name", "specialist__given_name", "clinic__name"]
    list_select_related = ["specialist", "clinic"]

    def get_model_perms(self, request):
        return {}  # not on the index

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class WeeklyTimeInline(admin.TabularInline):
    model = WeeklyTime
    formset = WeeklyTimeFormSet
    extra = 1
    fields = ["weekday", "starts", "ends", "minutes", "valid_from", "valid_until"]


class SlotExceptionInline(admin.TabularInline):
    model = SlotException
    formset = SlotExceptionFormSet
    extra = 1
    fields = ["first_day", "last_day", "note"]


class WeeklyTemplateAdminForm(forms.ModelForm):
    class Meta:
        model = WeeklyTemplate
        fields = ["affiliation", "location"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].required = False

    def clean(self):
        cleaned = super().clean()
        affiliation, location = cleaned.get("affiliation"), cleaned.get("location")
        if affiliation is not None:
            cleaned["location"] = self.instance.location = affiliation.location
        elif location is None:
            self.add_error(
                "location", _("Choose a place of work, or for the clinic's own times a location.")
            )
        return cleaned


@admin.register(WeeklyTemplate)
class WeeklyTemplateAdmin(GuardedLookups, admin.ModelAdmin):
    """Weekly times of a place of work (or a clinic's own, at a location) for practices whose
    software publishes no feed: rows of times and the days without slots. Saving makes the
    slots for the next SLOT_WEEKS_AHEAD weeks at once (directory.slots.weekly). The
    appointments app adds the actions that mail the practice its link to these times."""

    form = WeeklyTemplateAdminForm
    inlines = [WeeklyTimeInline, SlotExceptionInline]
    list_display = ["__str__", "location", "generated_at"]
    list_select_related = ["affiliation__specialist", "affiliation__clinic", "location__clinic"]
    search_fields = [
        "affiliation__specialist__family_name",
        "affiliation__specialist__given_name",
        "location__clinic__name",
        "location__city",
    ]
    autocomplete_fields = ["affiliation", "location"]
    readonly_fields = ["slots_summary"]
    actions: list = []

    def get_fields(self, request, obj=None):
        fields = ["affiliation", "location"]
        return [*fields, "slots_summary"] if obj is not None else fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.base_fields["affiliation"].help_text = _(
            "The specialist whose times these are. Empty: the clinic's own times."
        )
        form.base_fields["location"].help_text = _(
            "For the clinic's own times: where. For a place of work it is the place's own."
        )
        return form

    @admin.display(description=_("free slots"))
    def slots_summary(self, template: WeeklyTemplate):
        upcoming = template.slots.bookable().order_by("start")
        first = upcoming.first()
        if first is None:
            return _("None in the next %(weeks)d weeks.") % {"weeks": settings.SLOT_WEEKS_AHEAD}
        return _("%(count)d in the next %(weeks)d weeks; the next: %(first)s") % {
            "count": upcoming.count(),
            "weeks": settings.SLOT_WEEKS_AHEAD,
            "first": first,
        }

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        result = weekly.regenerate(form.instance.pk)
        self.message_user(
            request,
            _("Slots: %(added)d added, %(deleted)d removed, %(kept)d kept.")
            % {"added": result.added, "deleted": result.deleted, "kept": result.kept},
            messages.INFO,
        )


class SpecialistAdminForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        label=_("languages spoken"),
        choices=language_choices,
        widget=FilteredSelectMultiple(_("languages"), is_stacked=False),
        required=False,
    )
    insurance = forms.MultipleChoiceField(
        label=_("insurance accepted"),
        choices=Insurance.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Specialist
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose the fields


@admin.register(Specialist)
class SpecialistAdmin(RevisionAdmin, PublishableAdmin):
    revisable_fields = languages.columns("headline", "biography")
    form = SpecialistAdminForm
    list_display = ["family_name", "given_name", "honorific_prefix", "status", "last_verified"]
    list_display_links = ["family_name", "given_name"]
    list_filter = [
        "status",
        NotVerifiedFilter,
        ExpiringFactsFilter,
        "accepts_new_patients",
        "affiliations__location__country",
        "specialties",
    ]
    search_fields = ["family_name", "given_name", "slug", "email"]
    autocomplete_fields = ["specialties"]
    prepopulated_fields = {"slug": ["given_name", "family_name"]}
    inlines = [SpecialistConditionInline, AffiliationInline]
    readonly_fields = ["photo_preview"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "honorific_prefix",
                    ("given_name", "family_name"),
                    "slug",
                    languages.side_by_side("headline"),
                    ("photo", "photo_preview"),
                    ("status", "last_verified"),
                ]
            },
        ),
        (_("About"), {"fields": [languages.side_by_side("biography")]}),
        (
            _("For patients"),
            {
                "description": format_lazy(
                    _(
                        "Each fact the search filters use says where it comes from and when it "
                        "was last confirmed. After {days} days without confirmation it stops "
                        "counting for its filter and the site shows “not confirmed since”. A "
                        "fact you change here is confirmed today, by an editor's call."
                    ),
                    days=settings.FACT_MAX_AGE_DAYS,
                ),
                "fields": [
                    "specialties",
                    "languages",
                    ("languages_source", "languages_confirmed_on"),
                    "insurance",
                    ("insurance_source", "insurance_confirmed_on"),
                    "accepts_new_patients",
                    ("new_patients_source", "new_patients_confirmed_on"),
                ],
            },
        ),
        (_("Contact"), {"fields": ["phone", "email", "website", "correspondence_language"]}),
        (
            _("Memberships and certifications"),
            {
                "fields": [
                    languages.side_by_side("memberships"),
                    languages.side_by_side("certifications"),
                ]
            },
        ),
    ]
    change_list_template = "admin/directory/specialist/change_list.html"

    @admin.display(description=_("preview"))
    def photo_preview(self, specialist: Specialist):
        return image_preview(
            specialist.photo_renditions,
            _("Photo of %(name)s") % {"name": specialist.display_name},
        )

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="directory_specialist_import",
            ),
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="directory_specialist_export",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload -> dry-run preview of every row -> confirm. The confirmation posts the same
        file back (base64 in a hidden field), so nothing is kept on the server between steps."""
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import specialists from CSV or Excel"),
            "form": CsvUploadForm(),
        }
        if request.method == "POST":
            data, error = self._posted_file(request)
            confirm = "confirm" in request.POST
            if error:
                context["error"] = error
            else:
                try:
                    rows = len(read_rows(data))
                    if rows > MAX_ADMIN_IMPORT_ROWS:
                        raise CsvFormatError(
                            _(
                                "The file has %(rows)d rows; here, files of up to %(limit)d rows "
                                "are imported. Import larger files with the command "
                                "“manage.py import_directory FILE”, which has no time limit."
                            )
                            % {"rows": rows, "limit": MAX_ADMIN_IMPORT_ROWS}
                        )
                    create = bool(request.POST.get("create_taxonomy"))
                    context["create_taxonomy"] = create
                    report = import_specialists(
                        data, dry_run=not confirm, user=request.user, create_taxonomy=create
                    )
                except CsvFormatError as format_error:
                    context["error"] = str(format_error)
                else:
                    if report.applied:
                        self.message_user(
                            request,
                            _("Imported: %(created)d created, %(updated)d updated.")
                            % {
                                "created": report.count("create"),
                                "updated": report.count("update"),
                            },
                            messages.SUCCESS,
                        )
                        return redirect(reverse("admin:directory_specialist_changelist"))
                    context["report"] = report
                    context["encoded"] = base64.b64encode(data).decode("ascii")
        return TemplateResponse(request, "admin/directory/specialist/import.html", context)

    @staticmethod
    def _posted_file(request: HttpRequest) -> tuple[bytes, str]:
        if "encoded" in request.POST:
            try:
                return base64.b64decode(request.POST["encoded"], validate=True), ""
            except (binascii.Error, ValueError):
                return b"", _("The confirmed file was damaged. Please upload it again.")
        form = CsvUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return b"", " ".join(form.errors.get("file", [_("Please choose a CSV file.")]))
        upload = form.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            return b"", _(
                "The file is larger than 1.8 MB. Split it, or import it with "
                "manage.py import_directory."
            )
        return upload.read(), ""

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        filename = f"specialists-{timezone.localdate().isoformat()}"
        if request.GET.get("format") == "xlsx":
            count = Specialist.objects.exclude(status=Status.ARCHIVED).count()
            if count > MAX_ADMIN_XLSX_ROWS:
                # A workbook is written at a few thousand rows a second: more would outlast
                # the web server's time-out.
                self.message_user(
                    request,
                    _(
                        "%(count)d specialists are too many for a workbook made here (up to "
                        "%(limit)d). Export them with “manage.py export_directory FILE.xlsx”, or "
                        "as CSV."
                    )
                    % {"count": count, "limit": MAX_ADMIN_XLSX_ROWS},
                    messages.ERROR,
                )
                return redirect(reverse("admin:directory_specialist_changelist"))
            output = io.BytesIO()
            export_specialists(output, xlsx=True)
            response = HttpResponse(output.getvalue(), content_type=XLSX_CONTENT_TYPE)
            filename += ".xlsx"
        else:
            output = io.StringIO()
            export_specialists(output)
            response = HttpResponse(output.getvalue(), content_type="text/csv; charset=utf-8")
            filename += ".csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class CsvUploadForm(forms.Form):
    create_taxonomy = forms.BooleanField(
        required=False,
        label=_("Create medical fields and conditions the site does not know yet"),
        help_text=_(
            "They are flagged for review and hidden from the site until an editor approves them. "
            "Without this, an unknown name is an error that names the nearest known ones."
        ),
    )
    file = forms.FileField(
        label=_("CSV or Excel file"),
        help_text=_(
            "An Excel workbook (.xlsx, the first sheet) or a CSV file separated by commas, "
            "semicolons or tabs, in UTF-8, UTF-16 or Windows-1252, with the header row of the "
            "export. Nothing is changed until you confirm the preview."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )


def dashboard_entries() -> list:
    """The directory's entries of the editors' dashboard (core/dashboard.py)."""
    from core.dashboard import Entry

    published = {"status": Status.PUBLISHED}
    return [
        Entry(
            _("Published specialists not verified for 12 months"),
            "directory.view_specialist",
            lambda: Specialist.objects.filter(**published).unverified().count(),
            "admin:directory_specialist_changelist",
            "status__exact=published&verification=stale",
        ),
        Entry(
            _("Published clinics not verified for 12 months"),
            "directory.view_clinic",
            lambda: Clinic.objects.filter(**published).unverified().count(),
            "admin:directory_clinic_changelist",
            "status__exact=published&verification=stale",
        ),
        Entry(
            _("Sources of free appointment times that could not be read"),
            "directory.view_slotsource",
            lambda: SlotSource.objects.active().exclude(problem="").count(),
            "admin:directory_slotsource_changelist",
            "state=problem",
        ),
        Entry(
            _("Reported errors to check"),
            "directory.change_factreport",
            lambda: FactReport.objects.filter(state=FactReport.State.OPEN).count(),
            "admin:directory_factreport_changelist",
            "state__exact=open",
        ),
        Entry(
            _("Published specialists with a fact that stops counting within 30 days"),
            "directory.view_specialist",
            lambda: specialists_with_expiring_facts(Specialist.objects.filter(**published)).count(),
            "admin:directory_specialist_changelist",
            "status__exact=published&facts=expiring",
        ),
        Entry(
            _("Published specialists with a fact that no longer counts (not confirmed)"),
            "directory.view_specialist",
            lambda: specialists_with_expiring_facts(
                Specialist.objects.filter(**published), lapsed=True
            ).count(),
            "admin:directory_specialist_changelist",
            "status__exact=published&facts=lapsed",
        ),
        Entry(
            _("Certifications that run out or need confirming within 30 days"),
            "directory.view_certification",
            lambda: certifications_to_check(Certification.objects.all()).count(),
            "admin:directory_certification_changelist",
            "validity=expiring",
        ),
        Entry(
            _("Draft specialists"),
            "directory.view_specialist",
            lambda: Specialist.objects.filter(status=Status.DRAFT).count(),
            "admin:directory_specialist_changelist",
            "status__exact=draft",
        ),
        Entry(
            _("Clinics waiting for review (created by an import)"),
            "directory.view_clinic",
            lambda: Clinic.objects.filter(needs_review=True).count(),
            "admin:directory_clinic_changelist",
            "needs_review__exact=1",
        ),
        Entry(
            _("Medical fields waiting for approval"),
            "directory.view_specialty",
            lambda: Specialty.objects.filter(needs_review=True).count(),
            "admin:directory_specialty_changelist",
            "needs_review__exact=1",
        ),
        Entry(
            _("Conditions and treatments waiting for approval"),
            "directory.view_condition",
            lambda: Condition.objects.filter(needs_review=True).count(),
            "admin:directory_condition_changelist",
            "needs_review__exact=1",
        ),
    ]


# The sources of free appointment times have their own module.
from directory.slots import admin as slots_admin  # noqa: E402,F401
