"""Where each fact comes from (issue 19, parts 4 and 5): certifications as structured data, the
source and last confirmation of the facts the filters use (languages, insurance, new patients,
opening hours), what happens when they grow too old, the editors' list of what is about to, and
the visitors' "Something wrong?" reports."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from core.dashboard import ENTRIES
from core.models import RateLimitCount
from directory.models import Certification, FactReport, Specialist
from directory.search.index import rebuild_all
from tests.admin_forms import change_form_data
from tests.factories import (
    AffiliationFactory,
    ClinicFactory,
    ConditionFactory,
    EditorFactory,
    UserFactory,
)
from tests.test_search import found

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def days_ago(days: int):
    return timezone.localdate() - timedelta(days=days)


def names(client, path: str = "/en/specialists/", **params) -> set[str]:
    return set(found(client.get(path, {"q": "Faktenprobe", **params})))


def listed(name: str, **specialist) -> Specialist:
    """A published specialist found by "Faktenprobe" (the clinic's name)."""
    return AffiliationFactory(
        specialist__family_name=name,
        specialist__slug=name.lower(),
        location__clinic__name=f"Faktenprobe {name}",
        **{f"specialist__{key}": value for key, value in specialist.items()},
    ).specialist


def certify(clinic, *conditions, valid_until=None, confirmed=10, title="Certified centre"):
    certification = Certification.objects.create(
        clinic=clinic,
        title_en=title,
        title_de=f"{title} (de)",
        issuer="A cancer society",
        valid_until=valid_until,
        register_url="https://register.example/entry/1",
        source="register",
        confirmed_on=days_ago(confirmed),
    )
    certification.conditions.set(conditions)
    return certification


# --- Certifications ------------------------------------------------------------------------------


def test_a_certification_is_valid_expired_or_unconfirmed_by_its_dates(settings):
    settings.FACT_MAX_AGE_DAYS = 365
    clinic = ClinicFactory()
    today = timezone.localdate()
    assert certify(clinic, valid_until=today).state == "current"  # valid through its last day
    assert certify(clinic, valid_until=None).state == "current"  # no end date given
    assert certify(clinic, valid_until=today - timedelta(days=1)).state == "expired"
    assert certify(clinic, confirmed=400).state == "unconfirmed"
    # Expired wins: an old, expired one is expired.
    assert certify(clinic, valid_until=days_ago(5), confirmed=400).state == "expired"
    assert Certification.objects.current().count() == 2


def test_the_clinic_page_never_shows_an_expired_certification_as_valid(client):
    clinic = AffiliationFactory(location__clinic__slug="zentrum").clinic
    liver = ConditionFactory(slug="liver-metastases", name_en="Liver metastases")
    certify(clinic, liver, title="Liver centre", valid_until=days_ago(-300))
    certify(clinic, title="Old label", valid_until=days_ago(3))
    certify(clinic, title="Unchecked label", confirmed=500)

    body = client.get("/en/clinics/zentrum/").content.decode()
    items = dict(re.findall(r"<strong>([^<]+)</strong>(.*?)</li>", body, re.S))

    assert "Valid until" in items["Liver centre"]
    assert 'href="/en/conditions/liver-metastases/">Liver metastases</a>' in items["Liver centre"]
    assert "register.example" in items["Liver centre"]
    assert "Expired on" in items["Old label"]
    assert "Valid until" not in items["Old label"]
    assert "confirmed" not in items["Old label"]
    assert "Not confirmed since" in items["Unchecked label"]
    assert "Valid until" not in items["Unchecked label"]
    # In force first, the expired one last.
    assert body.index("Liver centre") < body.index("Unchecked label") < body.index("Old label")
    german = client.get("/de/clinics/zentrum/").content.decode()
    assert "Liver centre (de)" in german
    assert "Abgelaufen am" in german


def test_the_certified_centre_filter_counts_only_certifications_in_force(client):
    liver, heart = ConditionFactory(slug="liver"), ConditionFactory(slug="heart")
    for name in ("Leber", "Herz", "Abgelaufen", "Unbestaetigt", "Ohne"):
        listed(name).conditions.add(liver, heart)
    clinic = {s.family_name: s.affiliations.get().clinic for s in Specialist.objects.all()}
    certify(clinic["Leber"], liver)
    certify(clinic["Herz"], heart)
    certify(clinic["Abgelaufen"], liver, valid_until=days_ago(1))
    certify(clinic["Unbestaetigt"], liver, confirmed=400)
    rebuild_all()

    assert names(client, certified="1") == {"Leber", "Herz"}  # certified for anything
    assert names(client, certified="1", condition="liver") == {"Leber"}
    assert names(client, "/en/conditions/heart/", certified="1") == {"Herz"}
    assert len(names(client)) == 5


def test_a_department_counts_its_hospitals_certification(client):
    hospital = ClinicFactory(name="Faktenprobe Haus")
    condition = ConditionFactory(slug="liver")
    certify(hospital, condition)
    specialist = listed("Abteilung")
    specialist.conditions.add(condition)
    department = specialist.affiliations.get().clinic
    department.parent = hospital
    department.save()
    rebuild_all()

    assert names(client, certified="1", condition="liver") == {"Abteilung"}


def test_the_condition_page_lists_certified_centres_first_saying_why(client):
    liver = ConditionFactory(slug="liver-metastases", name_en="Liver metastases")
    big = AffiliationFactory.create_batch(3, location__clinic__name="Aaa Many Specialists")
    for affiliation in big:
        affiliation.clinic = big[0].clinic
        affiliation.save()
        affiliation.specialist.conditions.add(liver)
    small = AffiliationFactory(location__clinic__name="Zzz Certified Centre")
    small.specialist.conditions.add(liver)
    certify(small.clinic, liver, title="Liver Cancer Centre", valid_until=days_ago(-100))
    expired = AffiliationFactory(location__clinic__name="Mmm Expired Centre")
    expired.specialist.conditions.add(liver)
    certify(expired.clinic, liver, title="Old Centre", valid_until=days_ago(1))
    rebuild_all()

    body = client.get("/en/conditions/liver-metastases/").content.decode()
    section = body[body.index('id="clinics-heading"') :]
    assert section.index("Zzz Certified Centre") < section.index("Aaa Many Specialists")
    assert "Liver Cancer Centre, A cancer society, valid until" in section
    assert "Old Centre" not in section
    assert "come first" in section
    assert "?certified=1" in section


# --- Facts that grow old -------------------------------------------------------------------------


def test_stale_languages_insurance_and_new_patients_drop_out_of_their_filters(client):
    listed("Frisch", languages=["fr"], insurance=["private"])
    listed(
        "Veraltet",
        languages=["fr"],
        insurance=["private"],
        languages_confirmed_on=days_ago(400),
        insurance_confirmed_on=days_ago(400),
        new_patients_confirmed_on=days_ago(400),
    )
    rebuild_all()

    assert names(client) == {"Frisch", "Veraltet"}
    assert names(client, language="fr") == {"Frisch"}
    assert names(client, insurance="private") == {"Frisch"}
    assert names(client, new_patients="1") == {"Frisch"}


def test_the_card_and_the_profile_say_since_when_a_fact_is_unconfirmed(client):
    specialist = listed(
        "Veraltet",
        languages=["fr"],
        languages_confirmed_on=days_ago(400),
        new_patients_confirmed_on=days_ago(400),
        insurance_confirmed_on=days_ago(400),
    )
    location = specialist.affiliations.get().location
    location.hours = "Mo-Su 00:00-24:00"
    location.hours_confirmed_on = days_ago(500)
    location.save()
    listed("Frisch")
    rebuild_all()
    shown = days_ago(400).strftime("%m/%d/%Y")

    cards = client.get("/en/specialists/", {"q": "Faktenprobe"}).content.decode()
    card = cards[cards.index("Veraltet") :].split("</article>")[0]
    assert f"not confirmed since {shown}" in card  # the languages
    assert f"New patients: not confirmed since {shown}" in card
    assert "Opening hours not confirmed since" in card
    assert "open-status" not in card  # no "Open now" from unconfirmed hours
    fresh = cards[cards.index("Frisch") :].split("</article>")[0]
    assert "not confirmed" not in fresh

    profile = client.get("/en/specialists/veraltet/").content.decode()
    assert profile.count(f"Not confirmed since {shown}") == 3  # languages, insurance, patients
    assert "Not confirmed since" in profile[profile.index("Opening hours") :]
    assert names(client, open_now="1") == set()  # around the clock, but unconfirmed


def test_facts_show_their_source_and_date_while_current(client):
    listed("Frisch", languages_source="practice", languages_confirmed_on=days_ago(3))
    profile = client.get("/en/specialists/frisch/").content.decode()
    assert f"confirmed {days_ago(3).strftime('%m/%d/%Y')}; source: the practice" in profile


def test_refresh_facts_rewrites_the_rows_whose_facts_just_grew_old(client, settings):
    settings.FACT_MAX_AGE_DAYS = 365
    listed("Grenze", languages=["fr"], languages_confirmed_on=days_ago(365))
    rebuild_all()
    assert names(client, language="fr") == {"Grenze"}

    settings.FACT_MAX_AGE_DAYS = 364  # a day later, as it were
    assert names(client, language="fr") == {"Grenze"}  # the row still counts it
    call_command("refresh_facts", stdout=None)
    assert names(client, language="fr") == set()


def test_refresh_facts_catches_a_certification_that_ran_out(client):
    specialist = listed("Zertifiziert")
    certification = certify(specialist.affiliations.get().clinic)
    rebuild_all()
    assert names(client, certified="1") == {"Zertifiziert"}

    Certification.objects.filter(pk=certification.pk).update(valid_until=days_ago(2))
    call_command("refresh_facts", stdout=None)
    assert names(client, certified="1") == set()


def test_an_editor_changing_a_fact_confirms_it_that_day(client):
    specialist = listed(
        "Geaendert",
        languages=["de"],
        languages_source="import",
        languages_confirmed_on=days_ago(200),
        insurance_confirmed_on=days_ago(200),
    )
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = f"/admin/directory/specialist/{specialist.pk}/change/"

    response = client.post(url, change_form_data(client, url, languages=["de", "fr"]))

    assert response.status_code == 302
    specialist.refresh_from_db()
    assert specialist.languages_confirmed_on == timezone.localdate()
    assert specialist.languages_source == "editor"  # the editor's call now, not the import's
    assert specialist.insurance_confirmed_on == days_ago(200)  # unchanged, not confirmed anew
    # A date the editor sets is kept.
    data = change_form_data(
        client, url, languages=["de"], languages_confirmed_on=days_ago(9).isoformat()
    )
    assert client.post(url, data).status_code == 302
    specialist.refresh_from_db()
    assert specialist.languages_confirmed_on == days_ago(9)


# --- The editors' list of what is about to expire ------------------------------------------------


def test_the_dashboard_lists_facts_and_certifications_about_to_expire(client, settings):
    settings.FACT_MAX_AGE_DAYS = 365
    soon = listed("Bald", languages_confirmed_on=days_ago(350))  # stops counting in 15 days
    listed("Frisch")
    gone = listed("Vorbei", insurance_confirmed_on=days_ago(400))  # already stopped counting
    place = listed("Ort").affiliations.get().location
    place.hours = "Mo-Fr 08:00-12:00"
    place.hours_confirmed_on = days_ago(340)
    place.save()
    clinic = ClinicFactory()
    ending = certify(clinic, valid_until=days_ago(-20))
    certify(clinic, valid_until=days_ago(-200))
    unconfirming = certify(clinic, confirmed=355)

    client.force_login(EditorFactory())
    entries = {str(entry.label): entry for entry in ENTRIES}
    facts = entries["Published specialists with a fact that stops counting within 30 days"]
    listed_now = client.get(facts.url).context["cl"].result_list
    assert {s.family_name for s in listed_now} == {"Bald", "Ort"}
    assert facts.count() == 2
    assert gone.pk not in {s.pk for s in listed_now}
    certificates = entries["Certifications that run out or need confirming within 30 days"]
    assert {c.pk for c in client.get(certificates.url).context["cl"].result_list} == {
        ending.pk,
        unconfirming.pk,
    }
    dashboard = client.get("/admin/").text
    assert "facts=expiring" in dashboard
    assert "validity=expiring" in dashboard
    assert soon.family_name in {s.family_name for s in listed_now}
    lapsed = entries["Published specialists with a fact that no longer counts (not confirmed)"]
    assert {s.family_name for s in client.get(lapsed.url).context["cl"].result_list} == {"Vorbei"}
    # A certification that ran out is expired, not one to confirm.
    certify(clinic, valid_until=days_ago(2), confirmed=350)
    assert certificates.count() == 2


# --- "Something wrong?" --------------------------------------------------------------------------


def test_a_reported_error_reaches_the_editors_queue_without_personal_data(client, caplog):
    specialist = listed("Gemeldet")
    profile = client.get("/en/specialists/gemeldet/").content.decode()
    assert 'href="/en/specialists/gemeldet/report/"' in profile
    form = client.get("/en/specialists/gemeldet/report/")
    assert form.status_code == 200
    assert form["Cache-Control"] == "private, no-store"

    response = client.post(
        "/en/specialists/gemeldet/report/",
        {"fact": "hours", "message": "They close at 16:00 on Fridays now.", "email": ""},
        REMOTE_ADDR="203.0.113.7",
        HTTP_USER_AGENT="Test browser",
    )

    assert response.status_code == 302
    assert response["Location"] == "/en/specialists/gemeldet/report/?sent=1"
    assert "Thank you" in client.get(response["Location"]).content.decode()
    report = FactReport.objects.get()
    assert (report.specialist, report.fact, report.state) == (specialist, "hours", "open")
    assert report.email == ""
    stored = " ".join(str(getattr(report, f.attname)) for f in FactReport._meta.concrete_fields)
    assert "203.0.113" not in stored
    assert "Test browser" not in stored

    client.force_login(EditorFactory())
    queue = next(e for e in ENTRIES if str(e.label) == "Reported errors to check")
    assert queue.count() == 1
    page = client.get(queue.url)
    assert [r.pk for r in page.context["cl"].result_list] == [report.pk]
    change = client.get(f"/admin/directory/factreport/{report.pk}/change/").text
    assert "They close at 16:00 on Fridays now." in change
    client.post(f"/admin/directory/factreport/{report.pk}/change/", {"state": "corrected"})
    report.refresh_from_db()
    assert report.state == "corrected"
    assert report.handled_on == timezone.localdate()
    assert queue.count() == 0


def test_a_clinic_can_be_reported_with_an_optional_email(client):
    clinic = ClinicFactory(slug="meldeklinik")
    assert "/en/clinics/meldeklinik/report/" in client.get("/en/clinics/meldeklinik/").text
    response = client.post(
        "/en/clinics/meldeklinik/report/",
        {"fact": "certifications", "message": "The certificate ran out.", "email": "a@example.org"},
    )
    assert response.status_code == 302
    report = FactReport.objects.get()
    assert (report.clinic, report.specialist, report.email) == (clinic, None, "a@example.org")
    # A clinic's form offers only what a clinic page shows.
    form = client.get("/en/clinics/meldeklinik/report/").text
    assert 'value="hours"' in form
    assert 'value="languages"' not in form


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"fact": "", "message": "Wrong."}, "fact"),
        ({"fact": "nonsense", "message": "Wrong."}, "fact"),
        ({"fact": "hours", "message": "   "}, "message"),
        ({"fact": "hours", "message": "x" * 2001}, "message"),
        ({"fact": "hours", "message": "Wrong.", "email": "not an address"}, "email"),
        ({"fact": "languages", "message": "Wrong."}, "fact"),  # not on a clinic's page
    ],
)
def test_a_bad_report_is_refused_with_the_error_beside_its_field(client, data, field):
    ClinicFactory(slug="meldeklinik")
    response = client.post("/en/clinics/meldeklinik/report/", data)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.content.decode()
    assert 'class="error-summary"' in response.content.decode()
    assert FactReport.objects.count() == 0


def test_an_empty_report_names_each_missing_field(client):
    ClinicFactory(slug="meldeklinik")
    empty = client.post("/en/clinics/meldeklinik/report/", {}).content.decode()
    assert "Please choose what is wrong." in empty
    assert "Please tell us what is wrong." in empty


def test_drafts_cannot_be_reported_and_bots_store_nothing(client):
    listed("Entwurf", status="draft")
    assert client.get("/en/specialists/entwurf/report/").status_code == 404
    listed("Offen")
    response = client.post(
        "/en/specialists/offen/report/",
        {"fact": "hours", "message": "Spam.", "leave_empty": "http://spam.example"},
    )
    assert response.status_code == 302
    assert FactReport.objects.count() == 0


def test_many_reports_from_one_connection_get_429(client, settings):
    settings.FACT_REPORTS_PER_HOUR = 2
    listed("Oft")
    data = {"fact": "hours", "message": "Wrong."}
    statuses = [client.post("/en/specialists/oft/report/", data).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert FactReport.objects.count() == 2
    assert RateLimitCount.objects.exists()


def test_a_certification_saved_or_deleted_in_admin_changes_the_filter_at_once(client):
    specialist = listed("Admin")
    clinic = specialist.affiliations.get().clinic
    department_member = listed("Abteilung")
    department = department_member.affiliations.get().clinic
    department.parent = clinic
    department.save()
    condition = ConditionFactory(slug="liver")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = f"/admin/directory/clinic/{clinic.pk}/change/"
    data = change_form_data(
        client,
        url,
        **{
            "certifications-TOTAL_FORMS": "1",
            "certifications-0-title_en": "Certified centre",
            "certifications-0-issuer": "A cancer society",
            "certifications-0-conditions": [str(condition.pk)],
            "certifications-0-source": "register",
            "certifications-0-confirmed_on": timezone.localdate().isoformat(),
        },
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]

    assert names(client, certified="1") == {"Admin", "Abteilung"}  # no rebuild_all
    certification = Certification.objects.get()
    assert list(certification.conditions.all()) == [condition]

    certification.delete()
    assert names(client, certified="1") == set()


def test_a_draft_hospitals_certification_does_not_count_for_its_departments(client):
    hospital = ClinicFactory(name="Faktenprobe Haus", status="draft")
    certify(hospital)
    department = listed("Abteilung").affiliations.get().clinic
    department.parent = hospital
    department.save()
    assert names(client, certified="1") == set()
    hospital.status = "published"
    hospital.save()
    assert names(client, certified="1") == {"Abteilung"}


def test_the_certified_filter_uses_its_index(db):
    from django.db import connection

    from directory.models import SpecialistSearch
    from directory.search.plan import make_plan, rows

    for condition_ids in ([], [ConditionFactory().pk]):
        plan = make_plan({"certified": "1"}, scope_conditions=condition_ids)
        query = rows(plan, SpecialistSearch.objects.all())
        sql, sql_params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", sql_params)
            explained = "\n".join(row[0] for row in cursor.fetchall())
        assert "search_certified_gin" in explained, explained


def test_reports_are_deleted_after_their_retention_period(settings):
    settings.FACT_REPORT_RETENTION_DAYS = 30
    specialist = listed("Alt")
    old = FactReport.objects.create(specialist=specialist, fact="hours", message="Wrong.")
    recent = FactReport.objects.create(specialist=specialist, fact="hours", message="Wrong too.")
    FactReport.objects.filter(pk=old.pk).update(received=timezone.now() - timedelta(days=31))
    FactReport.objects.filter(pk=recent.pk).update(received=timezone.now() - timedelta(days=29))

    call_command("refresh_facts", stdout=None)

    assert list(FactReport.objects.all()) == [recent]
