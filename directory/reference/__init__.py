"""Reference data, written for this project from public facts and shipped in the repository:
the medical fields of specialist training in Germany, Austria and Switzerland with what patients
call them (`specialties.yaml`), and a base catalogue of conditions and treatments with ICD-10
codes and lay names (`conditions.yaml`). Names and synonyms are in English, German, French and
Italian; the site stores the languages it serves.

`load_taxonomy()` (run by `manage.py load_reference`, which `make run` runs) adds what is
missing and never takes away what editors wrote: a missing entry is created, an existing one
gets the names it lacks and the synonyms it does not list yet, a medical field its SNOMED CT code
and a condition its ICD-10 code where none is entered.
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.db import transaction

from core import languages
from directory.places import fold

FOLDER = Path(__file__).resolve().parent


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=lambda: {"specialties": 0, "conditions": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"specialties": 0, "conditions": 0})


def read(name: str) -> list[dict]:
    return yaml.safe_load((FOLDER / name).read_text(encoding="utf-8"))


def _languages() -> tuple[str, ...]:
    return languages.codes()


def _merge_lines(current: str, additions: list[str]) -> str:
    """The editor's lines, then those of `additions` that are not there yet (by folded text)."""
    lines = [line for line in (current or "").splitlines() if line.strip()]
    known = {fold(line) for line in lines}
    for line in additions:
        if fold(line) and fold(line) not in known:
            lines.append(line)
            known.add(fold(line))
    return "\n".join(lines)


def _fill(obj, entry: dict, synonyms: dict[str, list[str]]) -> bool:
    """Give `obj` the names it lacks and the synonyms it does not list; True if changed."""
    changed = False
    for language in _languages():
        name = entry["name"].get(language)
        if name and not getattr(obj, f"name_{language}"):
            setattr(obj, f"name_{language}", name)
            changed = True
        merged = _merge_lines(getattr(obj, f"synonyms_{language}"), synonyms.get(language, []))
        if merged != (getattr(obj, f"synonyms_{language}") or ""):
            setattr(obj, f"synonyms_{language}", merged)
            changed = True
    return changed


@transaction.atomic
def load_taxonomy() -> LoadReport:
    """Add the reference medical fields and conditions (see the module's docstring). A fixed
    number of queries, written in bulk; idempotent."""
    from directory.models import Condition, Specialty
    from directory.search import index

    report = LoadReport()
    specialties = {s.slug: s for s in Specialty.objects.all()}
    new, changed, reparented = [], [], []
    for entry in read("specialties.yaml"):
        synonyms = {
            language: [*entry.get("practitioner", {}).get(language, []),
                       *entry.get("lay", {}).get(language, [])]
            for language in _languages()
        }  # fmt: skip
        specialty = specialties.get(entry["slug"])
        if specialty is None:
            # Names by language, never `name`: that means the active language's column.
            specialty = Specialty(slug=entry["slug"])
            specialty.snomed_code = entry.get("snomed") or ""
            _fill(specialty, entry, synonyms)
            new.append((specialty, entry.get("parent")))
            specialties[specialty.slug] = specialty
        else:
            was_changed = _fill(specialty, entry, synonyms)
            if not specialty.snomed_code and entry.get("snomed"):
                specialty.snomed_code = entry["snomed"]
                was_changed = True
            if was_changed:
                changed.append(specialty)
        if specialty.pk and specialty.parent_id is None and entry.get("parent"):
            reparented.append((specialty, entry["parent"]))
    Specialty.objects.bulk_create([specialty for specialty, _parent in new])
    for specialty, parent in [*new, *reparented]:
        if parent:
            specialty.parent = specialties[parent]
    Specialty.objects.bulk_update(
        {s.pk: s for s in [*(s for s, _p in new), *changed, *(s for s, _p in reparented)]}.values(),
        [*languages.columns("name", "synonyms"), "parent", "snomed_code"],
    )
    report.created["specialties"], report.updated["specialties"] = len(new), len(changed)

    conditions = {c.slug: c for c in Condition.objects.all()}
    linked = set(Condition.specialties.through.objects.values_list("condition_id", "specialty_id"))
    new_conditions, changed_conditions, links = [], [], []
    for entry in read("conditions.yaml"):
        condition = conditions.get(entry["slug"])
        if condition is None:
            condition = Condition(slug=entry["slug"], kind=entry["kind"])
            condition.icd10 = entry.get("icd10") or ""
            _fill(condition, entry, entry.get("synonyms", {}))
            new_conditions.append(condition)
            conditions[condition.slug] = condition
        else:
            was_changed = _fill(condition, entry, entry.get("synonyms", {}))
            if not condition.icd10 and entry.get("icd10"):
                condition.icd10 = entry["icd10"]
                was_changed = True
            if was_changed:
                changed_conditions.append(condition)
        links += [(condition, specialties[slug]) for slug in entry.get("specialties", [])]
    Condition.objects.bulk_create(new_conditions)
    Condition.objects.bulk_update(
        changed_conditions, [*languages.columns("name", "synonyms"), "icd10"]
    )
    through = Condition.specialties.through
    through.objects.bulk_create(
        [
            through(condition_id=condition.pk, specialty_id=specialty.pk)
            for condition, specialty in links
            if (condition.pk, specialty.pk) not in linked
        ],
        ignore_conflicts=True,
    )
    report.created["conditions"] = len(new_conditions)
    report.updated["conditions"] = len(changed_conditions)
    if reparented:  # their specialists are now also filed under the broader field
        from directory.models import Specialist

        index.rebuild(
            Specialist.specialties.through.objects.filter(
                specialty__in=[s for s, _p in reparented]
            ).values_list("specialist_id", flat=True)
        )
    if any(report.created.values()) or any(report.updated.values()):
        index.add_taxonomy_terms()
    return report
