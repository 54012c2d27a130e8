"""What every answer of the API has in common: FHIR JSON, OperationOutcomes for errors, ETags and
Last-Modified with 304 for conditional reads, CORS, and the methods allowed.

Nothing here knows the directory: views hand in dicts and get responses back.
"""

import hashlib
import json
import re
import time
from datetime import datetime
from functools import wraps

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.csrf import csrf_exempt

from fhirapi import throttle

FHIR_JSON = "application/fhir+json"
# What `_format` and Accept may ask for: all of them get FHIR JSON.
JSON_FORMATS = frozenset({"json", FHIR_JSON, "application/json", "application/json+fhir"})
XML_FORMATS = frozenset({"xml", "application/fhir+xml", "application/xml", "text/xml"})
ALLOWED_METHODS = ("GET", "HEAD", "OPTIONS")
CACHE_CONTROL = "public, max-age=60"
# Headers a browser script may send and read across origins.
CORS_REQUEST_HEADERS = "Accept, If-None-Match, If-Modified-Since, Prefer"
CORS_EXPOSED_HEADERS = "ETag, Last-Modified, Location, Content-Location, Retry-After"


def base_url() -> str:
    """The service base: absolute, from SITE_URL, so links are the same whoever asks."""
    return f"{settings.SITE_URL}/fhir"


class FhirError(Exception):
    """An answer that is an OperationOutcome: raised anywhere below a view, answered by it."""

    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str | list[str],
        headers: dict[str, str] | None = None,
    ):
        super().__init__(diagnostics)
        self.status = status
        self.headers = dict(headers or {})  # e.g. a 429's Retry-After
        texts = [diagnostics] if isinstance(diagnostics, str) else list(diagnostics)
        self.issues = [(code, text) for text in texts]

    @classmethod
    def of(cls, status: int, issues: list[tuple[str, str]]) -> "FhirError":
        """One error of several problems, each with its own issue code."""
        error = cls(status, issues[0][0], [])
        error.issues = list(issues)
        return error


def operation_outcome(issues: list[tuple[str, str]], severity: str = "error") -> dict:
    """An OperationOutcome of (issue code, diagnostics) pairs."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": severity, "code": code, "diagnostics": text} for code, text in issues
        ],
    }


def _body(resource: dict, pretty: bool = False) -> bytes:
    if pretty:
        return json.dumps(resource, ensure_ascii=False, indent=2).encode()
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()


def etag_of(resource: dict) -> str:
    """A weak ETag from the content itself: any change to what is served changes it."""
    digest = hashlib.sha256(_body(resource)).hexdigest()[:32]
    return f'W/"{digest}"'


def with_cors(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
    return response


def fhir_response(
    request: HttpRequest,
    resource: dict,
    status: int = 200,
    *,
    last_modified: datetime | None = None,
) -> HttpResponse:
    """The resource as FHIR JSON with its ETag (and Last-Modified, when given); 304 when the
    client's copy is current. Errors are never cached."""
    pretty = _pretty(request)
    if status != 200:
        response = HttpResponse(_body(resource, pretty), status=status)
        response["Content-Type"] = f"{FHIR_JSON}; charset=utf-8"
        response["Cache-Control"] = "no-store"
        return with_cors(response)
    etag = etag_of(resource)
    timestamp = last_modified.timestamp() if last_modified is not None else None
    conditional = get_conditional_response(
        reading(request), etag=etag, last_modified=int(timestamp) if timestamp is not None else None
    )
    if conditional is not None:  # 304
        response = conditional
    else:
        response = HttpResponse(_body(resource, pretty))
        response["Content-Type"] = f"{FHIR_JSON}; charset=utf-8"
    response["ETag"] = etag
    if timestamp is not None:
        response["Last-Modified"] = http_date(timestamp)
    response["Cache-Control"] = CACHE_CONTROL
    # Prefer: handling=lenient turns a 400 into a 200; a shared cache must keep them apart.
    response["Vary"] = "Accept, Prefer"
    return with_cors(response)


# What a read (and the export's files) take: the format and pretty printing, nothing else.
READ_PARAMETERS = {"_format", "_pretty"}


def _pretty(request: HttpRequest) -> bool:
    try:
        return request.GET.get("_pretty") == "true"
    except SuspiciousOperation:  # a query Django will not read (too many fields)
        return False


def reading(request: HttpRequest) -> HttpRequest:
    """The request as conditional GET sees it: only If-None-Match and If-Modified-Since count
    (If-Match and If-Unmodified-Since guard writes, and there are none), and an
    If-Modified-Since later than now is ignored (RFC 9110, 13.1.3)."""
    meta = request.META
    since = parse_http_date_safe(meta.get("HTTP_IF_MODIFIED_SINCE", ""))
    future = since is not None and since > time.time()
    if not future and not {"HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE"} & meta.keys():
        return request
    copy = HttpRequest()
    copy.method = request.method
    copy.META = {
        key: value
        for key, value in meta.items()
        if key not in {"HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE"}
        and not (future and key == "HTTP_IF_MODIFIED_SINCE")
    }
    return copy


def error_response(request: HttpRequest, error: FhirError) -> HttpResponse:
    response = fhir_response(request, operation_outcome(error.issues), status=error.status)
    if error.status == 405:
        response["Allow"] = ", ".join(ALLOWED_METHODS)
    for name, value in error.headers.items():
        response[name] = value
    return response


def _media_types(accept: str) -> list[str]:
    """The media types the Accept header accepts: those not refused with q=0."""
    types = []
    for part in accept.split(","):
        kind, *parameters = [piece.strip().lower() for piece in part.split(";")]
        refused = any(re.fullmatch(r"q=0(\.0{0,3})?", parameter) for parameter in parameters)
        if kind and not refused:
            types.append(kind)
    return types


def check_format(request: HttpRequest) -> None:
    """FHIR JSON is the one format: `_format` and Accept may ask for it (or anything JSON, or
    anything at all); XML or another type is 406."""
    requested = [value for value in request.GET.getlist("_format") if value.strip()]
    if requested:
        for value in requested:
            # An unencoded "+" arrives as a space: application/fhir json.
            value = value.split(";")[0].strip().lower().replace(" ", "+")
            if value not in JSON_FORMATS:
                what = "XML" if value in XML_FORMATS else f"the format '{value}'"
                raise FhirError(
                    406, "not-supported", f"This server answers in FHIR JSON only, not {what}."
                )
        return
    accept = request.headers.get("Accept", "")
    accepted = _media_types(accept)
    if not accept.strip():
        return
    if not any(
        kind in JSON_FORMATS or kind in {"*/*", "application/*"} or kind.endswith("+json")
        for kind in accepted
    ):
        raise FhirError(
            406,
            "not-supported",
            "This server answers in FHIR JSON only (application/fhir+json); the Accept header "
            "asks for none of it.",
        )


def throttled(request: HttpRequest) -> None:
    """429 with Retry-After when the client is over the API's rate limit (fhirapi.throttle)."""
    seconds = throttle.retry_after(request)
    if seconds is not None:
        raise FhirError(
            429,
            "throttled",
            f"Too many requests: at most {settings.FHIR_REQUESTS_PER_MINUTE} a minute per "
            f"client. Try again in {seconds} seconds; for everything at once, use the nightly "
            f"export ({base_url()}/$export).",
            headers={"Retry-After": str(seconds)},
        )


def api_view(view=None, *, formats: bool = True):
    """GET and HEAD run the view (within the rate limit); OPTIONS answers a CORS preflight; any
    other method is 405. A FhirError raised by the view becomes its OperationOutcome. Exempt
    from CSRF: nothing is written, and a POST must hear 405, not 403. `formats=False`: the view
    answers in a format of its own (the export's NDJSON), so `_format` and Accept are not
    checked."""
    if view is None:
        return lambda view: api_view(view, formats=formats)

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Allow"] = ", ".join(ALLOWED_METHODS)
            response["Access-Control-Allow-Methods"] = ", ".join(ALLOWED_METHODS)
            response["Access-Control-Allow-Headers"] = CORS_REQUEST_HEADERS
            response["Access-Control-Max-Age"] = "86400"
            return with_cors(response)
        try:
            try:
                request.GET  # noqa: B018 (parsed here, so that a bad query is a 400 of ours)
            except SuspiciousOperation as error:
                raise FhirError(400, "too-costly", f"The query cannot be read: {error}") from None
            if request.method not in {"GET", "HEAD"}:
                raise FhirError(
                    405,
                    "not-supported",
                    f"This API is read-only: {request.method} is not allowed; use GET.",
                )
            throttled(request)
            if formats:
                check_format(request)
            return view(request, *args, **kwargs)
        except FhirError as error:
            return error_response(request, error)

    return wrapper
