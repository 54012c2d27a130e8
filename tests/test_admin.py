"""Editors in Django admin: least privilege, the listing tools, CSV import and export."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from directory.models import Specialist
from tests.factories import SpecialistFactory
from tests.test_import_export import make_csv, make_row, taxonomy  # noqa: F401

pytestmark = pytest.mark.django_db


def test_an_outsider_is_sent_to_log_in(client, outsider):
    client.force_login(outsider)

    response = client.get("/admin/directory/specialist/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_an_editor_manages_listings_but_not_users(client, editor):
    client.force_login(editor)

    assert client.get("/admin/directory/specialist/").status_code == 200
    assert client.get("/admin/directory/specialist/add/").status_code == 200
    assert client.get("/admin/directory/clinic/add/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 403
    assert client.get("/admin/auth/group/").status_code == 403


@pytest.mark.parametrize(
    "page",
    [
        "/admin/directory/specialty/",
        "/admin/directory/condition/",
        "/admin/directory/clinic/",
        "/admin/directory/location/",
        "/admin/directory/place/",
        "/admin/directory/specialist/?verification=stale",
        "/admin/directory/specialist/?q=Beispiel",
    ],
)
def test_every_admin_list_works_for_editors(client, editor, page):
    SpecialistFactory()
    client.force_login(editor)

    assert client.get(page).status_code == 200


def test_publish_action_publishes_and_records_history(client, editor):
    specialist = SpecialistFactory(status="draft")
    client.force_login(editor)

    client.post(
        "/admin/directory/specialist/",
        {"action": "publish", "_selected_action": [specialist.pk]},
    )

    specialist.refresh_from_db()
    assert specialist.status == "published"
    history = client.get(f"/admin/directory/specialist/{specialist.pk}/history/")
    assert "Published" in history.text
    assert editor.username in history.text


def test_csv_import_in_admin_previews_then_imports_on_confirmation(client, editor, taxonomy):  # noqa: F811
    client.force_login(editor)
    data = make_csv(make_row()).encode()

    preview = client.post(
        "/admin/directory/specialist/import/",
        {"file": SimpleUploadedFile("specialists.csv", data, content_type="text/csv")},
    )

    assert preview.status_code == 200
    assert "mara-lindqvist" in preview.text
    assert not Specialist.objects.exists()
    encoded = preview.context["encoded"]

    confirmed = client.post(
        "/admin/directory/specialist/import/", {"encoded": encoded, "confirm": "1"}
    )

    assert confirmed.status_code == 302
    assert Specialist.objects.filter(slug="mara-lindqvist").exists()


def test_csv_import_in_admin_shows_row_errors_and_offers_no_confirmation(client, editor, taxonomy):  # noqa: F811
    client.force_login(editor)
    data = make_csv(make_row(country="XX")).encode()

    preview = client.post(
        "/admin/directory/specialist/import/",
        {"file": SimpleUploadedFile("specialists.csv", data, content_type="text/csv")},
    )

    assert "country must be DE, AT or CH" in preview.text
    assert "Confirm import" not in preview.text


def test_csv_export_in_admin_downloads_the_format(client, editor):
    SpecialistFactory(slug="anna-export")
    client.force_login(editor)

    response = client.get("/admin/directory/specialist/export/")

    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().startswith("slug,prefix,given_name")
    assert "anna-export" in response.content.decode()


def test_csv_import_in_admin_refuses_a_file_too_large_to_confirm(client, editor, monkeypatch):
    monkeypatch.setattr("directory.admin.MAX_CSV_BYTES", 10)
    client.force_login(editor)

    response = client.post(
        "/admin/directory/specialist/import/",
        {"file": SimpleUploadedFile("big.csv", b"slug,prefix\n" * 3, content_type="text/csv")},
    )

    assert "larger than 1.8 MB" in response.text
