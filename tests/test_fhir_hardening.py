"""The FHIR API against what a careless or hostile client sends, and its name searches as the
name indexes serve them (fhirapi.search, directory.models.folded): no 500, every refusal an
OperationOutcome, values that name nothing match nothing, a name is found by any of its
words, and a search reads the same rows whether its matches are few (sorted) or many (walked
along the primary key)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from django.utils.http import http_date

from fhirapi import search
from tests.factories import (
    AffiliationFactory,
    ClinicFactory,
    ConditionFactory,
    SpecialistFactory,
)
from tests.test_fhir_api import fhir, ids, issues, link

pytestmark = pytest.mark.django_db


@pytest.fixture
def hans(db):
    """Prof. Dr. Hans Peter Weber, one specialist with two given names and a title."""
    return SpecialistFactory(
        honorific_prefix="Prof. Dr.", given_name="Hans Peter", family_name="Müller Weber"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/Practitioner/%C2%B2",  # ² passes str.isdigit, not int()
        "/fhir/Practitioner/%EF%BC%91",  # a full-width 1
        "/fhir/HealthcareService/dept-%C2%B2",
        "/fhir/HealthcareService/focus-%C2%B2-1",
    ],
)
def test_ids_in_other_digits_are_404(client, hans, path):
    assert "not" in issues(fhir(client, path, status=404)).lower()


def test_an_id_is_read_only_as_written(client, hans):
    assert fhir(client, f"/fhir/Practitioner/{hans.pk}")["id"] == str(hans.pk)
    fhir(client, f"/fhir/Practitioner/0{hans.pk}", status=404)


@pytest.mark.parametrize(
    "query",
    ["_count=%C2%B2", "_after=%C2%B2", "_before=%C2%B9%C2%B2"],
)
def test_paging_values_in_other_digits_are_400(client, hans, query):
    fhir(client, f"/fhir/Practitioner?{query}", status=400)


@pytest.mark.parametrize(
    "query",
    [
        "_id=%C2%B2",
        "practitioner=%C2%B2",
        "organization=Organization/%C2%B2",
        "location=%EF%BC%91",
    ],
)
def test_references_in_other_digits_name_nothing(client, hans, query):
    kind = "Practitioner" if query.startswith("_id") else "PractitionerRole"
    assert ids(fhir(client, f"/fhir/{kind}?{query}")) == []


@pytest.mark.parametrize(
    "query",
    ["identifier=%00", "name:exact=a%00b", "family:exact=%01", "given=x%7F", "na%00me=x"],
)
def test_control_characters_are_400(client, hans, query):
    assert "control characters" in issues(fhir(client, f"/fhir/Practitioner?{query}", status=400))


def test_a_query_django_will_not_read_is_a_400_operation_outcome(client, hans):
    query = "&".join(f"x{number}=a" for number in range(1100))
    outcome = fhir(client, f"/fhir/Practitioner?{query}", status=400)
    assert outcome["issue"][0]["code"] == "too-costly"


def test_more_than_the_allowed_values_is_too_costly(client, hans):
    allowed = ",".join(["zq"] * search.MAX_VALUES)
    assert ids(fhir(client, f"/fhir/Practitioner?name={allowed}")) == []
    outcome = fhir(client, f"/fhir/Practitioner?name={allowed}&family=zq", status=400)
    assert outcome["issue"][0]["code"] == "too-costly"


@pytest.mark.parametrize(
    "query", ["name=zzz,", "name=%25", "name=-", "family=.", "given=%20", "name=%C3"]
)
def test_values_of_punctuation_only_name_nothing(client, hans, query):
    assert ids(fhir(client, f"/fhir/Practitioner?{query}")) == []
    if query.startswith("name"):
        assert ids(fhir(client, f"/fhir/Organization?{query}")) == []


def test_a_name_is_found_by_any_of_its_words(client, hans):
    peterson = SpecialistFactory(given_name="Peterson", family_name="Anders")
    other = SpecialistFactory(given_name="Petra", family_name="Webering")
    me = str(hans.pk)

    def found(query: str) -> list[str]:
        return ids(fhir(client, f"/fhir/Practitioner?{query}"))

    assert found("given=Peter") == [me, str(peterson.pk)]  # Peter, Peterson
    assert found("given=hans") == [me]
    assert found("given=weber") == []  # a family name is no given name
    assert found("family=weber") == [str(other.pk)]  # a family name from its start
    assert found("family=müller w") == [me]
    assert found("family=hans") == []
    assert found("name=peter weber") == []  # words are found from their start, one at a time
    assert found("name=hans peter") == [me]
    assert found("name=prof dr hans") == [me]
    assert found("name=webe") == sorted([me, str(other.pk)], key=int)
    # Shorter than WORD_MIN: the name's forms from their start only, not its later words.
    assert found("name=pe") == [str(peterson.pk), str(other.pk)]


def test_exact_matches_the_name_as_written_or_a_part(client, hans):
    me = [str(hans.pk)]

    def found(value: str) -> list[str]:
        return ids(fhir(client, f"/fhir/Practitioner?name:exact={value}"))

    assert found("Prof. Dr. Hans Peter Müller Weber") == me
    assert found("Prof. Dr.") == me
    assert found("Hans Peter") == me
    assert found("Müller Weber") == me
    assert found("müller weber") == []  # exact is exact
    assert ids(fhir(client, "/fhir/Practitioner?given:exact=Hans Peter")) == me
    assert ids(fhir(client, "/fhir/Practitioner?family:exact=Müller Weber")) == me


def test_a_specialists_service_is_found_by_the_condition_or_any_word_of_the_name(client, hans):
    place = AffiliationFactory(specialist=hans)
    condition = ConditionFactory(name_en="Liver metastases", name_de="Lebermetastasen")
    hans.specialistcondition_set.create(condition=condition)
    service = f"focus-{hans.pk}-{condition.pk}"
    assert place.clinic.status == "published"

    def found(query: str) -> list[str]:
        bundle = fhir(client, f"/fhir/HealthcareService?{query}")
        return [item for item in ids(bundle) if item.startswith("focus-")]

    for query in ["name=liver", "name=lebermeta", "name=peter", "name=müller", "name:contains=ter"]:
        assert found(query) == [service], query
    assert found("name=metastases") == []  # from its start
    assert found("name:contains=metastases") == [service]
    assert found("name=zzqx") == []


@pytest.mark.parametrize("few", [0, 10_000])
def test_a_search_reads_the_same_pages_whether_it_sorts_or_walks_the_key(client, monkeypatch, few):
    monkeypatch.setattr(search, "FEW_MATCHES", few)
    made = sorted(
        SpecialistFactory.create_batch(5, family_name="Keller"),
        key=lambda specialist: specialist.pk,
    )
    SpecialistFactory(family_name="Kellner")
    bundle = fhir(client, "/fhir/Practitioner?family=keller&_count=2")
    pages = [ids(bundle)]
    while (following := link(bundle, "next")) is not None:
        bundle = fhir(client, following)
        pages.append(ids(bundle))
    assert [int(i) for page in pages for i in page] == [s.pk for s in made]
    assert ids(fhir(client, link(bundle, "previous"))) == [str(s.pk) for s in made[2:4]]


def test_the_total_is_counted_up_to_the_limit_unless_asked_for_accurately(client, monkeypatch):
    monkeypatch.setattr(search, "MAX_COUNTED", 3)
    SpecialistFactory.create_batch(3, family_name="Keller")
    assert fhir(client, "/fhir/Practitioner?family=keller&_count=1")["total"] == 3
    SpecialistFactory(family_name="Keller")
    bundle = fhir(client, "/fhir/Practitioner?family=keller&_count=1")
    assert "total" not in bundle
    assert link(bundle, "next") is not None
    assert fhir(client, "/fhir/Practitioner?family=keller&_total=accurate")["total"] == 4
    assert fhir(client, "/fhir/Practitioner?family=zzqx")["total"] == 0


def test_reads_ignore_the_preconditions_of_writes(client, hans):
    path = f"/fhir/Practitioner/{hans.pk}"
    assert fhir(client, path, **{"If-Match": 'W/"x"'})["id"] == str(hans.pk)
    assert fhir(client, path, **{"If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})
    future = http_date((timezone.now() + timedelta(days=3650)).timestamp())
    assert client.get(path, headers={"If-Modified-Since": future}).status_code == 200
    current = client.get(path)
    since = current["Last-Modified"]
    assert client.get(path, headers={"If-Modified-Since": since}).status_code == 304


def test_format_forms_a_client_may_send(client, hans):
    assert fhir(client, "/fhir/Practitioner?_format=")["resourceType"] == "Bundle"
    assert fhir(client, "/fhir/Practitioner?_format=application/fhir+json")["type"] == "searchset"
    response = client.get("/fhir/Practitioner")
    assert "Prefer" in response["Vary"]


def test_a_service_is_conditional_on_its_etag_only(client, hans):
    place = AffiliationFactory(specialist=hans)
    condition = ConditionFactory(name_en="Gout", name_de="Gicht")
    hans.specialistcondition_set.create(condition=condition)
    response = client.get(f"/fhir/HealthcareService/focus-{hans.pk}-{condition.pk}")
    assert response.status_code == 200
    assert "Last-Modified" not in response  # its date does not follow the clinic's name
    assert "Last-Modified" in client.get(f"/fhir/Organization/{place.clinic_id}")
    assert "Last-Modified" not in client.get(f"/fhir/Location/{place.location_id}")
    statement = fhir(client, "/fhir/metadata")
    reads = {item["type"]: item["conditionalRead"] for item in statement["rest"][0]["resource"]}
    assert reads["HealthcareService"] == reads["Location"] == "not-match"
    assert reads["Practitioner"] == "full-support"
    etag = response["ETag"]
    again = client.get(response.wsgi_request.path, headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_a_role_links_the_specialists_services_and_each_link_resolves(client, hans):
    place = AffiliationFactory(specialist=hans)
    gout = ConditionFactory(name_en="Gout", name_de="Gicht")
    hidden = ConditionFactory(name_en="Unchecked", name_de="Ungeprüft", needs_review=True)
    hans.specialistcondition_set.create(condition=gout)
    hans.specialistcondition_set.create(condition=hidden, position=2)
    role = fhir(client, f"/fhir/PractitionerRole/{place.pk}")
    assert role["healthcareService"] == [
        {"reference": f"HealthcareService/focus-{hans.pk}-{gout.pk}", "display": "Gout"}
    ]
    service = fhir(client, f"/fhir/{role['healthcareService'][0]['reference']}")
    assert service["name"].startswith("Gout: ")


def test_a_services_total_is_left_out_beyond_the_limit_as_any_other(client, hans, monkeypatch):
    hospital = ClinicFactory()
    place = AffiliationFactory(specialist=hans, location__clinic__parent=hospital)
    hans.specialistcondition_set.create(condition=ConditionFactory(name_en="Gout", name_de="Gicht"))
    bundle = fhir(client, "/fhir/HealthcareService")
    assert bundle["total"] == 2  # the department and the specialist's service
    assert sorted(ids(bundle))[0] == f"dept-{place.clinic_id}"
    monkeypatch.setattr(search, "MAX_COUNTED", 1)
    cache.clear()
    assert "total" not in fhir(client, "/fhir/HealthcareService")  # each part within, not both
    assert fhir(client, "/fhir/HealthcareService?_total=accurate")["total"] == 2


def test_reads_refuse_parameters_they_do_not_take_unless_lenient(client, hans):
    path = f"/fhir/Practitioner/{hans.pk}"
    assert fhir(client, f"{path}?_format=json&_pretty=true")["id"] == str(hans.pk)
    outcome = fhir(client, f"{path}?_summary=true&_elements=id", status=400)
    assert "_elements, _summary" in issues(outcome)
    assert fhir(client, f"{path}?_summary=true", Prefer="handling=lenient")["id"] == str(hans.pk)


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("application/fhir+json;q=0", 406),
        ("*/*;q=0, text/html", 406),
        ("text/html, application/fhir+json;q=0.5", 200),
        ("application/json; q=0.0, */*;q=0.1", 200),
    ],
)
def test_a_type_refused_with_q_zero_is_not_accepted(client, hans, accept, status):
    response = client.get("/fhir/Practitioner", headers={"Accept": accept})
    assert response.status_code == status


def test_a_boolean_token_has_no_system(client, hans):
    assert ids(fhir(client, "/fhir/Practitioner?active=true")) == [str(hans.pk)]
    assert ids(fhir(client, "/fhir/Practitioner?active=|true")) == [str(hans.pk)]
    fhir(client, "/fhir/Practitioner?active=http://example.org|true", status=400)
