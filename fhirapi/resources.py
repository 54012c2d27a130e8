"""The directory's listings as FHIR R4 resources: one function per type, each taking a row as
fhirapi.search reads it (related rows selected or prefetched, `last_updated` annotated) and
returning a plain dict. No queries here.

IDs are the database IDs (they never change; slugs may, when an editor renames a listing); the
slug is given as an identifier of our own system.
"""

from datetime import UTC, time

from django.utils import translation

from core import languages
from directory import hours
from directory.models import VHDIR_ACCESSIBILITY, Clinic, Feature, Status, language_name
from directory.slots import publish
from directory.slots.weekly import time_zone
from fhirapi.http import base_url

BCP47 = "urn:ietf:bcp:47"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
# Medical fields' concepts, from the FHIR practice setting codes (ValueSet c80-practice-codes).
SNOMED = "http://snomed.info/sct"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
FHIR_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LATEST_TIME = time(23, 59, 59)  # FHIR's time has no 24:00


def code_system_url(name: str) -> str:
    """Our code systems: `specialty` (medical fields) and `condition` (conditions and
    treatments), with our slugs as codes; served at this address too."""
    return f"{base_url()}/CodeSystem/{name}"


def identifier_system(kind: str) -> str:
    """The system of our slugs as identifiers: `specialist` or `clinic`."""
    return f"{base_url()}/sid/{kind}"


def treatment_focus_extension() -> str:
    return f"{base_url()}/StructureDefinition/treatment-focus"


def instant(moment) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _meta(row) -> dict:
    return {"lastUpdated": instant(row.last_updated)}


def _reference(kind: str, pk: int | str, display: str = "") -> dict:
    reference = {"reference": f"{kind}/{pk}"}
    if display:
        reference["display"] = display
    return reference


def _telecom(phone: str = "", website: str = "") -> list[dict]:
    telecom = []
    if phone:
        telecom.append({"system": "phone", "value": phone, "use": "work"})
    if website:
        telecom.append({"system": "url", "value": website, "use": "work"})
    return telecom


def _coded(system_name: str, row) -> dict:
    """A medical field or condition as a CodeableConcept of our code system; a condition with an
    ICD-10 code has that coding too, a medical field with a SNOMED CT code that one."""
    with translation.override("en"):
        name = row.name
    codings = [{"system": code_system_url(system_name), "code": row.slug, "display": name}]
    if getattr(row, "icd10", ""):
        codings.append({"system": ICD10, "code": row.icd10})
    if getattr(row, "snomed_code", ""):
        codings.append({"system": SNOMED, "code": row.snomed_code})
    return {"coding": codings, "text": name}


def specialty_concepts(specialist) -> list[dict]:
    """The specialist's public medical fields (prefetched as `public_specialties`)."""
    return [_coded("specialty", field) for field in specialist.public_specialties]


def practitioner(specialist) -> dict:
    resource = {
        "resourceType": "Practitioner",
        "id": str(specialist.pk),
        "meta": _meta(specialist),
        "identifier": [
            {"use": "official", "system": identifier_system("specialist"), "value": specialist.slug}
        ],
        "active": True,
    }
    focus = [
        {
            "url": treatment_focus_extension(),
            "valueCodeableConcept": _coded("condition", item.condition),
        }
        for item in specialist.focus_items  # the public ones, in the order of the focus
    ]
    if focus:
        resource["extension"] = focus
    name = {"use": "official", "text": specialist.display_name, "family": specialist.family_name}
    if specialist.given_name:
        name["given"] = specialist.given_name.split()
    if specialist.honorific_prefix:
        name["prefix"] = [specialist.honorific_prefix]
    resource["name"] = [name]
    if telecom := _telecom(specialist.phone, specialist.website):
        resource["telecom"] = telecom
    if specialist.languages:
        resource["communication"] = [
            {
                "coding": [{"system": BCP47, "code": code, "display": language_name(code, "en")}],
                "text": language_name(code, "en"),
            }
            for code in specialist.languages
        ]
    qualifications = [{"code": {"text": line}} for line in specialist.certification_list]
    if qualifications:
        resource["qualification"] = qualifications
    return resource


def _organization_type(clinic) -> dict:
    department = clinic.kind == Clinic.Kind.DEPARTMENT
    with translation.override("en"):
        label = str(Clinic.Kind(clinic.kind).label) if clinic.kind in Clinic.Kind else ""
    coding = {
        "system": ORGANIZATION_TYPE,
        "code": "dept" if department else "prov",
        "display": "Hospital Department" if department else "Healthcare Provider",
    }
    concept = {"coding": [coding]}
    if label:
        concept["text"] = label
    return concept


def organization(clinic) -> dict:
    resource = {
        "resourceType": "Organization",
        "id": str(clinic.pk),
        "meta": _meta(clinic),
        "identifier": [
            {"use": "official", "system": identifier_system("clinic"), "value": clinic.slug}
        ],
        "active": True,
        "type": [_organization_type(clinic)],
        "name": clinic.name,
    }
    if telecom := _telecom(clinic.phone, clinic.website):
        resource["telecom"] = telecom
    parent = clinic.parent
    if parent is not None and parent.status == Status.PUBLISHED:
        resource["partOf"] = _reference("Organization", parent.pk, parent.name)
    return resource


def hours_of_operation(text: str) -> list[dict]:
    """The hours a location is open (consultation and by appointment; phone hours are not the
    door), one entry per set of days with the same times. Hours that run past midnight are
    split at it."""
    try:
        entries = hours.parse(text)
    except hours.HoursError:
        return []
    days: dict[tuple[time, time], list[int]] = {}
    for entry in entries:
        if entry.kind not in hours.OPEN_KINDS:
            continue
        opens, closes = entry.opens, entry.closes
        if closes == time(0):
            spans = [(entry.weekday, opens, LATEST_TIME)]
        elif closes <= opens:
            spans = [
                (entry.weekday, opens, LATEST_TIME),
                ((entry.weekday + 1) % 7, time(0), closes),
            ]
        else:
            spans = [(entry.weekday, opens, closes)]
        for weekday, start, end in spans:
            days.setdefault((start, end), [])
            if weekday not in days[(start, end)]:
                days[(start, end)].append(weekday)
    return [
        {
            "daysOfWeek": [FHIR_DAYS[day] for day in sorted(weekdays)],
            "openingTime": start.strftime("%H:%M:%S"),
            "closingTime": end.strftime("%H:%M:%S"),
        }
        for (start, end), weekdays in sorted(days.items(), key=lambda item: (min(item[1]), item[0]))
    ]


# The FHIR directory guide's (VhDir) accessibility extension, with its code system's displays.
ACCESSIBILITY_EXTENSION = "http://hl7.org/fhir/uv/vhdir/StructureDefinition/accessibility"
ACCESSIBILITY_SYSTEM = "http://hl7.org/fhir/uv/vhdir/CodeSystem/accessibility"
ACCESSIBILITY_DISPLAY = {
    "handiaccess": "handicap accessible",
    "cultcomp": "Cultural competence",
    "vision": "vision",
}


def accessibility(place) -> list[dict]:
    """VhDir's accessibility extension, one per accessibility fact the location has that still
    counts (present and confirmed recently enough, as for the site's step-free filter; prefetched
    as `current_features`), in the order of Feature, with our name of the fact as text."""
    order = list(Feature.values)
    facts = sorted(place.current_features, key=lambda fact: order.index(fact.feature))
    extensions = []
    for fact in facts:
        code = VHDIR_ACCESSIBILITY[Feature(fact.feature)]
        with translation.override("en"):
            label = str(Feature(fact.feature).label)
        coding = {
            "system": ACCESSIBILITY_SYSTEM,
            "code": code,
            "display": ACCESSIBILITY_DISPLAY[code],
        }
        extensions.append(
            {
                "url": ACCESSIBILITY_EXTENSION,
                "valueCodeableConcept": {"coding": [coding], "text": label},
            }
        )
    return extensions


def location(place) -> dict:
    clinic = place.clinic
    name = f"{clinic.name}, {place.name}" if place.name else clinic.name
    address = {
        "use": "work",
        "type": "physical",
        "text": f"{place.street}, {place.postcode} {place.city}",
        "line": [place.street],
        "city": place.city,
        "postalCode": place.postcode,
        "country": place.country,
    }
    if place.region:
        address["state"] = place.region
    resource = {
        "resourceType": "Location",
        "id": str(place.pk),
        "meta": _meta(place),
    }
    if extensions := accessibility(place):
        resource["extension"] = extensions
    resource |= {
        "status": "active",
        "name": name,
        "mode": "instance",
    }
    if telecom := _telecom(place.phone or clinic.phone):
        resource["telecom"] = telecom
    resource["address"] = address
    if place.latitude is not None and place.longitude is not None:
        resource["position"] = {"longitude": place.longitude, "latitude": place.latitude}
    resource["managingOrganization"] = _reference("Organization", clinic.pk, clinic.name)
    if opening := hours_of_operation(place.hours):
        resource["hoursOfOperation"] = opening
    return resource


def practitioner_role(affiliation) -> dict:
    specialist, clinic, place = affiliation.specialist, affiliation.clinic, affiliation.location
    resource = {
        "resourceType": "PractitionerRole",
        "id": str(affiliation.pk),
        "meta": _meta(affiliation),
        "active": True,
        "practitioner": _reference("Practitioner", specialist.pk, specialist.display_name),
        "organization": _reference("Organization", clinic.pk, clinic.name),
    }
    if affiliation.role_title:
        resource["code"] = [{"text": affiliation.role_title}]
    if specialties := specialty_concepts(specialist):
        resource["specialty"] = specialties
    resource["location"] = [_reference("Location", place.pk, f"{place.street}, {place.city}")]
    if services := focus_references(specialist):
        resource["healthcareService"] = services
    if telecom := _telecom(place.phone or clinic.phone):
        resource["telecom"] = telecom
    return resource


def focus_references(specialist) -> list[dict]:
    """The specialist's services (HealthcareService focus-…), one per item of the treatment
    focus (prefetched as `focus_items`)."""
    references = []
    for item in specialist.focus_items:
        with translation.override("en"):
            name = item.condition.name
        references.append(
            _reference("HealthcareService", f"focus-{specialist.pk}-{item.condition_id}", name)
        )
    return references


def code_system(name: str, title: str, description: str, rows, last_updated) -> dict:
    """One of our code systems, complete: every public entry with its English name as display
    and its names in the site's other languages as designations."""
    concepts = []
    for row in rows:
        concept = {"code": row.slug, "display": row.name_en or row.name_de or row.slug}
        designations = [
            {"language": code, "value": getattr(row, f"name_{code}")}
            for code in languages.codes()[1:]
            if getattr(row, f"name_{code}")
        ]
        if designations:
            concept["designation"] = designations
        concepts.append(concept)
    resource = {
        "resourceType": "CodeSystem",
        "id": name,
        "url": code_system_url(name),
        "name": title.replace(" ", ""),
        "title": title,
        "status": "active",
        "description": description,
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
    }
    if concepts:
        resource["concept"] = concepts
    if last_updated is not None:
        resource["meta"] = {"lastUpdated": instant(last_updated)}
    return resource


# --- Schedules and free slots -----------------------------------------------------------------


def schedule(template) -> dict:
    """Weekly times with bookable slots: a specialist's place of work (actors: the
    PractitionerRole, the Practitioner and the Location, specialty their medical fields) or a
    clinic's own times at a location (actor: the Location)."""
    place = template.location
    clinic = place.clinic
    actors = []
    resource = {
        "resourceType": "Schedule",
        "id": str(template.pk),
        "meta": _meta(template),
        "active": True,
    }
    if template.affiliation_id:
        specialist = template.affiliation.specialist
        actors.append(
            _reference("PractitionerRole", template.affiliation_id, specialist.display_name)
        )
        actors.append(_reference("Practitioner", specialist.pk, specialist.display_name))
        if specialties := specialty_concepts(specialist):
            resource["specialty"] = specialties
    place_name = f"{clinic.name}, {place.name}" if place.name else clinic.name
    actors.append(_reference("Location", place.pk, place_name))
    resource["actor"] = actors
    return resource


def slot(row) -> dict:
    """A bookable slot, as our SMART Scheduling Links feed gives it (status free, start and end
    in the location's local time, the booking-deep-link extension to our booking page and
    booking-phone when the location has a phone), with meta."""
    resource = publish.slot_resource(
        row.pk,
        row.template_id,
        row.span,
        time_zone(row.location.country),
        publish.booking_url_pattern(),
        row.location.phone or row.clinic.phone,
    )
    return {"resourceType": "Slot", "id": resource["id"], "meta": _meta(row), **resource}


# --- Healthcare services ----------------------------------------------------------------------

# The FHIR directory guide's extension (VhDir): whether new patients are accepted.
NEW_PATIENTS_EXTENSION = "http://hl7.org/fhir/uv/vhdir/StructureDefinition/newpatients"


def available_time(text: str) -> list[dict]:
    """A location's opening hours (hours_of_operation) as a service's availableTime."""
    return [
        {
            "daysOfWeek": opening["daysOfWeek"],
            "availableStartTime": opening["openingTime"],
            "availableEndTime": opening["closingTime"],
        }
        for opening in hours_of_operation(text)
    ]


def _places(resource: dict, places: list) -> None:
    if places:
        resource["location"] = [
            _reference("Location", place.pk, place_display(place)) for place in places
        ]
    if len(places) == 1 and (opening := available_time(places[0].hours)):
        resource["availableTime"] = opening


def place_display(place) -> str:
    clinic = place.clinic
    return f"{clinic.name}, {place.name}" if place.name else clinic.name


def department_service(clinic) -> dict:
    """`dept-<ID>`: a published department of a published hospital, as the hospital's service:
    providedBy the hospital, at the department's locations, with the medical fields of the
    specialists who work there (`public_specialties`)."""
    parent = clinic.parent
    resource = {
        "resourceType": "HealthcareService",
        "id": f"dept-{clinic.pk}",
        "meta": _meta(clinic),
        "active": True,
        "providedBy": _reference("Organization", parent.pk, parent.name),
    }
    if clinic.public_specialties:
        resource["specialty"] = [_coded("specialty", field) for field in clinic.public_specialties]
    _places(resource, clinic.service_locations)  # their `clinic` set by the prefetch
    resource["name"] = clinic.name
    if telecom := _telecom(clinic.phone, clinic.website):
        resource["telecom"] = telecom
    _reorder(resource)
    return resource


def focus_service(item) -> dict:
    """`focus-<specialist ID>-<condition ID>`: one item of a published specialist's treatment
    focus, as the specialist's service for that condition or treatment: `type` the condition
    (our code system, and ICD-10 where an editor entered it), providedBy the clinic of the
    specialist's first place of work, at the locations of all of them, with the specialist's
    medical fields, and whether new patients are accepted (VhDir's newpatients) while that fact
    is confirmed recently enough."""
    specialist = item.specialist
    with translation.override("en"):
        condition_name = item.condition.name
    resource = {
        "resourceType": "HealthcareService",
        "id": f"focus-{item.specialist_id}-{item.condition_id}",
        "meta": _meta(item),
    }
    if specialist.new_patients_current:
        resource["extension"] = [
            {
                "url": NEW_PATIENTS_EXTENSION,
                "extension": [
                    {"url": "acceptingPatients", "valueBoolean": specialist.accepts_new_patients}
                ],
            }
        ]
    resource["active"] = True
    if item.provider_id:
        resource["providedBy"] = _reference("Organization", item.provider_id, item.provider_name)
    resource["type"] = [_coded("condition", item.condition)]
    if specialties := specialty_concepts(specialist):
        resource["specialty"] = specialties
    places = list({p.location_id: p.location for p in specialist.service_places}.values())
    _places(resource, places)
    resource["name"] = f"{condition_name}: {specialist.display_name}"
    if telecom := _telecom(specialist.phone, specialist.website):
        resource["telecom"] = telecom
    _reorder(resource)
    return resource


# The order of HealthcareService's elements in the specification (JSON does not need it; people
# reading it do).
_SERVICE_ORDER = [
    "resourceType",
    "id",
    "meta",
    "extension",
    "active",
    "providedBy",
    "type",
    "specialty",
    "location",
    "name",
    "telecom",
    "availableTime",
]


def _reorder(resource: dict) -> None:
    ordered = {key: resource[key] for key in _SERVICE_ORDER if key in resource}
    resource.clear()
    resource.update(ordered)
