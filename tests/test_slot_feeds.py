"""Free appointment times from the practices' systems: SMART Scheduling Links feeds read by
`manage.py sync_slots` from a feed server on the loopback interface. A bad feed is reported on
its source and never removes the slots of the last good one."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from directory.models import FeedLocation, FeedSchedule, Slot, SlotSource, SpecialistSearch
from directory.slots import availability, feeds, sync
from tests.admin_forms import change_form_data
from tests.factories import AffiliationFactory, LocationFactory
from tests.slot_feeds import FeedServer, at, location, ndjson, schedule, slot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"), translation.override("en", deactivate=True):
        yield


@pytest.fixture
def server():
    with FeedServer() as feed_server:
        yield feed_server


@pytest.fixture
def practice(db):
    """A specialist with one place of work, at Beispielstraße 1, 99084 Erfurt."""
    return AffiliationFactory(specialist__family_name="Terminfrei")


def source_for(affiliation, server) -> SlotSource:
    return SlotSource.objects.create(
        specialist=affiliation.specialist, url=f"{server.url}/$bulk-publish"
    )


def next_free(affiliation):
    return SpecialistSearch.objects.get(specialist=affiliation.specialist).next_free


def lines(feed_text: str):
    return [(None, "feed.ndjson", feed_text)]


# Reading a feed (no database)


def test_a_valid_feed_gives_its_places_schedules_and_future_free_slots():
    now = timezone.now()
    feed = feeds.read(
        lines(
            ndjson(
                location(),
                schedule(),
                slot("a", at(1, 9)),
                slot("b", at(1, 10), status="busy"),
                slot("c", at(-1, 9)),
                slot("d", at(2, 9), link="https://praxis.example/book/d"),
            )
        ),
        now,
    )
    assert list(feed.places) == ["loc1"]
    assert feed.places["loc1"].postcode == "99084"
    assert list(feed.schedules) == ["sch1"]
    assert [s.external_id for s in feed.slots] == ["a", "d"]
    assert feed.slots[1].booking_url == "https://praxis.example/book/d"
    assert feed.past == 1
    assert feed.problems == []
    assert feed.usable


def test_bad_lines_are_left_out_and_named_with_their_line_number():
    feed = feeds.read(
        lines(
            ndjson(location(), schedule(), slot("a", at(1, 9)))
            + "{not json\n"
            + ndjson(
                slot("b", at(1, 10), schedule_id="nowhere"),
                {"resourceType": "Patient", "id": "p"},
                {**slot("c", at(1, 11)), "end": "yesterday"},
                {**slot("d", at(1, 12)), "end": at(1, 11).isoformat()},
                slot("a", at(1, 13)),
            )
        ),
        timezone.now(),
    )
    assert [s.external_id for s in feed.slots] == ["a"]
    assert feed.problems == [
        "feed.ndjson, line 4: not JSON.",
        "feed.ndjson, line 6: not a Location, Schedule or Slot resource.",
        "feed.ndjson, line 5: slot b belongs to an unknown schedule.",
        "feed.ndjson, line 7: slot c has no readable start and end (with time zone).",
        "feed.ndjson, line 8: slot d ends before it begins.",
        "feed.ndjson, line 9: slot a appears twice.",
    ]
    # Five of seven slot lines are bad: the feed does not replace the last good one.
    assert not feed.usable


def test_a_schedule_at_an_unknown_place_is_left_out_with_its_slots():
    feed = feeds.read(
        lines(
            ndjson(
                location(), schedule("s2", place="elsewhere"), slot("a", at(1), schedule_id="s2")
            )
        ),
        timezone.now(),
    )
    assert feed.schedules == {}
    assert feed.slots == []
    assert "schedule s2 names the unknown place elsewhere" in feed.problems[0]


def test_overlapping_slots_of_one_schedule_keep_the_first():
    feed = feeds.read(
        lines(
            ndjson(
                location(),
                schedule(),
                schedule("sch2"),
                slot("a", at(1, 9), minutes=30),
                slot("b", at(1, 9, 20)),
                slot("c", at(1, 9, 30)),
                # Another schedule (a colleague) may have the same time.
                slot("d", at(1, 9), schedule_id="sch2"),
            )
        ),
        timezone.now(),
    )
    assert [s.external_id for s in feed.slots] == ["a", "d", "c"]
    assert feed.problems == ["slot b overlaps another of schedule sch1."]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>", "The manifest is not JSON."),
        (b"[]", "The manifest has no list of files"),
        (b'{"output": [{"type": "Slot"}]}', "A file in the manifest has no address"),
    ],
)
def test_what_is_not_a_manifest_is_said_so(body, message):
    with pytest.raises(feeds.FeedError, match=message):
        feeds.parse_manifest(body)


# Syncing a source


def test_sync_maps_the_feed_to_the_place_of_work_and_sets_the_next_free_time(server, practice):
    server.publish(
        location(street="Beispielstr. 1"),
        schedule(),
        slot("a", at(2, 9)),
        slot("b", at(1, 14)),
        slot("old", at(-1, 9)),
    )
    source = source_for(practice, server)
    assert sync.sync(source).state == "synced"

    slots = list(Slot.objects.order_by("start"))
    assert [s.external_id for s in slots] == ["b", "a"]
    assert {s.affiliation_id for s in slots} == {practice.pk}
    assert slots[0].span.upper - slots[0].span.lower == timedelta(minutes=20)
    assert FeedLocation.objects.get().location == practice.location
    assert next_free(practice) == at(1, 14)
    source.refresh_from_db()
    assert (source.slot_count, source.problem, source.transaction_time) == (
        2,
        "",
        "2026-12-01T08:00:00Z",
    )
    assert source.synced_at is not None


def test_a_new_feed_replaces_the_future_slots_but_keeps_the_rows_still_offered(server, practice):
    server.publish(location(), schedule(), slot("a", at(1, 9)), slot("b", at(1, 10)))
    source = source_for(practice, server)
    sync.sync(source)
    kept = Slot.objects.get(external_id="b")
    server.publish(
        location(),
        schedule(),
        slot("b", at(1, 10)),
        slot("c", at(3, 11)),
        transaction_time="2026-12-01T09:00:00Z",
    )
    sync.sync(SlotSource.objects.get())
    assert sorted(Slot.objects.values_list("external_id", flat=True)) == ["b", "c"]
    assert Slot.objects.get(external_id="b").pk == kept.pk
    assert next_free(practice) == at(1, 10)


def test_a_slot_a_booking_holds_or_took_is_never_removed_or_moved(server, practice):
    server.publish(location(), schedule(), slot("held", at(1, 9)), slot("booked", at(1, 10)))
    source = source_for(practice, server)
    sync.sync(source)
    Slot.objects.filter(external_id="held").update(
        held_until=timezone.now() + timedelta(minutes=10)
    )
    Slot.objects.filter(external_id="booked").update(booked=True)
    availability.refresh([practice.specialist_id])
    server.publish(
        location(),
        schedule(),
        slot("booked", at(1, 11)),
        transaction_time="2026-12-01T09:00:00Z",
    )
    sync.sync(SlotSource.objects.get())
    assert sorted(Slot.objects.values_list("external_id", flat=True)) == ["booked", "held"]
    assert Slot.objects.get(external_id="booked").start == at(1, 10)
    assert next_free(practice) is None


def test_a_manifest_that_vanished_is_reported_and_the_slots_stay(server, practice):
    server.publish(location(), schedule(), slot("a", at(1, 9)))
    source = source_for(practice, server)
    sync.sync(source)
    server.files["/$bulk-publish"] = 404
    server.modified += timedelta(seconds=1)

    outcome = sync.sync(SlotSource.objects.get())

    assert outcome.state == "failed"
    source.refresh_from_db()
    assert "answered HTTP 404" in source.problem
    assert source.problem_since is not None
    assert list(Slot.objects.values_list("external_id", flat=True)) == ["a"]
    assert next_free(practice) == at(1, 9)


def test_a_mostly_broken_feed_is_not_taken(server, practice):
    server.publish(location(), schedule(), slot("a", at(1, 9)), slot("b", at(1, 10)))
    source = source_for(practice, server)
    sync.sync(source)
    server.publish(location(), schedule(), transaction_time="2026-12-02T08:00:00Z")
    server.files["/slots.ndjson"] = "{cut off\n" + ndjson(slot("a", at(1, 9))) + "{\n{\n"

    assert sync.sync(SlotSource.objects.get()).state == "failed"

    source.refresh_from_db()
    assert source.problem.startswith("3 of 4 slot lines could not be used")
    assert "slots.ndjson, line 1: not JSON." in source.problem
    assert Slot.objects.count() == 2


def test_a_file_of_the_manifest_that_is_missing_changes_nothing(server, practice):
    server.publish(location(), schedule(), slot("a", at(1, 9)))
    source = source_for(practice, server)
    sync.sync(source)
    server.publish(location(), schedule(), transaction_time="2026-12-02T08:00:00Z")
    server.files["/slots.ndjson"] = 500
    assert sync.sync(SlotSource.objects.get()).state == "failed"
    assert Slot.objects.count() == 1


def test_a_partly_bad_feed_is_taken_and_its_left_out_lines_are_listed(server, practice):
    server.publish(location(), schedule(), slot("a", at(1, 9)), slot("b", at(1, 10)))
    server.files["/slots.ndjson"] += "{oops\n"
    source = source_for(practice, server)
    assert sync.sync(source).state == "synced"
    source.refresh_from_db()
    assert source.skipped == "slots.ndjson, line 3: not JSON."
    assert Slot.objects.count() == 2


def test_an_unchanged_feed_is_not_fetched_again(server, practice):
    server.publish(location(), schedule(), slot("a", at(1, 9)))
    source = source_for(practice, server)
    sync.sync(source)
    server.requests.clear()

    assert sync.sync(SlotSource.objects.get()).state == "unchanged"
    # Asked with the server's date of the last good feed, and answered 304: no file fetched.
    assert [path for path, _since in server.requests] == ["/$bulk-publish"]
    assert server.requests[0][1] != ""

    # A new date with the same transactionTime: the files are not fetched either.
    server.publish(location(), schedule(), slot("a", at(1, 9)))
    server.requests.clear()
    assert sync.sync(SlotSource.objects.get()).state == "unchanged"
    assert [path for path, _since in server.requests] == ["/$bulk-publish"]


def test_a_place_that_is_not_ours_leaves_its_slots_out_until_an_editor_matches_it(server, practice):
    other = LocationFactory(clinic=practice.clinic, street="Nebenweg 4")
    AffiliationFactory(specialist=practice.specialist, location=other, is_primary=False)
    server.publish(
        location("far", street="Unbekannte Gasse 9"), schedule(place="far"), slot("a", at(1, 9))
    )
    source = source_for(practice, server)
    sync.sync(source)
    source.refresh_from_db()
    assert Slot.objects.count() == 0
    assert "1 places of the feed are not matched to ours" in source.skipped

    FeedLocation.objects.filter(external_id="far").update(location=other)
    sync.sync(source, force=True)
    assert Slot.objects.get().location == other
    assert next_free(practice) == at(1, 9)


def test_a_clinic_feed_gives_the_clinic_its_times_and_an_editor_gives_them_a_specialist(server):
    affiliation = AffiliationFactory()
    source = SlotSource.objects.create(clinic=affiliation.clinic, url=f"{server.url}/$bulk-publish")
    server.publish(location(), schedule("dr"), slot("a", at(1, 9), schedule_id="dr"))
    sync.sync(source)
    clinic_slot = Slot.objects.get()
    assert (clinic_slot.clinic, clinic_slot.affiliation) == (affiliation.clinic, None)
    assert next_free(affiliation) is None

    FeedSchedule.objects.filter(external_id="dr").update(affiliation=affiliation)
    sync.sync(source, force=True)
    assert Slot.objects.get().affiliation == affiliation
    assert next_free(affiliation) == at(1, 9)


def test_an_uploaded_file_is_read_like_a_feed(practice):
    feed = ndjson(location(), schedule(place=None), slot("a", at(1, 9)))
    source = SlotSource.objects.create(
        specialist=practice.specialist, upload=ContentFile(feed.encode(), name="times.ndjson")
    )
    # A schedule that names no place is at the specialist's only place of work.
    assert sync.sync(source).state == "synced"
    assert Slot.objects.get().affiliation == practice
    source.upload.delete(save=False)


def test_the_next_free_time_moves_on_as_time_passes_it(server, practice):
    server.publish(location(), schedule(), slot("a", at(1, 9)), slot("b", at(1, 10)))
    sync.sync(source_for(practice, server))
    assert next_free(practice) == at(1, 9)
    assert availability.roll(now=at(1, 9, 5)) == 1
    assert next_free(practice) == at(1, 10)
    assert availability.roll(now=at(1, 9, 6)) == 0
    assert availability.roll(now=at(1, 10)) == 1
    assert next_free(practice) is None


def test_a_hold_that_ran_out_frees_its_slot_for_the_search(server, practice):
    server.publish(location(), schedule(), slot("a", at(1, 9)), slot("b", at(1, 10)))
    sync.sync(source_for(practice, server))
    Slot.objects.filter(external_id="a").update(held_until=timezone.now() + timedelta(minutes=10))
    availability.refresh([practice.specialist_id])
    assert next_free(practice) == at(1, 10)
    Slot.objects.filter(external_id="a").update(held_until=timezone.now() - timedelta(seconds=1))
    availability.roll()
    assert Slot.objects.get(external_id="a").held_until is None
    assert next_free(practice) == at(1, 9)


def test_sync_slots_reads_every_active_source_and_says_how_it_went(server, practice):
    server.publish(location(), schedule(), slot("a", at(1, 9)))
    source_for(practice, server)
    broken = AffiliationFactory()
    SlotSource.objects.create(specialist=broken.specialist, url=f"{server.url}/gone")
    SlotSource.objects.create(
        specialist=AffiliationFactory().specialist, url=f"{server.url}/x", active=False
    )
    out = StringIO()
    call_command("sync_slots", stdout=out)
    assert out.getvalue().startswith("1 sources read, 0 unchanged, 1 with a problem;")
    assert Slot.objects.count() == 1


# Editors


def test_an_editor_adds_a_source_and_it_is_read_at_once(client, editor, server, practice):
    server.publish(location(), schedule(), slot("a", at(1, 9)))
    client.force_login(editor)
    response = client.post(
        reverse("admin:directory_slotsource_add"),
        {
            "specialist": practice.specialist_id,
            "url": f"{server.url}/$bulk-publish",
            "active": "on",
            **inline_management("feed_locations"),
            **inline_management("feed_schedules"),
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "1 source read." in response.content.decode()
    assert Slot.objects.get().affiliation == practice


def inline_management(prefix: str) -> dict:
    return {
        f"{prefix}-{key}": value
        for key, value in [
            ("TOTAL_FORMS", "0"),
            ("INITIAL_FORMS", "0"),
            ("MIN_NUM_FORMS", "0"),
            ("MAX_NUM_FORMS", "1000"),
        ]
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": ""}, "Give the address of the manifest or upload a file."),
        ({"url": "ftp://praxis.example/feed"}, "Enter a valid URL."),
        ({"clinic": "both"}, "Choose either a clinic or a specialist."),
    ],
)
def test_a_source_needs_one_listing_and_one_http_address(
    client, editor, practice, changes, message
):
    client.force_login(editor)
    data = {
        "specialist": practice.specialist_id,
        "url": "https://praxis.example/$bulk-publish",
        **inline_management("feed_locations"),
        **inline_management("feed_schedules"),
        **changes,
    }
    if data.get("clinic") == "both":
        data["clinic"] = practice.clinic_id
    response = client.post(reverse("admin:directory_slotsource_add"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SlotSource.objects.exists()


def test_an_editor_matches_a_place_of_the_feed_and_the_dashboard_counts_problems(
    client, editor, server, practice
):
    server.publish(
        location("far", street="Unbekannte Gasse 9"), schedule(place="far"), slot("a", at(1, 9))
    )
    source = source_for(practice, server)
    sync.sync(source)
    SlotSource.objects.create(
        specialist=AffiliationFactory().specialist, url=f"{server.url}/gone", problem="Gone."
    )
    client.force_login(editor)
    assert (
        "Sources of free appointment times that could not be read"
        in client.get(reverse("admin:index")).content.decode()
    )
    problems = client.get(reverse("admin:directory_slotsource_changelist") + "?state=problem")
    assert len(problems.context["cl"].result_list) == 1

    url = reverse("admin:directory_slotsource_change", args=[source.pk])
    data = change_form_data(client, url, **{"feed_locations-0-location": str(practice.location_id)})
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    assert Slot.objects.get().affiliation == practice


# The demo


def test_the_demo_has_free_times_from_weekly_times_and_from_an_uploaded_feed(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("load_demo", stdout=StringIO())
    with_times = set(
        SpecialistSearch.objects.filter(next_free__gt=timezone.now()).values_list(
            "specialist__slug", flat=True
        )
    )
    assert with_times == {"jannik-ohlsen", "svenja-harms", "friederike-lohmeier"}
    feed = SlotSource.objects.get(specialist__slug="friederike-lohmeier")
    assert (feed.problem, feed.skipped) == ("", "")
    assert feed.slot_count > 0
    count = Slot.objects.count()

    # Loading it again writes the feed for the coming days and changes nothing else.
    call_command("load_demo", stdout=StringIO())
    assert Slot.objects.count() == count
    # An editor's own source is left alone.
    SlotSource.objects.filter(pk=feed.pk).update(
        url="https://praxis.example/$bulk-publish", upload=""
    )
    call_command("load_demo", stdout=StringIO())
    mine = SlotSource.objects.get(pk=feed.pk)
    assert (mine.url, mine.upload.name) == ("https://praxis.example/$bulk-publish", "")


# Feeds that are wrong in ways JSON allows


def test_lines_of_the_wrong_shape_are_problems_not_crashes():
    nested = "[" * 5000 + "]" * 5000
    feed = feeds.read(
        lines(
            ndjson(
                {**location(), "address": {"line": "Beispielstraße 1", "postalCode": 99084}},
                {**schedule(), "actor": "Location/loc1", "serviceType": [{"coding": 5}]},
                {**slot("a", at(1, 9)), "extension": 5},
                {**slot("b", at(1, 10)), "status": ["free"]},
                {**slot("c" * 201, at(1, 11))},
                schedule("s" * 201),
            )
            + nested
            + "\n"
        ),
        timezone.now(),
    )
    assert [s.external_id for s in feed.slots] == ["a"]
    assert any(problem.endswith("slot b has an unknown status.") for problem in feed.problems)
    assert any(problem.endswith("a slot without an ID.") for problem in feed.problems)
    assert any("a schedule without an ID" in problem for problem in feed.problems)
    assert any("not JSON" in problem for problem in feed.problems)


def test_an_empty_slot_file_does_not_empty_the_listing_unless_an_editor_says_so(server, practice):
    server.publish(location(), schedule(), slot("a", at(1, 9)))
    source = source_for(practice, server)
    sync.sync(source)
    server.publish(location(), schedule(), transaction_time="2026-12-02T08:00:00Z")

    assert sync.sync(SlotSource.objects.get()).state == "failed"
    assert Slot.objects.count() == 1
    assert "lists no slots at all" in SlotSource.objects.get().problem

    assert sync.sync(SlotSource.objects.get(), force=True).state == "synced"
    assert Slot.objects.count() == 0
    assert next_free(practice) is None


def test_a_manifest_without_a_slot_file_is_not_a_feed(server, practice):
    server.publish(location(), schedule(), slot("a", at(1, 9)))
    source = source_for(practice, server)
    sync.sync(source)
    server.files["/$bulk-publish"] = '{"output": [], "transactionTime": "2026-12-03T00:00:00Z"}'
    server.modified += timedelta(seconds=1)
    assert sync.sync(SlotSource.objects.get()).state == "failed"
    assert "names no Slot file" in SlotSource.objects.get().problem
    assert Slot.objects.count() == 1


def test_one_source_that_fails_unexpectedly_does_not_stop_the_others(server, practice, monkeypatch):
    server.publish(location(), schedule(), slot("a", at(1, 9)))
    first = source_for(practice, server)
    other = AffiliationFactory()
    SlotSource.objects.create(specialist=other.specialist, url=f"{server.url}/$bulk-publish")
    real_apply = sync.apply

    def apply(source, feed, *, now):
        if source.pk == first.pk:
            raise RuntimeError("surprise")
        return real_apply(source, feed, now=now)

    monkeypatch.setattr(sync, "apply", apply)
    out = StringIO()
    call_command("sync_slots", stdout=out)
    assert out.getvalue().startswith("1 sources read, 0 unchanged, 1 with a problem;")
    assert "unexpected RuntimeError" in SlotSource.objects.get(pk=first.pk).problem
    assert Slot.objects.get().affiliation.specialist == other.specialist


def test_deleting_a_source_takes_its_times_off_the_search_and_the_pages(
    server, practice, django_capture_on_commit_callbacks
):
    server.publish(location(), schedule(), slot("a", at(1, 9)))
    source = source_for(practice, server)
    sync.sync(source)
    assert next_free(practice) == at(1, 9)
    with django_capture_on_commit_callbacks(execute=True):
        SlotSource.objects.get().delete()
    assert not Slot.objects.exists()
    assert next_free(practice) is None


def test_a_hold_that_ran_out_on_a_clinics_own_slot_retires_the_cached_pages(server):
    from directory.search import keys

    affiliation = AffiliationFactory()
    source = SlotSource.objects.create(clinic=affiliation.clinic, url=f"{server.url}/$bulk-publish")
    server.publish(location(), schedule("own"), slot("a", at(1, 9), schedule_id="own"))
    sync.sync(source)
    Slot.objects.update(held_until=timezone.now() - timedelta(seconds=1))
    before = keys.generation(keys.CARDS_GENERATION_KEY)
    availability.roll()
    assert keys.generation(keys.CARDS_GENERATION_KEY) != before
    # Nothing ran out and nothing passed: the pages stay.
    before = keys.generation(keys.CARDS_GENERATION_KEY)
    availability.roll()
    assert keys.generation(keys.CARDS_GENERATION_KEY) == before


def test_staff_who_may_only_view_sources_cannot_read_them(client, server, practice):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_slotsource"))
    source = source_for(practice, server)
    client.force_login(viewer)
    response = client.post(
        reverse("admin:directory_slotsource_changelist"),
        {"action": "read_now", "_selected_action": [source.pk]},
    )
    assert response.status_code in (200, 302)
    assert SlotSource.objects.get().checked_at is None
