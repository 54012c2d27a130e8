from functools import wraps

from django.core.cache import cache
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language

from directory import search
from directory.listing import SpecialistList
from directory.models import (
    Affiliation,
    Specialist,
    SpecialistCondition,
    SpecialistSearch,
    Specialty,
    Status,
)


def _may_preview(request: HttpRequest) -> bool:
    return request.user.is_staff and request.user.has_perm("directory.view_specialist")


def cached_public_page(view):
    """Serve anonymous visitors a page rendered earlier in this generation of the index (any
    change to a listing starts a new one). Signed-in users, e.g. staff previewing a draft,
    always get a fresh page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "GET" or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        generation = search.generation(search.CARDS_GENERATION_KEY)
        key = f"search:{generation}:page:{get_language()}:{request.get_full_path()}"
        content = cache.get(key)
        if content is not None:
            return HttpResponse(content)
        response = view(request, *args, **kwargs)
        if response.status_code == 200:
            # A view may shorten this, e.g. until a scheduled article is due.
            timeout = min(
                getattr(response, "cache_seconds", search.CACHE_SECONDS), search.CACHE_SECONDS
            )
            cache.set(key, response.content, max(timeout, 1))
        return response

    return wrapper


@cached_public_page
def specialist_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A specialist's profile. Drafts and archived listings are 404, except that staff may
    preview a draft. Runs a fixed number of queries."""
    specialists = Specialist.objects.prefetch_related(
        "specialties",
        Prefetch(
            "specialistcondition_set",
            queryset=SpecialistCondition.objects.select_related("condition"),
        ),
        Prefetch(
            "affiliations",
            queryset=Affiliation.objects.filter(clinic__status=Status.PUBLISHED).select_related(
                "clinic", "location"
            ),
        ),
    )
    specialist = get_object_or_404(specialists.exclude(status=Status.ARCHIVED), slug=slug)
    if not specialist.is_published and not _may_preview(request):
        raise Http404
    return render(request, "directory/specialist_detail.html", {"specialist": specialist})


def specialist_search(request: HttpRequest) -> HttpResponse:
    """Search and filter the published specialists (SPEC sections 4 and 6). Malformed parameters
    give 400 with the form showing each error beside its field."""
    listing = SpecialistList(request)
    return render(request, "directory/search.html", {"listing": listing}, status=listing.status)


def specialty_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A medical field: its broader fields (breadcrumbs), its sub-fields and the specialists in
    it or any sub-field, with the search page's filters."""
    field = get_object_or_404(Specialty, slug=slug)
    listing = SpecialistList(
        request,
        SpecialistSearch.objects.filter(specialty_ids__contains=[field.pk]),
        scope=f"specialty:{field.pk}",
    )
    fields = listing.filterset.specialties  # every field, cached: no query per ancestor
    ancestors, parent = [], fields.get(field.parent_id)
    while parent is not None and parent not in ancestors:
        ancestors.insert(0, parent)
        parent = fields.get(parent.parent_id)
    children = sorted((f for f in fields.values() if f.parent_id == field.pk), key=str)
    context = {"field": field, "ancestors": ancestors, "children": children, "listing": listing}
    return render(request, "directory/specialty_detail.html", context, status=listing.status)
