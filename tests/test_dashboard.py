"""The editors' dashboard on the admin's first page: what needs someone today, each count one
query, each link landing on the list it counted; the requests only for those who may read
them."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from appointments.models import AppointmentRequest
from core.dashboard import ENTRIES
from core.roles import PATIENT_SERVICE_GROUP
from tests.factories import (
    ClinicFactory,
    ConditionFactory,
    EditorFactory,
    SpecialistFactory,
    SpecialtyFactory,
    UserFactory,
)
from tests.test_content import make_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def work():
    """Something of every kind to do, beside what needs nothing."""
    today = timezone.localdate()
    SpecialistFactory.create_batch(2)  # published, never verified
    SpecialistFactory(last_verified=today)
    SpecialistFactory(status="draft")
    ClinicFactory(needs_review=True, status="draft")
    ClinicFactory(last_verified=today - timedelta(days=400))
    SpecialtyFactory(needs_review=True)
    condition = ConditionFactory(needs_review=True)
    make_article(condition, reviewed_on=today - timedelta(days=500))
    now = timezone.now()
    for escalated in (None, now):
        AppointmentRequest.objects.create(
            specialist=SpecialistFactory(),
            name="Maria Muster",
            email="maria@example.org",
            message="Please.",
            preferred_language="de",
            site_language="en",
            consent_at=now,
            status="forwarded",
            reminded_at=now,
            escalated_at=escalated,
        )


def test_each_count_is_one_query_and_its_link_lands_on_what_it_counted(
    work, client, django_assert_num_queries
):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert len(ENTRIES) >= 10
    for entry in ENTRIES:
        with django_assert_num_queries(1):
            count = entry.count()
        response = client.get(entry.url)
        assert response.status_code == 200, entry.url
        assert response.context["cl"].result_count == count, entry.label
    counts = {str(entry.label): entry.count() for entry in ENTRIES}
    assert (
        counts["Published specialists not verified for 12 months"] == 4
    )  # with the two the requests go to
    assert counts["Published clinics not verified for 12 months"] >= 1
    assert counts["Draft specialists"] == 1
    assert counts["Medical fields waiting for approval"] == 1
    assert counts["Conditions and treatments waiting for approval"] == 1
    assert counts["Clinics waiting for review (created by an import)"] == 1
    assert counts["Articles due for review (not reviewed for 12 months)"] == 1
    assert (
        counts["Requests waiting for the patient service (no answer after four working days)"] == 1
    )
    assert counts["Requests not answered within two working days (practice reminded)"] == 1


def test_editors_see_their_work_and_the_patient_service_sees_the_requests(work, client):
    client.force_login(EditorFactory())
    editor = client.get("/admin/").text
    assert "What needs you today" in editor
    assert "?status__exact=published&amp;verification=stale" in editor
    assert "Articles due for review" in editor
    assert "Draft revisions waiting to be published" in editor
    assert "Requests waiting" not in editor  # health data: not theirs

    service = UserFactory(is_staff=True)
    service.groups.add(Group.objects.get(name=PATIENT_SERVICE_GROUP))
    client.force_login(service)
    page = client.get("/admin/").text
    assert "Requests waiting for the patient service" in page
    assert "?follow_up=service" in page
    assert "Articles due for review" not in page


@pytest.mark.parametrize("model", ["specialist", "clinic"])
def test_the_bulk_actions_verify_today_and_archive_what_the_dashboard_counted(client, model):
    """From the dashboard's link to the list: select, "Mark as verified today" takes the
    listings off the count; "Archive" takes others off the site."""
    factory = SpecialistFactory if model == "specialist" else ClinicFactory
    old = timezone.localdate() - timedelta(days=400)
    stale = factory.create_batch(2, last_verified=old)
    leaving = factory(last_verified=old)
    client.force_login(EditorFactory())
    entry = next(
        e for e in ENTRIES if e.url.startswith(f"/admin/directory/{model}/") and "stale" in e.url
    )
    listed = client.get(entry.url)
    assert {obj.pk for obj in listed.context["cl"].result_list} >= {o.pk for o in stale}

    client.post(
        f"/admin/directory/{model}/",
        {"action": "mark_verified", "_selected_action": [o.pk for o in stale]},
    )
    client.post(
        f"/admin/directory/{model}/", {"action": "archive", "_selected_action": [leaving.pk]}
    )

    for obj in stale:
        obj.refresh_from_db()
        assert obj.last_verified == timezone.localdate()
    leaving.refresh_from_db()
    assert leaving.status == "archived"
    after = client.get(entry.url)
    assert not {obj.pk for obj in after.context["cl"].result_list} & {o.pk for o in stale}
    history = client.get(f"/admin/directory/{model}/{stale[0].pk}/history/")
    assert "Verified" in history.text
