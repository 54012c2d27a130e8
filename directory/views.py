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
    Status,
)


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
    if not specialist.is_published and not may_preview(request, "directory.view_specialist"):
        raise Http404
    return render(request, "directory/specialist_detail.html", {"specialist": specialist})


def specialist_search(request: HttpRequest) -> HttpResponse:
    """Search and filter the published specialists (SPEC sections 4 and 6). Malformed parameters
    give 400 with the form showing each error beside its field."""
    listing = SpecialistList(request)
    return render(request, "directory/search.html", {"listing": listing}, status=listing.status)
