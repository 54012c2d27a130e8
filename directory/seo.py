"""Structured data (schema.org as JSON-LD) and breadcrumbs, so search engines read what a page
is about: Physician, MedicalClinic or Hospital, BreadcrumbList, WebSite with a SearchAction.
The condition pages' MedicalWebPage is built in content.views from these helpers."""

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from directory.hours import opening_hours_specification
from directory.models import Clinic, Specialist

SCHEMA = "https://schema.org"


@dataclass(frozen=True)
class Crumb:
    """One step of a page's breadcrumbs; the last, the page itself, has no link."""

    name: str
    url: str = ""


def absolute(request: HttpRequest, path: str) -> str:
    return request.build_absolute_uri(path)


def home_crumb() -> Crumb:
    return Crumb(_("Home"), reverse("content:home"))


def breadcrumb_list(request: HttpRequest, crumbs: list[Crumb]) -> dict:
    return {
        "@context": SCHEMA,
        "@type": "BreadcrumbList",
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": position,
                "name": crumb.name,
                **({"item": absolute(request, crumb.url)} if crumb.url else {}),
            }
            for position, crumb in enumerate(crumbs, start=1)
        ],
    }


def _address(location) -> dict:
    return {
        "@type": "PostalAddress",
        "streetAddress": location.street,
        "postalCode": location.postcode,
        "addressLocality": location.city,
        **({"addressRegion": location.region} if location.region else {}),
        "addressCountry": location.country,
    }


def _geo(location) -> dict:
    if location.latitude is None or location.longitude is None:
        return {}
    return {
        "geo": {
            "@type": "GeoCoordinates",
            "latitude": round(location.latitude, 5),
            "longitude": round(location.longitude, 5),
        }
    }


def _hours(location) -> dict:
    """The location's opening hours and coming closures (directory.hours), if it has hours
    confirmed recently enough to state."""
    if not location.hours or not location.hours_current:
        return {}
    closures = getattr(location, "coming_closures", ())
    return {"openingHoursSpecification": opening_hours_specification(location.hours, closures)}


def _amenities(location) -> dict:
    """The location's accessibility facts that count (recent enough), as schema.org
    LocationFeatureSpecification: those it has and those it has not."""
    facts = [fact for fact in location.features.all() if fact.current]
    if not facts:
        return {}
    return {
        "amenityFeature": [
            {
                "@type": "LocationFeatureSpecification",
                "name": capfirst(str(fact.get_feature_display())),
                "value": fact.present,
            }
            for fact in facts
        ]
    }


def _image(request: HttpRequest, renditions: list[dict]) -> dict:
    return {"image": absolute(request, renditions[-1]["fallback"])} if renditions else {}


def _organization_type(clinic: Clinic) -> str:
    return "Hospital" if clinic.kind == Clinic.Kind.HOSPITAL else "MedicalClinic"


def physician(request: HttpRequest, specialist: Specialist) -> dict:
    """A profile as schema.org Physician: its fields, focus, languages and every location."""
    affiliations = list(specialist.affiliations.all())
    data = {
        "@context": SCHEMA,
        "@type": "Physician",
        "@id": absolute(request, specialist.get_absolute_url()),
        "url": absolute(request, specialist.get_absolute_url()),
        "name": specialist.display_name,
        **({"honorificPrefix": specialist.honorific_prefix} if specialist.honorific_prefix else {}),
        "givenName": specialist.given_name,
        "familyName": specialist.family_name,
        **({"jobTitle": specialist.headline} if specialist.headline else {}),
        **({"description": specialist.biography} if specialist.biography else {}),
        **_image(request, specialist.photo_renditions),
        **({"telephone": specialist.phone} if specialist.phone else {}),
        **({"sameAs": [specialist.website]} if specialist.website else {}),
        "medicalSpecialty": [field.name for field in specialist.specialties.all()],
        "knowsAbout": [
            {
                "@type": "MedicalCondition",
                "name": item.condition.name,
                "url": absolute(request, reverse("content:condition", args=[item.condition.slug])),
            }
            for item in specialist.specialistcondition_set.all()
        ],
        # Facts too old to count are not stated.
        **({"knowsLanguage": list(specialist.languages)} if specialist.languages_current else {}),
        **(
            {"isAcceptingNewPatients": specialist.accepts_new_patients}
            if specialist.new_patients_current
            else {}
        ),
    }
    if affiliations:
        data["address"] = _address(affiliations[0].location)
        data.update(_geo(affiliations[0].location))
        data.update(_hours(affiliations[0].location))
        data.update(_amenities(affiliations[0].location))
        data["memberOf"] = [
            {
                "@type": _organization_type(affiliation.clinic),
                "name": affiliation.clinic.name,
                "url": absolute(request, affiliation.clinic.get_absolute_url()),
                "address": _address(affiliation.location),
            }
            for affiliation in affiliations
        ]
    return data


def medical_organization(request: HttpRequest, clinic: Clinic) -> dict:
    """A clinic as schema.org Hospital (hospitals) or MedicalClinic (the other kinds)."""
    locations = list(clinic.locations.all())
    data = {
        "@context": SCHEMA,
        "@type": _organization_type(clinic),
        "@id": absolute(request, clinic.get_absolute_url()),
        "url": absolute(request, clinic.get_absolute_url()),
        "name": clinic.name,
        **({"description": clinic.description} if clinic.description else {}),
        **_image(request, clinic.logo_renditions),
        **({"telephone": clinic.phone} if clinic.phone else {}),
        **({"sameAs": [clinic.website]} if clinic.website else {}),
    }
    if locations:
        data["address"] = _address(locations[0])
        data.update(_geo(locations[0]))
        data.update(_hours(locations[0]))
        data.update(_amenities(locations[0]))
        if len(locations) > 1:
            data["location"] = [
                {"@type": "Place", "address": _address(location), **_geo(location)}
                for location in locations
            ]
    if parent := clinic.published_parent:
        data["parentOrganization"] = {
            "@type": _organization_type(parent),
            "name": parent.name,
            "url": absolute(request, parent.get_absolute_url()),
        }
    return data


def website(request: HttpRequest) -> dict:
    """The site with its search, so search engines can offer a search box for it."""
    search = absolute(request, reverse("directory:search"))
    return {
        "@context": SCHEMA,
        "@type": "WebSite",
        "name": _("Specialist Atlas"),
        "url": absolute(request, reverse("content:home")),
        "inLanguage": request.LANGUAGE_CODE,
        "potentialAction": {
            "@type": "SearchAction",
            "target": {"@type": "EntryPoint", "urlTemplate": f"{search}?q={{search_term_string}}"},
            "query-input": "required name=search_term_string",
        },
    }
