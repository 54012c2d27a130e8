"""The FHIR API as a consumer uses it: fhirpy, a FHIR client library, talks to a live server
over HTTP, searching, paging by the Bundle's next links, including, reading and hearing 404s as
its own errors (docs/api.md)."""

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from directory.models import Clinic
from tests.factories import AffiliationFactory, LocationFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(live_server, settings) -> SyncFHIRClient:
    """A client of the API at the live server's address, which is the site's address too: the
    links in Bundles (built from SITE_URL) lead back to it."""
    settings.SITE_URL = live_server.url
    return SyncFHIRClient(f"{live_server.url}/fhir", requests_config={"timeout": 30})


@pytest.fixture
def directory(db):
    """Five cardiologists at a practice in Berlin-Mitte (10115), one Müller among them; a
    cardiologist in Munich (80331), a dermatologist in Berlin and a draft cardiologist in
    Berlin."""
    cardiology = SpecialtyFactory(slug="cardiology", name_en="Cardiology")
    dermatology = SpecialtyFactory(slug="dermatology", name_en="Dermatology")
    berlin = LocationFactory(
        clinic__name="Herzpraxis Mitte",
        clinic__kind=Clinic.Kind.PRACTICE,
        street="Invalidenstraße 1",
        postcode="10115",
        city="Berlin",
        latitude=52.530,
        longitude=13.384,
    )
    munich = LocationFactory(
        street="Marienplatz 1", postcode="80331", city="München", latitude=48.137, longitude=11.575
    )
    family_names = ["Müller", "Herz", "Klopf", "Puls", "Schlag"]
    roles = [
        AffiliationFactory(location=berlin, specialist__family_name=name) for name in family_names
    ]
    elsewhere = AffiliationFactory(location=munich, specialist__family_name="Bayer")
    skin = AffiliationFactory(location=berlin, specialist__family_name="Haut")
    draft = AffiliationFactory(
        location=berlin, specialist__family_name="Entwurf", specialist__status="draft"
    )
    for role in [*roles, elsewhere, draft]:
        role.specialist.specialties.add(cardiology)
    skin.specialist.specialties.add(dermatology)
    return {
        "roles": roles,
        "elsewhere": elsewhere,
        "draft": draft,
        "berlin": berlin,
        "munich": munich,
    }


def test_a_client_finds_practitioners_by_name_and_family(api, directory):
    mueller = directory["roles"][0].specialist

    found = api.resources("Practitioner").search(family="mueller").fetch()
    assert [practitioner.id for practitioner in found] == [str(mueller.pk)]
    assert found[0].get_by_path(["name", 0, "family"]) == "Müller"

    by_name = api.resources("Practitioner").search(name="müll").fetch_all()
    assert [practitioner.id for practitioner in by_name] == [str(mueller.pk)]
    assert api.resources("Practitioner").search(family="Entwurf").fetch() == []
    # The index of "family given" narrows the search; the family name alone decides.
    assert api.resources("Practitioner").search(family="mueller erika").fetch() == []


def test_a_client_pages_through_roles_by_specialty_and_postcode_with_includes(api, directory):
    roles = directory["roles"]
    search = (
        api.resources("PractitionerRole")
        .search(specialty="cardiology", location__address_postalcode="10115")
        .include("PractitionerRole", "practitioner")
        .include("PractitionerRole", "location")
        .limit(2)
    )

    first = search.fetch_raw()
    assert first.total == 5
    assert [link.relation for link in first.link] == ["self", "first", "next"]
    modes = {(entry.resource.resourceType, entry.search.mode) for entry in first.entry}
    assert modes == {
        ("PractitionerRole", "match"),
        ("Practitioner", "include"),
        ("Location", "include"),
    }
    included = [entry.resource for entry in first.entry if entry.search.mode == "include"]
    matches = [entry.resource for entry in first.entry if entry.search.mode == "match"]
    assert len(matches) == 2
    assert sorted(r.id for r in included if r.resourceType == "Practitioner") == sorted(
        m.practitioner.reference.removeprefix("Practitioner/") for m in matches
    )
    assert [r.id for r in included if r.resourceType == "Location"] == [str(directory["berlin"].pk)]

    # fetch_all follows Bundle.link next to the last page (three pages of two) and keeps the
    # roles, not the included resources.
    every = search.fetch_all()
    assert [role.id for role in every] == [str(role.pk) for role in roles]
    assert {role.get_by_path(["specialty", 0, "coding", 0, "code"]) for role in every} == {
        "cardiology"
    }

    munich = (
        api.resources("PractitionerRole")
        .search(specialty="cardiology", location__address_postalcode="80331")
        .fetch_all()
    )
    assert [role.id for role in munich] == [str(directory["elsewhere"].pk)]


def test_a_client_reads_by_id_and_hears_404_for_a_draft(api, directory):
    role = directory["roles"][1]

    practitioner = api.reference("Practitioner", str(role.specialist_id)).to_resource()
    assert practitioner.resourceType == "Practitioner"
    assert practitioner.get_by_path(["name", 0, "family"]) == "Herz"
    read = api.get("PractitionerRole", str(role.pk))
    assert read["practitioner"]["reference"] == f"Practitioner/{role.specialist_id}"

    with pytest.raises(ResourceNotFound, match="not published"):
        api.get("Practitioner", str(directory["draft"].specialist_id))
    with pytest.raises(ResourceNotFound):
        api.get("PractitionerRole", str(directory["draft"].pk))


def test_a_client_finds_locations_near_a_point(api, directory):
    near_berlin = api.resources("Location").search(near="52.52|13.40|10|km").fetch_all()
    assert [location.id for location in near_berlin] == [str(directory["berlin"].pk)]
    assert near_berlin[0].get_by_path(["address", "postalCode"]) == "10115"

    wide = api.resources("Location").search(near="50.0|12.5|500|km").fetch_all()
    assert {location.id for location in wide} == {
        str(directory["berlin"].pk),
        str(directory["munich"].pk),
    }


def test_a_client_hears_an_unknown_parameter_as_an_operation_outcome(api, directory):
    with pytest.raises(OperationOutcome) as raised:
        api.resources("Practitioner").sort("family").fetch()
    assert raised.value.resource["issue"][0]["code"] == "not-supported"
    assert "_sort" in raised.value.resource["issue"][0]["diagnostics"]

    lenient = SyncFHIRClient(api.url, extra_headers={"Prefer": "handling=lenient"})
    assert len(lenient.resources("Practitioner").sort("family").fetch_all()) == 7
