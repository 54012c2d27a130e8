"""Translated fields: one column per language (name_en, name_de ...), by django-modeltranslation."""

from modeltranslation.translator import TranslationOptions, register

from directory.models import Certification, Clinic, Condition, Location, Specialist, Specialty


@register(Specialty)
class SpecialtyTranslation(TranslationOptions):
    fields = ("name", "synonyms")
    required_languages = {"en": ("name",), "de": ("name",)}


@register(Condition)
class ConditionTranslation(TranslationOptions):
    fields = ("name", "synonyms", "documents")
    required_languages = {"en": ("name",), "de": ("name",)}


@register(Clinic)
class ClinicTranslation(TranslationOptions):
    fields = ("description",)


@register(Certification)
class CertificationTranslation(TranslationOptions):
    fields = ("title",)
    required_languages = {"en": ("title",)}


@register(Location)
class LocationTranslation(TranslationOptions):
    fields = ("opening_hours", "accessibility_note")


@register(Specialist)
class SpecialistTranslation(TranslationOptions):
    # The position and the memberships and certifications read in the page's language too.
    fields = ("biography", "headline", "memberships", "certifications")
