"""SMART Scheduling Links feeds for the tests: resources written as a practice's software would,
and a feed server on the loopback interface (nothing reaches another host)."""

import json
import threading
from datetime import datetime, time, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.utils import timezone

DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"


def location(external_id="loc1", street="Beispielstraße 1", postcode="99084", city="Erfurt"):
    return {
        "resourceType": "Location",
        "id": external_id,
        "name": "Praxis",
        "address": {"line": [street], "city": city, "postalCode": postcode, "country": "DE"},
    }


def schedule(external_id="sch1", place="loc1", display="Sprechstunde"):
    actors = [{"reference": f"Location/{place}"}] if place else []
    return {
        "resourceType": "Schedule",
        "id": external_id,
        "actor": actors,
        "serviceType": [{"text": display}],
    }


def at(days=1, hour=9, minute=0) -> datetime:
    """A local time `days` from today."""
    day = timezone.localdate() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())


def slot(external_id, start: datetime, minutes=20, schedule_id="sch1", status="free", link=""):
    resource = {
        "resourceType": "Slot",
        "id": external_id,
        "schedule": {"reference": f"Schedule/{schedule_id}"},
        "status": status,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=minutes)).isoformat(),
    }
    if link:
        resource["extension"] = [{"url": DEEP_LINK, "valueUrl": link}]
    return resource


def ndjson(*resources) -> str:
    return "".join(json.dumps(resource) + "\n" for resource in resources)


class FeedServer:
    """Serves files from `files` (path → body, or an HTTP status to answer instead), answers
    If-Modified-Since with 304 when the file's date is not newer, and records each request."""

    def __init__(self):
        self.files: dict[str, str | int] = {}
        self.modified = timezone.now().replace(microsecond=0)
        self.requests: list[tuple[str, str]] = []  # (path, If-Modified-Since)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                since = self.headers.get("If-Modified-Since", "")
                server.requests.append((self.path, since))
                body = server.files.get(self.path, 404)
                if isinstance(body, int):
                    self.send_response(body)
                    self.end_headers()
                    return
                stamp = format_datetime(server.modified, usegmt=True)
                if since and since == stamp:
                    self.send_response(304)
                    self.end_headers()
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Last-Modified", stamp)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def publish(self, *resources, transaction_time="2026-12-01T08:00:00Z", touch=True):
        """Publish a manifest at /$bulk-publish naming three files with these resources."""
        by_type = {
            kind: [r for r in resources if r["resourceType"] == kind]
            for kind in ("Location", "Schedule", "Slot")
        }
        self.files["/$bulk-publish"] = json.dumps(
            {
                "transactionTime": transaction_time,
                "request": f"{self.url}/$bulk-publish",
                "output": [
                    {"type": kind, "url": f"{self.url}/{kind.lower()}s.ndjson"} for kind in by_type
                ],
                "error": [],
            }
        )
        for kind, items in by_type.items():
            self.files[f"/{kind.lower()}s.ndjson"] = ndjson(*items)
        if touch:
            self.modified += timedelta(seconds=1)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
