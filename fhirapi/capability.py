"""The CapabilityStatement (`/fhir/metadata`), written from fhirapi.search's declarations: the
types, their parameters, includes and revincludes are exactly those the search checks against,
so the statement cannot promise more (or less) than the server does."""

from django.conf import settings

from fhirapi import resources
from fhirapi.http import FHIR_JSON, base_url
from fhirapi.search import DEFAULT_COUNT, KINDS, MAX_COUNT, RESULT_PARAMETERS

# The day this statement's content last changed (a release of the API, not of the data).
RELEASED = "2026-12-04"
FHIR_VERSION = "4.0.1"
CODE_SYSTEMS = ("specialty", "condition")


def licence() -> str:
    operator = settings.OPERATOR_NAME or "the operator of this site"
    return (
        f"The directory's data is published by {operator} under the Creative Commons "
        "Attribution 4.0 International licence (CC BY 4.0, "
        "https://creativecommons.org/licenses/by/4.0/)."
    )


def _search_param(param) -> dict:
    declared = {"name": param.name, "type": param.type}
    if param.definition:
        declared["definition"] = param.definition
    documentation = param.documentation
    if param.modifiers:
        modifiers = ", ".join(f":{modifier}" for modifier in sorted(param.modifiers))
        documentation += f" Modifiers: {modifiers}."
    declared["documentation"] = documentation
    return declared


def _resource(kind) -> dict:
    declared = {
        "type": kind.name,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "versioning": "no-version",
        "readHistory": False,
        "updateCreate": False,
        "conditionalCreate": False,
        "conditionalRead": "full-support" if kind.dated else "not-match",
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
    }
    if kind.includes:
        declared["searchInclude"] = [include.value for include in kind.includes]
    if kind.revincludes:
        declared["searchRevInclude"] = [include.value for include in kind.revincludes]
    declared["searchParam"] = [_search_param(param) for param in kind.params.values()]
    return declared


def _code_system_resource() -> dict:
    names = ", ".join(resources.code_system_url(name) for name in CODE_SYSTEMS)
    return {
        "type": "CodeSystem",
        "documentation": f"Our own code systems, read only: {names}.",
        "interaction": [{"code": "read"}],
        "versioning": "no-version",
        "readHistory": False,
        "updateCreate": False,
        "conditionalRead": "full-support",
    }


def _bulk_and_limits() -> str:
    """What the statement can truthfully say of the nightly export (not the asynchronous Bulk
    Data kick-off, so it is no `operation`) and of the rate limit."""
    text = (
        f"Everything at once: {base_url()}/$export is the manifest of a nightly export, in the "
        "shape of a FHIR Bulk Data output (one application/fhir+ndjson file per type, no "
        "access token); it is written nightly and served as it is, not started by the request "
        "(no asynchronous kick-off, no _type or _since)."
    )
    if settings.FHIR_REQUESTS_PER_MINUTE:
        text += (
            f" At most {settings.FHIR_REQUESTS_PER_MINUTE} requests a minute per client; more "
            "are answered 429 with Retry-After."
        )
    return text


def capability_statement() -> dict:
    results = " ".join(f"`{name}`: {text}" for name, text in RESULT_PARAMETERS.items())
    return {
        "resourceType": "CapabilityStatement",
        "id": "specialist-atlas",
        "url": f"{base_url()}/metadata",
        "name": "SpecialistAtlasDirectory",
        "title": "Specialist Atlas directory API",
        "status": "active",
        "experimental": False,
        "date": RELEASED,
        "publisher": settings.OPERATOR_NAME or "Specialist Atlas",
        "description": (
            "A read-only FHIR R4 API of the published listings of medical specialists, clinics "
            "and their locations in Germany, Austria and Switzerland. Drafts are never served."
        ),
        "copyright": licence(),
        "kind": "instance",
        "software": {"name": "Specialist Atlas"},
        "implementation": {"description": "Specialist Atlas directory API", "url": base_url()},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    f"Searches page by page ({DEFAULT_COUNT} a page unless `_count` says, at "
                    f"most {MAX_COUNT}), following Bundle.link next and previous. An unknown "
                    "parameter fails the search with 400 unless the request carries `Prefer: "
                    "handling=lenient`. Result parameters: " + results + " " + _bulk_and_limits()
                ),
                "resource": [
                    *(_resource(kind) for kind in KINDS.values()),
                    _code_system_resource(),
                ],
            }
        ],
    }
