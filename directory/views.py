from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from directory.listing import SpecialistList
from directory.models import Affiliation, Specialist, SpecialistCondition, Status


def _may_preview(request: HttpRequest) -> bool:
    return request.user.is_staff and request.user.has_perm("directory.view_specialist")


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
