"""The API's views: each checks its input through fhirapi.search, maps rows with
fhirapi.resources and answers through fhirapi.http. Never cached as pages (no
cached_public_page): every answer is made from the database as it is, with an ETag for
conditional requests. Reads and searches are kept briefly in a cache of their own
(fhirapi.caching), retired by any change to a listing."""

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from fhirapi import caching, capability, resources, search
from fhirapi.http import READ_PARAMETERS, FhirError, api_view, fhir_response

CODE_SYSTEM_TEXT = {
    "specialty": (
        "Specialist Atlas medical fields",
        "The medical fields of specialist training in Germany, Austria and Switzerland, as this "
        "directory lists them. Codes are the fields' slugs; display is the English name, with "
        "the German one as a designation.",
    ),
    "condition": (
        "Specialist Atlas conditions and treatments",
        "The conditions and treatments patients find specialists for in this directory. Codes "
        "are their slugs; display is the English name, with the German one as a designation. "
        "Resources give the ICD-10 code beside ours where an editor has entered one.",
    ),
}


def _kind(resource_type: str) -> search.Kind:
    kind = search.KINDS.get(resource_type)
    if kind is None:
        raise FhirError(
            404,
            "not-supported",
            f"The resource type '{resource_type}' is not served here; see /fhir/metadata.",
        )
    return kind


@api_view
def metadata(request: HttpRequest) -> HttpResponse:
    return fhir_response(request, capability.capability_statement())


@api_view
def search_type(request: HttpRequest, resource_type: str) -> HttpResponse:
    kind = _kind(resource_type)

    def compute() -> caching.Answer:
        plan = search.plan(kind, request)
        with translation.override("en"):
            return search.run(plan), None

    bundle, _ = caching.cached(request, compute)
    return fhir_response(request, bundle)


@api_view
def read(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    kind = _kind(resource_type)
    unknown = sorted(set(request.GET) - READ_PARAMETERS)
    if unknown and not search.lenient(request):
        raise FhirError(
            400,
            "not-supported",
            f"A read takes no parameters but _format and _pretty, not {', '.join(unknown)} "
            "(send 'Prefer: handling=lenient' to have them ignored).",
        )

    def compute() -> caching.Answer:
        with translation.override("en"):
            found = search.read(kind, resource_id)
        if found is None:
            raise FhirError(
                404, "not-found", f"{resource_type}/{resource_id} is not known or not published."
            )
        return found

    resource, last_updated = caching.cached(request, compute)
    return fhir_response(request, resource, last_modified=last_updated if kind.dated else None)


@api_view
def code_system(request: HttpRequest, name: str) -> HttpResponse:
    if name not in CODE_SYSTEM_TEXT:
        raise FhirError(404, "not-found", f"CodeSystem/{name} is not known.")
    rows, newest = search.code_system_rows(name)
    title, description = CODE_SYSTEM_TEXT[name]
    resource = resources.code_system(name, title, description, rows, newest)
    return fhir_response(request, resource, last_modified=newest)


@api_view
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    raise FhirError(
        404,
        "not-supported",
        f"/fhir/{rest} is not an address of this API; it serves metadata, "
        + ", ".join(search.KINDS)
        + " (read and search), CodeSystem/specialty and CodeSystem/condition, and the nightly "
        "export at $export.",
    )
