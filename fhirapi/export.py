"""Bulk data, simple and honest: a nightly export of every published resource, one NDJSON file
per type of `search.KINDS` (each line exactly what the read endpoint answers for that
resource) and a manifest in the shape of the FHIR Bulk Data output (`transactionTime`,
`request`, `requiresAccessToken`, `output`, `error`), written by `manage.py export_fhir` into
FHIR_EXPORT_ROOT and served as files at /fhir/$export.

It is not the asynchronous kick-off of the Bulk Data Access IG: there is no 202, no status
URL, no `_type` or `_since`; the manifest of the last export is simply there.

- One snapshot: every file is read in one REPEATABLE READ transaction, whose start is the
  manifest's transactionTime.
- Streamed: rows are read in keyset batches of BATCH_SIZE (with the prefetches the mappers
  need, as the API reads them) and written line by line, so memory does not grow with the
  directory.
- Atomic: each file is written to a temporary file beside it, synced, and renamed over the old
  one, so a reader gets the old file or the new one, never half of one. The NDJSON files go
  first and the manifest last. A file whose content did not change is left as it was (its
  ETag and Last-Modified too), so a client's conditional GET answers 304.
"""

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from fhirapi import resources, search
from fhirapi.http import (
    CACHE_CONTROL,
    READ_PARAMETERS,
    FhirError,
    api_view,
    base_url,
    reading,
    with_cors,
)

NDJSON = "application/fhir+ndjson"
MANIFEST = "manifest.json"
BATCH_SIZE = 1000
SUFFIX = ".ndjson"


class ExportError(Exception):
    """The export cannot be written where FHIR_EXPORT_ROOT points."""


def export_url() -> str:
    return f"{base_url()}/$export"


def file_name(kind_name: str) -> str:
    return f"{kind_name}{SUFFIX}"


def export_root() -> Path:
    return Path(settings.FHIR_EXPORT_ROOT)


def prepare(root: Path) -> Path:
    """The directory, made if missing; ExportError if it cannot be written."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as error:
        raise ExportError(
            f"FHIR_EXPORT_ROOT ({root}) is not a directory this user can write: {error}"
        ) from error
    return root


def batches(rows: QuerySet, size: int = BATCH_SIZE) -> Iterator[list]:
    """The rows in order of their IDs, `size` at a time (keyset: each batch one query plus its
    prefetches, however far in); only one batch is held at a time."""
    last = None
    while True:
        page = rows.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        batch = list(page[:size])
        if not batch:
            return
        last = batch[-1].pk
        yield batch
        if len(batch) < size:
            return


def line(resource: dict) -> bytes:
    """One NDJSON line: the resource as the API serialises it (compact, UTF-8)."""
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _sha256_of(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as existing:
            for block in iter(lambda: existing.read(1 << 16), b""):
                digest.update(block)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def write_atomically(path: Path, chunks: Iterable[bytes]) -> bool:
    """Write the chunks to a temporary file beside `path`, sync it and rename it over `path`;
    leave `path` alone if its content is the same. Returns whether `path` was replaced. On any
    error the temporary file is removed and `path` is as it was."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    digest = hashlib.sha256()
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
            out.flush()
            os.fsync(out.fileno())
        if _sha256_of(path) == digest.hexdigest():
            os.unlink(temporary)
            return False
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide it from a web server's user
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)
    return True


class _Counter:
    def __init__(self):
        self.lines = 0


def _lines(kind: search.Kind, counter: _Counter, batch_size: int) -> Iterator[bytes]:
    # A type of several sources (HealthcareService) is exported source by source.
    sources = getattr(kind, "parts", None) or [kind]
    for source in sources:
        complete = getattr(source, "complete", None)
        for batch in batches(source.rows(), batch_size):
            if complete is not None:
                complete(batch)
            for row in batch:
                counter.lines += 1
                yield line(source.to_resource(row))


def export(root: Path | None = None, batch_size: int = BATCH_SIZE) -> dict:
    """Write every type's NDJSON file, then the manifest; returns the manifest."""
    root = prepare(root or export_root())
    outer = connection.in_atomic_block
    outputs = []
    with transaction.atomic(), translation.override("en"):
        with connection.cursor() as cursor:
            if not outer:  # one snapshot of the whole directory, and nothing written
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT clock_timestamp()")
            (started,) = cursor.fetchone()
        for name, kind in search.KINDS.items():
            counter = _Counter()
            write_atomically(root / file_name(name), _lines(kind, counter, batch_size))
            outputs.append(
                {"type": name, "url": f"{export_url()}/{file_name(name)}", "count": counter.lines}
            )
    manifest = {
        "transactionTime": resources.instant(started),
        "request": export_url(),
        "requiresAccessToken": False,
        "output": outputs,
        "error": [],
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2).encode() + b"\n"
    write_atomically(root / MANIFEST, [text])
    return manifest


# --- Serving ----------------------------------------------------------------------------------


def _not_yet() -> FhirError:
    return FhirError(
        404,
        "not-found",
        "The bulk export has not been written yet; it is made nightly. Until then, search page "
        "by page.",
    )


def file_response(request: HttpRequest, path: Path, content_type: str) -> HttpResponse:
    """The file as it is when opened (a rename during the download does not change what is
    sent), with a strong ETag and Last-Modified from that file; 304 when the client's copy is
    current."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise _not_yet() from None
    status = os.fstat(handle.fileno())
    etag = f'"{status.st_size:x}-{status.st_mtime_ns:x}"'
    conditional = get_conditional_response(
        reading(request), etag=etag, last_modified=int(status.st_mtime)
    )
    if conditional is not None:
        handle.close()
        response = conditional
    else:
        response = FileResponse(handle, content_type=content_type)
    response["ETag"] = etag
    response["Last-Modified"] = http_date(status.st_mtime)
    response["Cache-Control"] = CACHE_CONTROL
    return with_cors(response)


@api_view
def manifest(request: HttpRequest) -> HttpResponse:
    """The last export's manifest (application/json, as Bulk Data's status answer is). It is
    the whole nightly export: the kick-off's parameters (`_type`, `_since`, `_outputFormat`)
    are refused, not ignored."""
    _no_parameters(request)
    return file_response(request, export_root() / MANIFEST, "application/json")


def _no_parameters(request: HttpRequest) -> None:
    asked = sorted(set(request.GET) - READ_PARAMETERS)
    if asked:
        raise FhirError(
            400,
            "not-supported",
            f"$export takes no parameters ({', '.join(asked)}): it is the manifest of the "
            "nightly export of every type; download the files it lists.",
        )


@api_view(formats=False)
def ndjson(request: HttpRequest, name: str) -> HttpResponse:
    kind_name = name.removesuffix(SUFFIX)
    if not name.endswith(SUFFIX) or kind_name not in search.KINDS:
        raise FhirError(
            404,
            "not-found",
            f"$export/{name} is not a file of the export; the manifest ({export_url()}) lists "
            "them.",
        )
    _no_parameters(request)
    return file_response(request, export_root() / name, NDJSON)
