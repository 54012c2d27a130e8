"""Merging a medical field or condition into another, as a synonym: what an editor does with an
entry an import created for a misspelt or unfamiliar name ("liver-metastasis"). The entry's
names become synonyms of the other (so the search still finds them), its specialists, fields
and sub-fields move over, and it is deleted, in one transaction.
"""

import difflib

from django.db import transaction
from django.utils.translation import gettext as _

from core import languages
from directory.models import Condition, Specialist, SpecialistCondition, Specialty
from directory.places import fold
from directory.search import index


class MergeError(Exception):
    """The entry cannot be merged (it has its own article, say): nothing was changed."""


def known_names(model) -> dict:
    """Every folded name and synonym of the approved entries of `model`, with its entry: what
    `suggestion` compares against (one query, for a whole list of entries to suggest for)."""
    names: dict[str, Specialty | Condition] = {}
    for other in model.objects.filter(needs_review=False):
        for language in languages.codes():
            for name in [getattr(other, f"name_{language}") or "", *_lines(other, language)]:
                names.setdefault(fold(name), other)
    return names


def suggestion(entry: Specialty | Condition, names: dict | None = None):
    """The approved entry of the same kind whose name or synonym is most like the entry's name
    (any language), if one is like it at all. `names`: known_names of its model."""
    if names is None:
        names = known_names(type(entry))
    wanted = [fold(getattr(entry, f"name_{language}") or "") for language in languages.codes()]
    best, score = None, 0.0
    for name in filter(None, wanted):
        for key in difflib.get_close_matches(name, list(names), n=1, cutoff=0.6):
            ratio = difflib.SequenceMatcher(None, name, key).ratio()
            if ratio > score and names[key].pk != entry.pk:
                best, score = names[key], ratio
    return best


def _lines(entry, language: str) -> list[str]:
    return [line.strip() for line in (getattr(entry, f"synonyms_{language}") or "").splitlines()]


def merge(entry: Specialty | Condition, target: Specialty | Condition) -> int:
    """Make `entry` a synonym of `target`; returns how many specialists moved over. Raises
    MergeError when it cannot be done."""
    if type(entry) is not type(target) or entry.pk == target.pk:
        raise MergeError(_("An entry can only be merged into another entry of its kind."))
    if hasattr(entry, "article"):
        raise MergeError(
            _("“%(entry)s” has an article of its own: move or delete the article first.")
            % {"entry": entry}
        )
    with transaction.atomic(), index.deferred():
        # Locked: two merges into the same entry at once each keep their synonyms.
        target = type(target).objects.select_for_update().get(pk=target.pk)
        for language in languages.codes():
            known = {fold(line) for line in _lines(target, language)}
            known.add(fold(getattr(target, f"name_{language}") or ""))
            added = []
            for name in [getattr(entry, f"name_{language}") or "", *_lines(entry, language)]:
                if name and fold(name) not in known:
                    known.add(fold(name))
                    added.append(name)
            lines = [*filter(None, _lines(target, language)), *added]
            setattr(target, f"synonyms_{language}", "\n".join(lines))
        target.save(update_fields=[*languages.columns("synonyms"), "modified"])
        if isinstance(entry, Condition):
            moved = _move_condition(entry, target)
        else:
            moved = _move_specialty(entry, target)
        _repoint(entry, target)
        entry.delete()
        index.rebuild(moved)
    index.add_taxonomy_terms()
    return len(moved)


def _move_condition(entry: Condition, target: Condition) -> list[int]:
    links = SpecialistCondition.objects.filter(condition=entry)
    ids = list(links.values_list("specialist_id", flat=True))
    having = set(
        SpecialistCondition.objects.filter(condition=target, specialist_id__in=ids).values_list(
            "specialist_id", flat=True
        )
    )
    links.filter(specialist_id__in=having).delete()
    links.update(condition=target)
    target.specialties.add(*entry.specialties.all())
    return ids


def _move_specialty(entry: Specialty, target: Specialty) -> list[int]:
    ids = list(Specialist.objects.filter(specialties=entry).values_list("pk", flat=True))
    for specialist in Specialist.objects.filter(pk__in=ids):
        specialist.specialties.add(target)
    for condition in Condition.objects.filter(specialties=entry):
        condition.specialties.add(target)
    if target.parent_id == entry.pk:  # a sub-field takes the place of its broader field
        target.parent = entry.parent
        target.save(update_fields=["parent"])
    return ids


def _repoint(entry, target) -> None:
    """Whatever else names the entry (a request about the condition, a sub-field's broader
    field) names the target instead, rather than losing it with the entry."""
    for relation in type(entry)._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and relation.one_to_many):
            continue  # not a foreign key of another model's rows (those with related_name="+"
            # included: a request's condition)
        if (
            relation.related_model is SpecialistCondition
            or relation.related_model._meta.auto_created
        ):
            continue  # moved above, as are the rows of many-to-many tables
        name = relation.field.name
        relation.related_model._base_manager.filter(**{name: entry}).update(**{name: target})
