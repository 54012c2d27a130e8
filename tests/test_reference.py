"""The reference vocabulary (directory/reference/) and load_taxonomy(): it adds what is missing
and never takes away or overwrites what editors wrote."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.models import Specialty, snomed_validator
from directory.reference import load_taxonomy, read
from tests.factories import SpecialtyFactory

pytestmark = pytest.mark.django_db


def test_the_snomed_codes_of_the_reference_fields_are_concept_ids_and_unique():
    codes = [entry["snomed"] for entry in read("specialties.yaml") if "snomed" in entry]
    assert len(codes) == 67
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert isinstance(code, str)  # quoted in the file: a code is text, as in the model
        snomed_validator(code)


def test_load_taxonomy_fills_snomed_codes_and_keeps_an_editors_own():
    own = SpecialtyFactory(slug="cardiology", name_en="Cardiology", snomed_code="123456789")
    bare = SpecialtyFactory(slug="dermatology", name_en="Dermatology", snomed_code="")

    load_taxonomy()

    own.refresh_from_db()
    bare.refresh_from_db()
    assert own.snomed_code == "123456789"  # the editor's, not the reference's 394579002
    assert bare.snomed_code == "394582007"
    assert Specialty.objects.get(slug="neurology").snomed_code == "394591006"  # created with it
    assert Specialty.objects.get(slug="anatomy").snomed_code == ""  # none fits exactly

    load_taxonomy()  # idempotent
    own.refresh_from_db()
    assert own.snomed_code == "123456789"


def test_load_taxonomy_costs_the_same_queries_for_one_code_to_fill_or_all():
    load_taxonomy()

    def queries_to_fill(pks: list[int]) -> int:
        Specialty.objects.filter(pk__in=pks).update(snomed_code="")
        with CaptureQueriesContext(connection) as queries:
            report = load_taxonomy()
        assert report.updated["specialties"] == len(pks)
        assert not Specialty.objects.filter(pk__in=pks, snomed_code="").exists()
        return len(queries)

    coded = list(Specialty.objects.exclude(snomed_code="").values_list("pk", flat=True))
    assert len(coded) == 67
    cardiology = Specialty.objects.get(slug="cardiology").pk
    assert queries_to_fill([cardiology]) == queries_to_fill(coded)
