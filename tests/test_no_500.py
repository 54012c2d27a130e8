"""Inputs that once answered 500 (an outside attack found them); each now gets a clear 400 or
a form error."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from tests.factories import SpecialistFactory

pytestmark = pytest.mark.django_db


def test_a_very_long_user_name_at_the_admin_login_is_a_form_error():
    client = Client(raise_request_exception=False)
    response = client.post("/admin/login/", {"username": "a" * 256, "password": "x"})
    assert response.status_code == 200
    assert (
        "Please enter the correct" in response.content.decode()
        or "at most" in response.content.decode()
    )


@pytest.mark.parametrize(
    "path",
    [
        "/admin/directory/specialist/?status__exact=%00",
        "/admin/directory/specialist/?q=%00",
        "/admin/autocomplete/?app_label=directory&model_name=specialist&field_name=x&term=%00",
        "/admin/directory/specialist/?%00=1",
    ],
)
def test_a_nul_character_in_an_admin_parameter_is_a_400(client, editor, path):
    client.force_login(editor)
    client.raise_request_exception = False
    assert client.get(path).status_code == 400


def image_upload(image_format: str, *, damage) -> SimpleUploadedFile:
    output = io.BytesIO()
    Image.new("RGB", (400, 300), (10, 120, 200)).save(output, image_format)
    return SimpleUploadedFile(f"photo.{image_format.lower()}", damage(output.getvalue()))


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def corrupt_png_data(data: bytes) -> bytes:
    start = data.index(b"IDAT") + 8
    return data[:start] + b"\\x00" * 40 + data[start + 40 :]


@pytest.mark.parametrize(
    ("image_format", "damage"),
    [("JPEG", truncated), ("PNG", truncated), ("PNG", corrupt_png_data), ("WEBP", truncated)],
    ids=["truncated-jpeg", "truncated-png", "corrupt-png-data", "truncated-webp"],
)
def test_a_damaged_image_is_a_form_error_in_admin(
    client, editor, image_format, damage, settings, tmp_path
):
    from tests.admin_forms import change_form_data

    settings.MEDIA_ROOT = tmp_path
    specialist = SpecialistFactory()
    client.force_login(editor)
    client.raise_request_exception = False
    url = f"/admin/directory/specialist/{specialist.pk}/change/"
    data = change_form_data(client, url, photo=image_upload(image_format, damage=damage))

    response = client.post(url, data)

    assert response.status_code == 200  # the form again, with the error beside the photo
    errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    assert any("image" in error for error in errors), errors
    specialist.refresh_from_db()
    assert not specialist.photo


def csv_upload(*rows) -> SimpleUploadedFile:
    from tests.test_import_export import make_csv

    return SimpleUploadedFile("listings.csv", make_csv(*rows).encode(), content_type="text/csv")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bio_en": "x" * 200_000}, "cannot be read"),  # over the csv module's cell limit
        ({"given_name": "x" * 500}, "given_name is longer than"),
        ({"headline": "x" * 5000}, "headline is longer than"),
        ({"phone": "+49 " * 100}, "phone is longer than"),
        ({"slug": "a" * 400}, "slug is longer than"),
        ({"specialties": "x" * 300}, "a name in specialties is longer than"),
        ({"family_name": "Null\x00Byte"}, "NUL"),
    ],
    ids=["huge-cell", "long-name", "long-headline", "long-phone", "long-slug", "long-field", "nul"],
)
def test_odd_csv_values_in_the_admin_import_are_reported_not_500(client, editor, changes, message):
    from directory.models import Specialist
    from tests.test_import_export import make_row, taxonomy  # noqa: F401

    client.force_login(editor)
    client.raise_request_exception = False
    response = client.post(
        "/admin/directory/specialist/import/", {"file": csv_upload(make_row(**changes))}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Specialist.objects.exists()


def test_an_import_too_large_for_a_request_points_to_the_command(client, editor, monkeypatch):
    from directory import admin as directory_admin
    from directory.models import Specialist
    from tests.test_import_export import make_row, taxonomy  # noqa: F401

    rows = [make_row(slug=f"s-{n}", family_name=f"Name{n}") for n in range(12)]
    client.force_login(editor)
    monkeypatch.setattr(directory_admin, "MAX_ADMIN_IMPORT_ROWS", 10)

    response = client.post("/admin/directory/specialist/import/", {"file": csv_upload(*rows)})

    assert response.status_code == 200
    assert "The file has 12 rows" in response.content.decode()
    assert "manage.py import_directory" in response.content.decode()
    assert not Specialist.objects.exists()


@pytest.mark.parametrize(
    "lookup",
    [
        "appointment_requests__isnull=False",
        "appointment_requests=1",
        "appointment_requests__status=new",
        "appointment_requests__name__icontains=maria",
        "recipient_changes__email__icontains=praxis",
        "affiliations__clinic__appointment_requests__isnull=False",
    ],
)
@pytest.mark.parametrize("listing", ["specialist", "clinic"])
def test_admin_filters_cannot_reach_appointment_requests(client, editor, lookup, listing):
    """An editor cannot tell from the list which listings received requests."""
    from appointments.models import AppointmentRequest
    from tests.factories import AffiliationFactory, request_form_data

    affiliation = AffiliationFactory()
    Client().post(f"/en/specialists/{affiliation.specialist.slug}/request/", request_form_data())
    assert AppointmentRequest.objects.exists()
    client.force_login(editor)
    client.raise_request_exception = False

    response = client.get(f"/admin/directory/{listing}/?{lookup}")

    assert response.status_code == 400
