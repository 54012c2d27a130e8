"""Factories for test data: build what a test needs, name only what it cares about."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.roles import EDITORS_GROUP


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.django.Password("password")


class EditorFactory(UserFactory):
    """A staff member in the Editors group, as editors are set up in production."""

    username = factory.Sequence(lambda n: f"editor{n}")
    is_staff = True

    @factory.post_generation
    def editors_group(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name=EDITORS_GROUP))


class SpecialtyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "directory.Specialty"
        django_get_or_create = ("slug",)

    name_en = factory.Sequence(lambda n: f"Field {n}")
    name_de = factory.Sequence(lambda n: f"Fachgebiet {n}")
    slug = factory.Sequence(lambda n: f"field-{n}")


class ConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "directory.Condition"
        django_get_or_create = ("slug",)

    name_en = factory.Sequence(lambda n: f"Condition {n}")
    name_de = factory.Sequence(lambda n: f"Erkrankung {n}")
    slug = factory.Sequence(lambda n: f"condition-{n}")


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "directory.Clinic"

    name = factory.Sequence(lambda n: f"Klinikum Beispiel {n}")
    slug = factory.Sequence(lambda n: f"klinikum-beispiel-{n}")
    status = "published"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "directory.Location"

    clinic = factory.SubFactory(ClinicFactory)
    street = "Beispielstraße 1"
    postcode = "99084"
    city = "Erfurt"
    country = "DE"
    latitude = 50.978
    longitude = 11.029


class SpecialistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "directory.Specialist"
        skip_postgeneration_save = True

    honorific_prefix = "Dr. med."
    given_name = "Erika"
    family_name = factory.Sequence(lambda n: f"Beispiel{n}")
    slug = factory.Sequence(lambda n: f"erika-beispiel-{n}")
    headline = "Senior consultant"
    status = "published"
    languages = factory.LazyFunction(lambda: ["de", "en"])
    insurance = factory.LazyFunction(lambda: ["statutory", "private"])


class AffiliationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "directory.Affiliation"

    specialist = factory.SubFactory(SpecialistFactory)
    location = factory.SubFactory(LocationFactory)
    clinic = factory.SelfAttribute("location.clinic")
    is_primary = True


REQUEST_MESSAGE = "I have been diagnosed with liver metastases and would like a second opinion."


def request_form_data(**changes) -> dict:
    """What a patient sends with the appointment request form; a change to None leaves that
    field out."""
    data = {
        "name": "Maria Muster",
        "email": "maria@example.org",
        "phone": "+49 30 1234567",
        "message": REQUEST_MESSAGE,
        "preferred_language": "de",
        "consent": "on",
        "leave_empty": "",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def route_requests_to(listing, email: str):
    """The listing's requests go to `email`, as if staff had approved it and its owner had
    confirmed it (appointments/recipients.py)."""
    from appointments.models import RecipientChange

    state = RecipientChange.State
    changes = RecipientChange.objects.of(listing)
    changes.open().update(state=state.WITHDRAWN)
    changes.in_force().update(state=state.SUPERSEDED)
    field = "specialist" if listing._meta.model_name == "specialist" else "clinic"
    return RecipientChange.objects.create(**{field: listing}, email=email, state=state.CONFIRMED)


def free_slot(affiliation, start, *, minutes: int = 30, **fields):
    """A free slot of a place of work, read from the feed of the specialist's practice
    software (one source per specialist)."""
    from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

    from directory.models import Slot, SlotSource

    source, _created = SlotSource.objects.get_or_create(
        specialist=affiliation.specialist,
        defaults={"url": "https://practice-software.example/$bulk-publish"},
    )
    return Slot.objects.create(
        source=source,
        external_id=f"{affiliation.pk}-{start.isoformat()}",
        clinic=affiliation.clinic,
        location=affiliation.location,
        affiliation=affiliation,
        span=DateTimeTZRange(start, start + timedelta(minutes=minutes)),
        **fields,
    )
