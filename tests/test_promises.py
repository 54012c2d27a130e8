"""Promises the README and docs/ make that no other test holds: each fails when the behaviour it
names is removed."""

import ast
import io
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client

from appointments.models import AppointmentRequest
from content.models import Article
from directory.csv_format import import_specialists
from directory.models import Place, Specialist
from tests.factories import (
    AffiliationFactory,
    ConditionFactory,
    SpecialtyFactory,
    UserFactory,
    request_form_data,
)
from tests.test_import_export import make_csv, make_row

pytestmark = pytest.mark.django_db

PROJECT = Path(__file__).resolve().parent.parent


def family_names(response) -> list[str]:
    return re.findall(r'class="card__title"><a [^>]*>[^<]* (\S+)</a>', response.content.decode())


def imported_apps(app: str) -> set[str]:
    """The project's apps that the modules of `app` import."""
    apps = {"appointments", "content", "core", "directory"}
    found = set()
    for path in (PROJECT / app).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found |= {name.split(".")[0] for name in names} & apps
    return found - {app}


def test_the_apps_depend_on_each_other_one_way_only():
    """`content` and `appointments` may import `directory`; `directory` imports neither; `core`
    imports no app."""
    assert imported_apps("directory") <= {"core"}
    assert imported_apps("core") == set()
    assert "content" not in imported_apps("appointments")


def test_load_demo_adds_the_demo_listings_and_they_are_found(client):
    call_command("load_demo", stdout=io.StringIO())
    assert Specialist.objects.count() == 56
    assert Article.objects.filter(condition__slug="liver-metastases").exists()
    found = family_names(client.get("/en/specialists/", {"q": "Ohlsen"}))
    assert found == ["Ohlsen"]


def test_an_import_is_searchable_at_once(client):
    SpecialtyFactory(slug="visceral-surgery", name_en="Visceral surgery")
    ConditionFactory(slug="liver-metastases", name_en="Liver metastases")
    assert family_names(client.get("/en/specialists/", {"q": "Lindqvist"})) == []

    report = import_specialists(make_csv(make_row()))

    assert report.ok
    assert family_names(client.get("/en/specialists/", {"q": "Lindqvist"})) == ["Lindqvist"]


def test_seeded_listings_are_searchable_at_once(client):
    call_command("seed_demo", "--specialists", "30", "--seed", "3", stdout=io.StringIO())
    seeded = Specialist.objects.filter(slug__startswith="seed-", status="published").first()
    response = client.get("/en/specialists/", {"q": seeded.family_name})
    assert seeded.family_name in family_names(response)


def test_articles_are_sanitised_when_saved():
    condition = ConditionFactory()
    article = Article.objects.create(
        condition=condition,
        title_en="Title",
        body_en="## Part\n\n<script>alert(1)</script> <b onclick=x()>bold</b>",
        reviewer_name="Dr. A",
        status="published",
    )
    article.refresh_from_db()
    tags = re.findall(r"<[a-z][^>]*>", article.body_html_en)  # real tags; typed HTML is text
    assert not [tag for tag in tags if tag.startswith("<script") or " on" in tag]
    assert '<h2 id="part">Part</h2>' in article.body_html_en


def test_a_treatment_is_a_medical_procedure_in_structured_data(client):
    import json

    condition = ConditionFactory(name_en="Radiofrequency ablation", slug="rfa", kind="treatment")
    body = client.get(f"/en/conditions/{condition.slug}/").content.decode()
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    pages = [json.loads(b) for b in blocks if '"MedicalWebPage"' in b]
    assert pages[0]["about"]["@type"] == "MedicalProcedure"


def test_sitemap_sections_are_split_into_pages(client, monkeypatch):
    from core import languages
    from directory import sitemaps

    for number in range(3):
        AffiliationFactory(specialist__slug=f"paged-{number}")
    per_specialist = len(languages.codes())  # one address in each language
    monkeypatch.setattr(sitemaps.LocalisedSitemap, "limit", 2 * per_specialist)
    index = client.get("/sitemap.xml").content.decode()
    assert "sitemap-specialists.xml?p=2" in index
    assert "sitemap-specialists.xml?p=3" not in index
    # Three specialists: two on the first page, one on the second.
    first = client.get("/sitemap-specialists.xml").content.decode()
    second = client.get("/sitemap-specialists.xml?p=2").content.decode()
    assert first.count("<url>") == 2 * per_specialist
    assert second.count("<url>") == per_specialist


def test_load_places_adds_a_place_that_is_missing():
    berlin = Place.objects.filter(name_en="Berlin").order_by("-population").first()
    geonames_id = berlin.geonames_id
    berlin.delete()

    call_command("load_places", stdout=io.StringIO())

    assert Place.objects.filter(geonames_id=geonames_id, name_en="Berlin").exists()


def test_the_inbox_filters_requests_whose_emails_are_not_sent_yet(
    client, django_capture_on_commit_callbacks
):
    specialist = AffiliationFactory().specialist
    with django_capture_on_commit_callbacks(execute=True):  # the emails go after the commit
        Client().post(f"/en/specialists/{specialist.slug}/request/", request_form_data())
    sent = AppointmentRequest.objects.get()
    pending = AppointmentRequest.objects.create(
        specialist=specialist,
        name="Max",
        email="max@example.org",
        message="x",
        preferred_language="de",
        site_language="en",
        consent_at=sent.consent_at,
    )
    clerk = UserFactory(username="clara", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename="view_appointmentrequest"))
    client.force_login(clerk)

    listed = client.get("/admin/appointments/appointmentrequest/", {"emails": "pending"})

    assert listed.status_code == 200
    rows = re.findall(r"appointmentrequest/(\d+)/change/", listed.content.decode())
    assert sorted(set(rows)) == [str(pending.pk)]


def test_forwarded_for_from_a_stranger_is_dropped(settings):
    """Nobody who reaches an app server directly can pose as another client."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    settings.APPOINTMENT_REQUESTS_PER_HOUR = 1
    specialist = AffiliationFactory().specialist
    url = f"/en/specialists/{specialist.slug}/request/"
    stranger = Client(REMOTE_ADDR="198.51.100.9")

    def send(forwarded_for):
        headers = {"x-forwarded-for": forwarded_for}
        return stranger.post(url, request_form_data(), headers=headers).status_code

    assert send("203.0.113.5") == 302
    assert send("203.0.113.6") == 429  # still counted as the stranger's own address


def _catalog(language: str):
    from babel.messages.pofile import read_po

    with open(PROJECT / f"locale/{language}/LC_MESSAGES/django.po", "rb") as po:
        return read_po(po)


CATALOGUES = sorted(path.name for path in (PROJECT / "locale").iterdir() if path.is_dir())


def test_the_catalogues_are_german_french_and_italian():
    assert CATALOGUES == ["de", "fr", "it"]


@pytest.mark.parametrize("language", CATALOGUES)
def test_every_message_has_a_translation(language):
    """Each catalogue translates every message, and none is marked fuzzy."""
    catalog = _catalog(language)
    missing = [
        message.id
        for message in catalog
        if message.id
        and (
            message.fuzzy
            or not (all(message.string) if isinstance(message.string, tuple) else message.string)
        )
    ]
    assert missing == []


@pytest.mark.parametrize("language", [language for language in CATALOGUES if language != "de"])
def test_every_catalogue_has_the_messages_of_the_german_one(language):
    """A message added to the German catalogue (makemessages) is added to the others too."""

    def keys(catalog) -> set:
        return {(message.id, message.context) for message in catalog if message.id}

    assert keys(_catalog(language)) == keys(_catalog("de"))
