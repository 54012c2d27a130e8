import re
from functools import wraps

from django import forms
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from core import languages, revisions
from core.pagination import paginate
from directory import hours, seo
from directory.models import (
    Affiliation,
    Clinic,
    Location,
    Specialist,
    SpecialistCondition,
    Specialty,
    Status,
    certifications_shown,
    coming_closures,
)
from directory.search import keys
from directory.search import suggest as suggestions
from directory.search.clinics import ClinicList
from directory.search.filters import MAX_QUERY_LENGTH
from directory.search.lists import PAGE_SIZE, SpecialistList
from directory.slots import availability


def may_preview(request: HttpRequest, permission: str) -> bool:
    """Staff who may view an entry in admin see it on the site before it is published."""
    return request.user.is_staff and request.user.has_perm(permission)


def cached_public_page(view):
    """Serve anonymous visitors a page rendered earlier in this generation of the index (any
    change to a listing starts a new one). Signed-in users, e.g. staff previewing a draft,
    always get a fresh page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "GET" or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        # Pages hold absolute URLs (canonical, hreflang, structured data): one entry per host.
        origin = f"{request.scheme}://{request.get_host()}"
        key = keys.page(get_language(), f"{origin}{request.get_full_path()}{_variant(request)}")
        cached = cache.get(key)
        if cached is not None:
            content, content_type = cached
            return HttpResponse(content, content_type=content_type)
        stale = keys.served_stale.set(False)
        try:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()  # a TemplateResponse (the sitemaps)
            made_with_stale = keys.served_stale.get()
        finally:
            keys.served_stale.reset(stale)
        if response.status_code == 200:
            # A view may shorten this, e.g. until a scheduled article is due; a page made with
            # a stale result (counts being counted again: keys.fresh_or_stale) is kept a few
            # seconds only, so visitors soon get the new ones.
            longest = keys.cache_seconds()  # shorter when read from a replica
            if made_with_stale:
                longest = keys.STALE_PAGE_SECONDS
            timeout = min(getattr(response, "cache_seconds", longest), longest)
            if timeout >= 1:
                cache.set(key, (response.content, response["Content-Type"]), timeout)
        return response

    return wrapper


def _variant(request: HttpRequest) -> str:
    """What a cached page depends on beyond its URL: an "open now" list is that minute's list
    (its counts are that minute's too), so its page is cached per minute."""
    if request.GET.get("open_now"):
        return f"#open-now:{hours.moment(timezone.now()).key}"
    return ""


def _listing_or_404(request: HttpRequest, queryset, slug: str, permission: str):
    """A published listing; a draft only to staff who may preview it; archived ones never."""
    listing = get_object_or_404(queryset.exclude(status=Status.ARCHIVED), slug=slug)
    if not listing.is_published and not may_preview(request, permission):
        raise Http404
    return listing


# Lists a profile may be reached from: the way back leads to one of these, on this site.
_LISTS = re.compile(
    r"/[a-z]{2}/(?:specialists|conditions/[\w-]+|specialties/[\w-]+)/(?:\?[^#\x00-\x1f\x7f]*)?\Z"
)


def _way_back(request: HttpRequest) -> "seo.Crumb | None":
    """The list the visitor came from (`back`, which the cards carry), as a breadcrumb; None
    when there is none or it is not one of the site's lists."""
    back = request.GET.get("back", "")
    if len(back) > 1000 or not _LISTS.match(back) or "\\" in back:
        return None
    if not url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        return None
    label = _("Search results") if "/specialists/" in back else _("List of specialists")
    return seo.Crumb(label, back)


@cached_public_page
def specialist_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A specialist's profile. Drafts and archived listings are 404, except that staff may
    preview a draft. Runs a fixed number of queries."""
    specialists = Specialist.objects.prefetch_related(
        Prefetch("specialties", queryset=Specialty.objects.public()),
        Prefetch(
            "specialistcondition_set",
            queryset=SpecialistCondition.objects.filter(
                condition__needs_review=False
            ).select_related("condition"),
        ),
        Prefetch(
            "affiliations",
            queryset=Affiliation.objects.filter(clinic__status=Status.PUBLISHED)
            .select_related("clinic", "location")
            .prefetch_related(coming_closures("location__"), "location__features"),
        ),
    )
    specialist = _listing_or_404(request, specialists, slug, "directory.view_specialist")
    affiliations = list(specialist.affiliations.all())
    free_times = availability.upcoming(affiliations=affiliations) if specialist.is_published else []
    context = {
        "free_days": availability.by_day(free_times),
        "times_in_several_places": len({slot.location_id for slot in free_times}) > 1,
        "revision_preview": revisions.for_preview(request, specialist, "directory.view_specialist"),
        "specialist": specialist,
        "crumbs": [
            seo.home_crumb(),
            _way_back(request) or seo.Crumb(_("Specialists"), reverse("directory:search")),
            seo.Crumb(specialist.display_name),
        ],
        "structured_data": [seo.physician(request, specialist)],
    }
    return render(request, "directory/specialist_detail.html", context)


class ClinicPageForm(forms.Form):
    page = forms.IntegerField(min_value=1, required=False, label=_("Page"))


@cached_public_page
def clinic_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A clinic: logo, kind, description, locations, departments, certifications and its
    specialists, 20 per page. Drafts and archived clinics are 404 (staff may preview a draft)."""
    clinics = (
        Clinic.objects.annotate(free_times=availability.clinic_times())
        .select_related("parent")
        .prefetch_related(
            Prefetch(
                "locations",
                queryset=Location.objects.prefetch_related(coming_closures(), "features"),
            ),
            Prefetch(
                "departments",
                queryset=Clinic.objects.published().only("name", "slug", "parent_id"),
                to_attr="public_departments",
            ),
            Prefetch("certifications", queryset=certifications_shown()),
        )
    )
    clinic = _listing_or_404(request, clinics, slug, "directory.view_clinic")
    revision_preview = revisions.for_preview(request, clinic, "directory.view_clinic")
    form = ClinicPageForm(request.GET)
    valid = form.is_valid()
    # A hospital's own specialists and those of its published departments.
    clinics_here = Q(clinic=clinic) | Q(clinic__parent=clinic, clinic__status=Status.PUBLISHED)
    specialists = (
        Specialist.objects.published()
        .filter(pk__in=Affiliation.objects.filter(clinics_here).values("specialist_id"))
        .only(
            "honorific_prefix", "given_name", "family_name", "slug", *languages.columns("headline")
        )
        .order_by("family_name", "given_name", "id")
    )
    paginator = Paginator(specialists, PAGE_SIZE)
    number = (form.cleaned_data.get("page") if valid else None) or 1
    page = paginator.page(number) if paginator.count and number <= paginator.num_pages else None
    parent = clinic.published_parent
    free_times = availability.free_times(clinic.free_times) if clinic.is_published else []
    context = {
        "free_days": availability.by_day(free_times),
        "times_in_several_places": len({time.location.city for time in free_times}) > 1,
        "revision_preview": revision_preview,
        "clinic": clinic,
        "parent": parent,
        "crumbs": [
            seo.home_crumb(),
            seo.Crumb(_("Clinics"), reverse("directory:clinics")),
            *([seo.Crumb(parent.name, parent.get_absolute_url())] if parent else []),
            seo.Crumb(clinic.name),
        ],
        "structured_data": [seo.medical_organization(request, clinic)],
        "form": form,
        "page_obj": page,
        "pagination": paginate(
            page.number if page else 0, paginator.num_pages, lambda n: f"?page={n}"
        ),
        "specialist_count": paginator.count,
        "out_of_range": paginator.count > 0 and page is None,
    }
    return render(request, "directory/clinic_detail.html", context, status=200 if valid else 400)


def clinic_search(request: HttpRequest) -> HttpResponse:
    """Search the published clinics by name, country, kind and distance from a place."""
    listing = ClinicList(request)
    return render(
        request, "directory/clinic_search.html", {"listing": listing}, status=listing.status
    )


@cached_public_page
def specialist_search(request: HttpRequest) -> HttpResponse:
    """Search and filter the published specialists. Malformed parameters
    give 400 with the form showing each error beside its field. Whole pages are cached for
    anonymous visitors until the next change to a listing, like the condition pages (not while
    the counts are stale)."""
    listing = SpecialistList(request)
    response = render(request, "directory/search.html", {"listing": listing}, status=listing.status)
    response.cache_seconds = listing.cache_seconds  # until the minute ends for "open now"
    return response


@require_GET
def suggest(request: HttpRequest) -> JsonResponse:
    """Suggestions for the search box's combobox, as JSON (directory.search.suggest)."""
    query = request.GET.get("q", "")[:MAX_QUERY_LENGTH]
    response = JsonResponse({"query": query, "suggestions": suggestions.suggest(query)})
    response["Cache-Control"] = "private, max-age=60"
    return response
