import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from core.roles import EDITORS_GROUP

pytestmark = pytest.mark.django_db


def test_editors_group_exists_after_migrate_and_cannot_manage_users():
    group = Group.objects.get(name=EDITORS_GROUP)

    assert not group.permissions.filter(content_type__app_label="auth").exists()


def test_load_demo_creates_the_demo_editor_while_debug_is_on(settings):
    settings.DEBUG = True

    call_command("load_demo")

    editor = get_user_model().objects.get(username="editor")
    assert editor.check_password("editor")
    assert editor.is_staff
    assert not editor.is_superuser
    assert editor.groups.filter(name=EDITORS_GROUP).exists()


def test_load_demo_twice_changes_nothing(settings):
    settings.DEBUG = True
    call_command("load_demo")
    before = get_user_model().objects.values_list("username", "password", "is_staff")

    call_command("load_demo")

    assert list(get_user_model().objects.values_list("username", "password", "is_staff")) == list(
        before
    )


def test_load_demo_creates_no_demo_editor_in_production(settings):
    settings.DEBUG = False

    call_command("load_demo")

    assert not get_user_model().objects.filter(username="editor").exists()


def test_load_demo_never_overwrites_an_editors_changes():
    """An editor changes every kind of demo entry; loading the demo again keeps each change."""
    from content.models import Article
    from directory.models import Clinic, Condition, Location, Specialist, Specialty

    call_command("load_demo")
    changes = [
        (Specialist.objects.get(slug="jannik-ohlsen"), {"headline": "Chief physician"}),
        (Specialist.objects.get(slug="friederike-lohmeier"), {"status": "archived"}),
        (Clinic.objects.get(slug="klinikum-am-stadtpark"), {"description_en": "Edited."}),
        (
            Location.objects.filter(clinic__slug="klinikum-am-stadtpark").first(),
            {"street": "Neu 1"},
        ),
        (Specialty.objects.get(slug="internal-medicine"), {"name_en": "General internal medicine"}),
        (Condition.objects.get(slug="liver-metastases"), {"synonyms_en": "Edited synonym"}),
        (Article.objects.get(condition__slug="liver-metastases"), {"title_en": "Edited title"}),
    ]
    for entry, values in changes:
        type(entry).objects.filter(pk=entry.pk).update(**values)
    specialists = Specialist.objects.count()

    call_command("load_demo")

    for entry, values in changes:
        stored = type(entry).objects.filter(pk=entry.pk).values(*values).get()
        assert stored == values, type(entry).__name__
    assert Specialist.objects.count() == specialists


def test_the_patient_service_reads_the_inbox_and_editors_do_not(settings, client):
    """The demo's patient service (service/service, while DEBUG is on) opens the requests, the
    addresses they go to and the listings (read only); the demo editor gets none of them."""
    from core.roles import PATIENT_SERVICE_GROUP

    settings.DEBUG = True
    call_command("load_demo")
    service = get_user_model().objects.get(username="service")
    assert service.check_password("service")
    assert service.is_staff
    assert not service.is_superuser
    assert service.groups.filter(name=PATIENT_SERVICE_GROUP).exists()

    client.force_login(service)
    assert client.get("/admin/appointments/appointmentrequest/").status_code == 200
    assert client.get("/admin/appointments/recipientchange/").status_code == 200
    assert client.get("/admin/directory/specialist/").status_code == 200
    assert not service.has_perm("directory.change_specialist")
    assert client.get("/admin/content/article/").status_code == 403
    assert client.get("/admin/auth/user/").status_code == 403

    client.force_login(get_user_model().objects.get(username="editor"))
    assert client.get("/admin/appointments/appointmentrequest/").status_code == 403


def test_load_demo_creates_no_patient_service_account_in_production(settings):
    settings.DEBUG = False

    call_command("load_demo")

    assert not get_user_model().objects.filter(username="service").exists()
