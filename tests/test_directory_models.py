"""Rules of the listing models and the gazetteer."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from directory.models import Location, Specialist
from directory.places import fold, resolve_place
from tests.factories import (
    AffiliationFactory,
    ClinicFactory,
    ConditionFactory,
    LocationFactory,
    SpecialistFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "spellings",
    [("Zürich", "Zuerich", "Zurich"), ("Schüßler", "Schuessler", "Schussler"), ("Köln", "koeln")],
)
def test_fold_makes_umlauts_accents_and_their_spellings_equal(spellings):
    assert len({fold(spelling) for spelling in spellings}) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wien", "Wien"),
        ("Vienna", "Wien"),
        ("Genf", "Genf"),
        ("Geneva", "Genf"),
        ("Zurich", "Zürich"),
        ("Zürich", "Zürich"),
        ("muenchen", "München"),
        ("Cologne", "Köln"),
        ("vienna", "Wien"),
    ],
)
def test_gazetteer_resolves_cities_in_english_german_and_without_umlauts(text, expected):
    place = resolve_place(text)

    assert place is not None
    assert place.name_de == expected


def test_gazetteer_resolves_a_slug_and_knows_nothing_of_invented_places():
    assert resolve_place("vienna").country == "AT"
    assert resolve_place("Atlantis an der Spree") is None


def test_location_without_coordinates_takes_them_from_the_gazetteer():
    location = LocationFactory(city="Graz", country="AT", latitude=None, longitude=None)

    assert location.place.name_de == "Graz"
    assert location.latitude == pytest.approx(47.07, abs=0.1)
    assert location.longitude == pytest.approx(15.44, abs=0.1)


def test_location_keeps_coordinates_an_editor_entered():
    location = LocationFactory(city="Graz", country="AT", latitude=47.1, longitude=15.5)

    assert (location.latitude, location.longitude) == (47.1, 15.5)


def test_published_hides_drafts_and_archived_listings():
    published = SpecialistFactory(status="published")
    SpecialistFactory(status="draft")
    SpecialistFactory(status="archived")

    assert list(Specialist.objects.published()) == [published]


def test_in_country_finds_specialists_by_where_they_practise():
    in_austria = AffiliationFactory(location__country="AT", location__city="Graz").specialist
    AffiliationFactory(location__country="DE")

    assert list(Specialist.objects.in_country("AT")) == [in_austria]


def test_treating_finds_specialists_by_treatment_focus():
    condition = ConditionFactory()
    specialist = SpecialistFactory()
    specialist.conditions.add(condition)
    SpecialistFactory()

    assert list(Specialist.objects.treating(condition)) == [specialist]


def test_unverified_flags_listings_older_than_twelve_months_or_never_verified():
    today = timezone.localdate()
    fresh = SpecialistFactory(last_verified=today - timedelta(days=30))
    stale = SpecialistFactory(last_verified=today - timedelta(days=400))
    never = SpecialistFactory(last_verified=None)

    assert set(Specialist.objects.unverified()) == {stale, never}
    assert fresh not in Specialist.objects.unverified()


def test_a_specialist_has_only_one_primary_place_of_work():
    affiliation = AffiliationFactory(is_primary=True)
    other = LocationFactory()

    with pytest.raises(IntegrityError):
        AffiliationFactory(
            specialist=affiliation.specialist, location=other, clinic=other.clinic, is_primary=True
        )


def test_an_affiliation_location_must_belong_to_its_clinic():
    affiliation = AffiliationFactory.build(
        specialist=SpecialistFactory(), location=LocationFactory(), clinic=ClinicFactory()
    )

    with pytest.raises(ValidationError, match="another clinic"):
        affiliation.clean()


def test_condition_icd10_code_is_checked():
    condition = ConditionFactory(icd10="liver")

    with pytest.raises(ValidationError):
        condition.full_clean()


def test_saving_updates_modified():
    specialist = SpecialistFactory()
    before = specialist.modified

    specialist.save()

    assert specialist.modified > before


def test_display_name_joins_title_and_names():
    specialist = SpecialistFactory.build(
        honorific_prefix="Prof. Dr. med.", given_name="Anna", family_name="Roth"
    )

    assert specialist.display_name == "Prof. Dr. med. Anna Roth"


def test_location_in_an_unknown_city_without_coordinates_stays_without():
    location = Location(
        clinic=ClinicFactory(), street="A 1", postcode="1", city="Nirgendwo", country="DE"
    )

    assert location.fill_coordinates_from_gazetteer() is False
    assert location.latitude is None


def test_a_location_without_coordinates_sits_in_its_postcode_area_not_the_town_centre():
    """22303 is in the north of Hamburg: a practice there is not 0 km from Hamburg."""
    from directory.places import distance_km

    location = Location.objects.create(
        clinic=ClinicFactory(), street="A 1", postcode="22303", city="Hamburg", country="DE"
    )
    hamburg = location.place.parent or location.place
    # The postcode's row of the district the address is placed in (Barmbek-Nord).
    assert location.place.name_de == "Barmbek-Nord"
    assert location.latitude == pytest.approx(53.5961, abs=0.001)
    assert location.longitude == pytest.approx(10.0511, abs=0.001)
    assert (
        distance_km(location.latitude, location.longitude, hamburg.latitude, hamburg.longitude) > 2
    )


def test_a_postcode_of_several_places_puts_the_address_in_its_own_place():
    """01454 is Radeberg's and Wachau's: a practice in Wachau sits in Wachau's part of it."""
    location = Location.objects.create(
        clinic=ClinicFactory(), street="A 1", postcode="01454", city="Wachau", country="DE"
    )
    assert location.place.name_de == "Wachau"
    assert location.latitude == pytest.approx(51.1617, abs=0.001)
    assert location.longitude == pytest.approx(13.9065, abs=0.001)


def test_a_postcode_far_from_the_town_named_gives_way_to_the_town():
    """80331 is Munich's: with "Hamburg" beside it one of them is a typo; the town wins."""
    location = Location.objects.create(
        clinic=ClinicFactory(), street="A 1", postcode="80331", city="Hamburg", country="DE"
    )
    assert location.latitude == pytest.approx(53.55, abs=0.1)
