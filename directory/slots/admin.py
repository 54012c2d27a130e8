"""Editors configure where a listing's free times come from and see how each reading went:
the source's address or file, its last good feed, its problems, and which of our places and
specialists its places and schedules are."""

from django import forms
from django.contrib import admin, messages
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import GuardedLookups
from directory.models import Affiliation, FeedLocation, FeedSchedule, SlotSource
from directory.slots import sync


class SlotSourceForm(forms.ModelForm):
    class Meta:
        model = SlotSource
        fields = ["clinic", "specialist", "url", "upload", "active"]

    url = forms.URLField(
        label=_("address of the manifest"),
        required=False,
        max_length=500,
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=SlotSource._meta.get_field("url").help_text,
    )

    def clean(self):
        data = super().clean()
        if bool(data.get("clinic")) == bool(data.get("specialist")):
            raise forms.ValidationError(_("Choose either a clinic or a specialist."))
        if not data.get("url") and not data.get("upload"):
            raise forms.ValidationError(_("Give the address of the manifest or upload a file."))
        if data.get("url") and data.get("upload"):
            raise forms.ValidationError(_("Give an address or a file, not both."))
        return data


class ProblemFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("problem", _("With a problem")), ("good", _("Read without a problem"))]

    def queryset(self, request, queryset):
        if self.value() == "problem":
            return queryset.exclude(problem="")
        if self.value() == "good":
            return queryset.filter(problem="")
        return queryset


class FeedLocationInline(admin.TabularInline):
    model = FeedLocation
    fields = ["external_id", "description", "location"]
    readonly_fields = ["external_id", "description"]
    extra = 0
    can_delete = False
    verbose_name_plural = _("Places in the feed: which of ours each is")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None:
            formset.form.base_fields["location"].queryset = obj.candidate_locations()
        return formset


class FeedScheduleInline(admin.TabularInline):
    model = FeedSchedule
    fields = ["external_id", "description", "feed_location", "affiliation"]
    readonly_fields = ["external_id", "description", "feed_location"]
    extra = 0
    can_delete = False
    verbose_name_plural = _("Schedules in the feed: whose times they are")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        # A specialist's schedules are the specialist's: nothing to choose.
        if obj is not None and obj.specialist_id:
            return [*self.readonly_fields, "affiliation"]
        return self.readonly_fields

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None and obj.clinic_id and "affiliation" in formset.form.base_fields:
            formset.form.base_fields["affiliation"].queryset = Affiliation.objects.filter(
                clinic_id=obj.clinic_id
            ).select_related("specialist", "clinic")
        return formset


@admin.register(SlotSource)
class SlotSourceAdmin(GuardedLookups, admin.ModelAdmin):
    """Saving a source reads it at once; the timer reads every source every few minutes."""

    form = SlotSourceForm
    list_display = ["__str__", "origin", "active", "checked_at", "synced_at", "slot_count", "ok"]
    list_filter = [ProblemFilter, "active"]
    list_select_related = ["clinic", "specialist"]
    search_fields = ["clinic__name", "specialist__family_name", "url"]
    autocomplete_fields = ["clinic", "specialist"]
    readonly_fields = [
        "checked_at",
        "synced_at",
        "slot_count",
        "problem",
        "problem_since",
        "skipped",
        "transaction_time",
    ]
    fieldsets = [
        (None, {"fields": ["clinic", "specialist", "url", "upload", "active"]}),
        (
            _("Last reading"),
            {
                "fields": [
                    "checked_at",
                    "synced_at",
                    "slot_count",
                    "problem",
                    "problem_since",
                    "skipped",
                    "transaction_time",
                ]
            },
        ),
    ]
    inlines = [FeedLocationInline, FeedScheduleInline]
    actions = ["read_now"]

    @admin.display(description=_("from"))
    def origin(self, source: SlotSource) -> str:
        return source.url or source.upload.name.rsplit("/", 1)[-1]

    @admin.display(description=_("without a problem"), boolean=True)
    def ok(self, source: SlotSource) -> bool:
        return not source.problem

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if form.instance.active:
            self._read(request, [form.instance])

    @admin.action(description=_("Read the selected sources now"), permissions=["change"])
    def read_now(self, request, queryset):
        self._read(request, list(queryset))

    def _read(self, request, sources) -> None:
        failed = 0
        for source in sources:
            if sync.sync(source, force=True).state == "failed":
                failed += 1
        if failed:
            self.message_user(
                request,
                ngettext(
                    "%(count)d source could not be used: its problem is shown on its page; "
                    "its slots stay as they were.",
                    "%(count)d sources could not be used: their problems are shown on their "
                    "pages; their slots stay as they were.",
                    failed,
                )
                % {"count": failed},
                messages.WARNING,
            )
        else:
            self.message_user(
                request,
                ngettext("%(count)d source read.", "%(count)d sources read.", len(sources))
                % {"count": len(sources)},
                messages.SUCCESS,
            )
