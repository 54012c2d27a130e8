"""The hand-made demo data set in fixtures/: taxonomy and clinics from demo.json, specialists from
demo_specialists.csv through the importer. Only what is missing is added, so loading it again
changes nothing and never overwrites an editor's changes."""

import csv
import hashlib
import io
import json
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from core import languages
from directory import placeholders
from directory.csv_format import import_specialists
from directory.models import (
    Certification,
    Clinic,
    Condition,
    Location,
    Specialist,
    Specialty,
    Status,
)
from directory.search import index

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
DEMO_VERIFIED = date(2026, 11, 1)


@transaction.atomic
def load_demo_directory() -> dict[str, int]:
    """Add the demo listings that are missing; returns how many of each were added."""
    data = json.loads((FIXTURES / "demo.json").read_text(encoding="utf-8"))
    added = {"specialties": 0, "conditions": 0, "clinics": 0, "specialists": 0}
    for item in data["specialties"]:
        _, created = Specialty.objects.get_or_create(
            slug=item["slug"],
            defaults={
                **_translated(item, "name"),
                "parent": Specialty.objects.filter(slug=item["parent"]).first(),
            },
        )
        added["specialties"] += created
    for item in data["conditions"]:
        condition, created = Condition.objects.get_or_create(
            slug=item["slug"],
            defaults={
                "kind": item["kind"],
                **_translated(item, "name"),
                **_translated(item, "synonyms"),
                "icd10": item["icd10"],
            },
        )
        if created:
            condition.specialties.set(Specialty.objects.filter(slug__in=item["specialties"]))
            added["conditions"] += 1
    for item in data["clinics"]:
        clinic, created = Clinic.objects.get_or_create(
            slug=item["slug"],
            defaults={
                "name": item["name"],
                "kind": item["kind"],
                "parent": Clinic.objects.filter(slug=item["parent"]).first(),
                **_translated(item, "description"),
                "website": item["website"],
                "phone": item["phone"],
                "email": item["email"],
                "status": Status.PUBLISHED,
                "last_verified": DEMO_VERIFIED,
            },
        )
        if created:
            for location in item["locations"]:
                Location.objects.create(
                    clinic=clinic,
                    street=location["street"],
                    postcode=location["postcode"],
                    city=location["city"],
                    region=location["region"],
                    country=location["country"],
                    phone=location["phone"],
                    hours=location["hours"],
                    **_translated(location, "opening_hours"),
                )
            for entry in item["certifications"]:
                certification = Certification.objects.create(
                    clinic=clinic,
                    **_translated(entry, "title"),
                    issuer=entry["issuer"],
                    valid_until=entry["valid_until"],
                    register_url=entry["register_url"],
                    confirmed_on=DEMO_VERIFIED,
                )
                certification.conditions.set(Condition.objects.filter(slug__in=entry["conditions"]))
            _give_picture(clinic, "logo", placeholders.logo)
            added["clinics"] += 1
    added["specialists"] = _import_missing_specialists(FIXTURES / "demo_specialists.csv")
    if any(added.values()):
        index.rebuild_all()  # fixtures load raw rows, which the index's receivers skip
    return added


def _translated(item: dict, field: str) -> dict[str, str]:
    """The field's text in each of the site's languages that demo.json has (a list is one line
    each), by column: {"name_en": ..., "name_de": ...}."""
    columns = {}
    for column in languages.columns(field):
        value = item.get(column)
        if value:
            columns[column] = "\n".join(value) if isinstance(value, list) else value
    return columns


def _import_missing_specialists(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    existing = set(
        Specialist.objects.filter(slug__in=[row["slug"] for row in rows]).values_list(
            "slug", flat=True
        )
    )
    missing = [row for row in rows if row["slug"] not in existing]
    if not missing:
        return 0
    output = io.StringIO()
    writer = csv.DictWriter(output, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(missing)
    report = import_specialists(output.getvalue())
    if not report.ok:
        errors = "; ".join(f"row {row}: {error}" for row, error in report.errors)
        raise ValueError(f"The demo specialists do not import: {errors}")
    Specialist.objects.filter(
        slug__in=[row["slug"] for row in missing], last_verified__isnull=True
    ).update(last_verified=DEMO_VERIFIED)
    for specialist in Specialist.objects.filter(slug__in=[row["slug"] for row in missing]):
        _give_picture(specialist, "photo", placeholders.portrait)
    return len(missing)


def _give_picture(listing, field: str, draw) -> None:
    """A drawn placeholder for about two listings in three, so the demo shows pictures as well
    as the initials shown without one. Stored like an editor's upload, renditions included."""
    if hash_bucket(listing.slug) == 0:
        return
    setattr(listing, field, ContentFile(draw(listing.slug), name=f"{listing.slug}.img"))
    listing.save(update_fields=[field])


def hash_bucket(slug: str) -> int:
    """0, 1 or 2, the same for a slug on every run (Python's hash() is not)."""
    return int.from_bytes(hashlib.sha256(slug.encode()).digest()[:2], "big") % 3
