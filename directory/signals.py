"""Keep the search index (directory.search) in step with every change an editor, an import or
the code makes to a listing."""

from django.db import transaction
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from directory.models import (
    Affiliation,
    Certification,
    Clinic,
    Closure,
    Condition,
    Location,
    LocationFeature,
    SlotSource,
    Specialist,
    SpecialistCondition,
    SpecialistSearch,
    Specialty,
    WeeklyTemplate,
)
from directory.search import index, keys


def _raw(kwargs) -> bool:
    # Fixtures (loaddata) save raw rows; load_demo rebuilds the index after them.
    return kwargs.get("raw", False)


@receiver(post_save, sender=Specialist)
def specialist_saved(sender, instance, **kwargs):
    if not _raw(kwargs):
        index.rebuild([instance.pk])


@receiver(pre_delete, sender=Specialist)
def specialist_deleting(sender, instance, **kwargs):
    # Its affiliations and focus are deleted first; their receivers must not index it again.
    index.forget(instance.pk)


@receiver(post_delete, sender=Specialist)
def specialist_deleted(sender, instance, **kwargs):
    index.remember(instance.pk)
    keys.bump_generation()


@receiver([post_save, post_delete], sender=Affiliation)
@receiver([post_save, post_delete], sender=SpecialistCondition)
def listing_part_changed(sender, instance, **kwargs):
    if not _raw(kwargs):
        index.rebuild([instance.specialist_id])


def _m2m_rebuild(instance, action, reverse, pk_set, specialists_of) -> None:
    """After add(), remove() or clear() on a specialist's fields or conditions, from either
    side: those relations are written in bulk, without saves."""
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if not reverse:
        index.rebuild([instance.pk])
    else:  # from the field or condition: the given specialists, or all of it (clear)
        index.rebuild(pk_set or specialists_of(instance.pk))


@receiver(m2m_changed, sender=Specialist.conditions.through)
def conditions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    _m2m_rebuild(instance, action, reverse, pk_set, _specialists_with_condition)


@receiver(m2m_changed, sender=Specialist.specialties.through)
def specialties_changed(sender, instance, action, reverse, pk_set, **kwargs):
    _m2m_rebuild(instance, action, reverse, pk_set, _specialists_with_field)


@receiver(post_save, sender=Clinic)
def clinic_saved(sender, instance, **kwargs):
    if not _raw(kwargs):
        # Its departments' specialists too: a hospital's certification counts for them.
        _rebuild_certified(instance.pk)  # clinic pages, also of clinics with no one listed


@receiver(post_save, sender=Location)
@receiver([post_save, post_delete], sender=Closure)
@receiver([post_save, post_delete], sender=LocationFeature)
def location_changed(sender, instance, **kwargs):
    """A location, its closures or its accessibility facts change what the pages say and the
    filters find."""
    if not _raw(kwargs):
        location_id = instance.pk if sender is Location else instance.location_id
        specialists = Affiliation.objects.filter(location_id=location_id)
        index.rebuild(specialists.values_list("specialist_id", flat=True))
        keys.bump_generation(counts=False)


@receiver([post_save, post_delete], sender=Certification)
def certification_changed(sender, instance, **kwargs):
    """A certification counts for the specialists of its clinic and of the clinic's departments
    ("certified centre"), and shows on the clinic and condition pages."""
    if not _raw(kwargs):
        _rebuild_certified(instance.clinic_id)


@receiver(m2m_changed, sender=Certification.conditions.through)
def certification_conditions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if not reverse:
        _rebuild_certified(instance.clinic_id)
    else:  # from the condition: the certifications given, or all of it (clear)
        certifications = Certification.objects.filter(
            pk__in=pk_set if pk_set else instance.certifications.values("pk")
        )
        for clinic_id in set(certifications.values_list("clinic_id", flat=True)):
            _rebuild_certified(clinic_id)


def _rebuild_certified(clinic_id: int) -> None:
    at_clinic = Affiliation.objects.filter(Q(clinic_id=clinic_id) | Q(clinic__parent_id=clinic_id))
    index.rebuild(at_clinic.values_list("specialist_id", flat=True))
    keys.bump_generation(counts=False)


@receiver(post_delete, sender=Clinic)
@receiver(post_delete, sender=Location)
def clinic_part_deleted(sender, instance, **kwargs):
    keys.bump_generation()


@receiver(post_save, sender=Specialty)
def specialty_saved(sender, instance, **kwargs):
    """A field's broader field may have changed: its specialists and those of its sub-fields
    are filed under new ancestors."""
    if not _raw(kwargs):
        index.rebuild(_specialists_with_field(instance.pk))
        index.add_taxonomy_terms()


@receiver(post_save, sender=Condition)
def condition_saved(sender, instance, **kwargs):
    if not _raw(kwargs):
        index.add_taxonomy_terms()


@receiver([post_delete], sender=Specialty)
@receiver([post_delete], sender=Condition)
def taxonomy_deleted(sender, instance, **kwargs):
    keys.bump_generation(taxonomy=True)


def _specialists_with_field(specialty_id: int) -> set[int]:
    direct = Specialist.specialties.through.objects.filter(specialty_id=specialty_id)
    indexed = SpecialistSearch.objects.filter(specialty_ids__contains=[specialty_id])
    return {
        *direct.values_list("specialist_id", flat=True),
        *indexed.values_list("specialist_id", flat=True),
    }


def _specialists_with_condition(condition_id: int):
    return SpecialistSearch.objects.filter(condition_ids__contains=[condition_id]).values_list(
        "specialist_id", flat=True
    )


@receiver(post_save, sender=Affiliation)
def place_of_work_moved(sender, instance, **kwargs):
    """A place of work moved to another location: its weekly times (and their slots) move
    with it."""
    if _raw(kwargs):
        return
    from directory.slots import weekly

    moved = WeeklyTemplate.objects.filter(affiliation=instance).exclude(
        location_id=instance.location_id
    )
    for pk in moved.values_list("pk", flat=True):
        weekly.regenerate(pk)


@receiver(post_delete, sender=SlotSource)
@receiver(post_delete, sender=WeeklyTemplate)
def free_times_gone(sender, instance, **kwargs):
    """A source or weekly times deleted, and their slots with them: the next free times and
    the pages that list times follow."""
    from directory.slots import availability

    if isinstance(instance, WeeklyTemplate):
        # Read after the commit: the place of work may be going with it.
        specialists = Affiliation.objects.filter(pk=instance.affiliation_id).values_list(
            "specialist_id", flat=True
        )
    elif instance.specialist_id:
        specialists = [instance.specialist_id]
    else:
        specialists = Affiliation.objects.filter(clinic_id=instance.clinic_id).values_list(
            "specialist_id", flat=True
        )
    transaction.on_commit(lambda: availability.refresh(list(specialists)))
