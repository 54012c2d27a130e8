"""Weekly times entered on the site (directory/slots/weekly.py): the slots they make, the
admin's form, the practice's link (appointments/weekly_link.py) and `manage.py generate_slots`."""

import io
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from appointments import weekly_link
from appointments.conversation import _IssuedAt
from directory.models import (
    Closure,
    Slot,
    SlotException,
    SpecialistSearch,
    WeeklyTemplate,
    WeeklyTime,
)
from directory.slots import weekly
from directory.slots.forms import PracticeTimesFormSet
from tests.factories import AffiliationFactory, LocationFactory, route_requests_to

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), BERLIN)


def local_starts(template) -> list[str]:
    return [
        timezone.localtime(slot.start, BERLIN).strftime("%Y-%m-%d %H:%M %z")
        for slot in Slot.objects.filter(template=template).order_by("start")
    ]


@pytest.fixture
def template(db):
    affiliation = AffiliationFactory(location__closed_on_public_holidays=True)
    return WeeklyTemplate.objects.create(affiliation=affiliation)


def row(template, weekday, starts, ends, minutes=20, **more) -> WeeklyTime:
    return WeeklyTime.objects.create(
        template=template,
        weekday=weekday,
        starts=time(*starts),
        ends=time(*ends),
        minutes=minutes,
        **more,
    )


# Monday 15 March 2027, 08:00 in Berlin; the clocks go forward on Sunday 28 March 2027.
MONDAY = date(2027, 3, 15)


def test_a_weekly_row_makes_slots_of_its_length(template, settings):
    settings.SLOT_WEEKS_AHEAD = 1
    row(template, 1, (9, 0), (12, 0), minutes=25)  # Tuesday

    result = weekly.regenerate(template.pk, now=at(MONDAY, 8))

    starts = local_starts(template)
    assert result.added == 7  # 09:00 … 11:30; the last 5 minutes stay free
    assert starts[0] == "2027-03-16 09:00 +0100"
    assert starts[-1] == "2027-03-16 11:30 +0100"
    slot = Slot.objects.filter(template=template).first()
    assert slot.end - slot.start == timedelta(minutes=25)
    assert slot.affiliation == template.affiliation
    assert slot.location == template.location
    assert slot.clinic == template.location.clinic
    assert slot.source is None


def test_slots_keep_the_wall_clock_across_the_change_to_summer_time(template, settings):
    settings.SLOT_WEEKS_AHEAD = 2
    row(template, 1, (9, 0), (10, 0), minutes=60)

    weekly.regenerate(template.pk, now=at(date(2027, 3, 22), 8))

    assert local_starts(template) == ["2027-03-23 09:00 +0100", "2027-03-30 09:00 +0200"]


def test_rows_count_only_within_their_validity(template, settings):
    settings.SLOT_WEEKS_AHEAD = 3
    row(template, 1, (9, 0), (10, 0), minutes=60, valid_from=date(2027, 3, 20))
    row(template, 1, (14, 0), (15, 0), minutes=60, valid_until=date(2027, 3, 20))

    weekly.regenerate(template.pk, now=at(MONDAY, 8))

    assert local_starts(template) == [
        "2027-03-16 14:00 +0100",
        "2027-03-23 09:00 +0100",
        "2027-03-30 09:00 +0200",
    ]


def test_no_slots_on_exceptions_closures_and_public_holidays(template, settings):
    settings.SLOT_WEEKS_AHEAD = 4
    row(template, 3, (9, 0), (10, 0), minutes=60)  # Thursdays
    # Thursday 6 May 2027 is Ascension Day, a public holiday everywhere in Germany.
    SlotException.objects.create(
        template=template, first_day=date(2027, 5, 13), last_day=date(2027, 5, 13)
    )
    Closure.objects.create(
        location=template.location, first_day=date(2027, 5, 20), last_day=date(2027, 5, 21)
    )

    weekly.regenerate(template.pk, now=at(date(2027, 5, 3), 8))

    assert local_starts(template) == ["2027-05-27 09:00 +0200"]


def test_a_location_open_on_public_holidays_gets_slots_on_them(settings):
    settings.SLOT_WEEKS_AHEAD = 1
    affiliation = AffiliationFactory(location__closed_on_public_holidays=False)
    template = WeeklyTemplate.objects.create(affiliation=affiliation)
    row(template, 3, (9, 0), (10, 0), minutes=60)

    weekly.regenerate(template.pk, now=at(date(2027, 5, 3), 8))

    assert local_starts(template) == ["2027-05-06 09:00 +0200"]


def test_regenerating_keeps_the_ids_of_slots_still_wanted_and_never_touches_booked_ones(
    template, settings
):
    settings.SLOT_WEEKS_AHEAD = 1
    now = at(MONDAY, 8)
    times = row(template, 1, (9, 0), (12, 0))
    weekly.regenerate(template.pk, now=now)
    by_start = {
        timezone.localtime(s.start, BERLIN).strftime("%H:%M"): s
        for s in Slot.objects.filter(template=template)
    }
    by_start["11:20"].held_until = now + timedelta(hours=1)
    by_start["11:20"].save()
    by_start["11:40"].booked = True
    by_start["11:40"].save()

    times.ends = time(11, 0)
    times.save()
    result = weekly.regenerate(template.pk, now=now)

    left = {
        timezone.localtime(s.start, BERLIN).strftime("%H:%M"): s.pk for s in template.slots.all()
    }
    assert result.kept == 6
    assert result.deleted == 1  # 11:00; the held 11:20 and the booked 11:40 stay
    assert sorted(left) == ["09:00", "09:20", "09:40", "10:00", "10:20", "10:40", "11:20", "11:40"]
    assert all(left[key] == by_start[key].pk for key in left)


def test_no_new_slot_is_made_over_a_booked_one(template, settings):
    settings.SLOT_WEEKS_AHEAD = 1
    now = at(MONDAY, 8)
    times = row(template, 1, (9, 0), (10, 0))
    weekly.regenerate(template.pk, now=now)
    booked = Slot.objects.get(template=template, start=at(date(2027, 3, 16), 9, 20))
    booked.booked = True
    booked.save()

    times.minutes = 30
    times.save()
    weekly.regenerate(template.pk, now=now)

    spans = [
        (timezone.localtime(s.start, BERLIN).strftime("%H:%M"), s.end - s.start)
        for s in template.slots.order_by("start")
    ]
    # 09:00-09:30 and 09:30-10:00 would overlap the booked 09:20-09:40: neither is made.
    assert spans == [("09:20", timedelta(minutes=20))]
    assert Slot.objects.filter(pk=booked.pk, booked=True).exists()


def test_the_specialists_next_free_time_follows(template):
    tomorrow = timezone.localdate() + timedelta(days=1)
    row(template, tomorrow.weekday(), (9, 0), (10, 0), minutes=30)
    row_of = SpecialistSearch.objects.filter(specialist=template.affiliation.specialist)
    assert row_of.get().next_free is None

    weekly.regenerate(template.pk)

    assert row_of.get().next_free == at(tomorrow, 9)

    WeeklyTime.objects.filter(template=template).delete()
    weekly.regenerate(template.pk)

    assert row_of.get().next_free is None


def test_generate_slots_regenerates_every_template(template, settings):
    settings.SLOT_WEEKS_AHEAD = 1
    row(template, 0, (9, 0), (10, 0), minutes=60)
    clinic_times = WeeklyTemplate.objects.create(location=LocationFactory())
    row(clinic_times, 0, (9, 0), (10, 0), minutes=60)
    out = io.StringIO()

    call_command("generate_slots", stdout=out)

    assert "2 added" in out.getvalue()
    assert Slot.objects.filter(template=clinic_times, affiliation=None).count() == 1


def times_data(*rows, prefix="times", initial=0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for n, values in enumerate(rows):
        for name, value in values.items():
            data[f"{prefix}-{n}-{name}"] = value
    return data


TUESDAY_MORNING = {"weekday": "1", "starts": "09:00", "ends": "12:00", "minutes": "20"}


@pytest.mark.parametrize(
    ("second", "error"),
    [
        (
            {"weekday": "1", "starts": "11:00", "ends": "13:00", "minutes": "20"},
            "These times overlap with Tuesday 09:00–12:00, 20 min.",
        ),
        ({"weekday": "2", "starts": "12:00", "ends": "09:00", "minutes": "20"}, "The end must"),
        (
            {"weekday": "2", "starts": "09:00", "ends": "09:30", "minutes": "45"},
            "A slot of 45 minutes does not fit into 30 minutes.",
        ),
        ({"weekday": "2", "starts": "09:00", "ends": "12:00", "minutes": "2"}, "greater than"),
    ],
)
def test_the_forms_explain_what_is_wrong(template, second, error):
    formset = PracticeTimesFormSet(
        times_data(TUESDAY_MORNING, second), instance=template, prefix="times"
    )

    assert not formset.is_valid()
    assert error in str(formset.errors)


def test_rows_on_the_same_day_that_do_not_meet_in_time_or_validity_are_fine(template):
    formset = PracticeTimesFormSet(
        times_data(
            {**TUESDAY_MORNING, "valid_until": "2027-03-31"},
            {**TUESDAY_MORNING, "valid_from": "2027-04-01"},
            {"weekday": "1", "starts": "12:00", "ends": "13:00", "minutes": "30"},
        ),
        instance=template,
        prefix="times",
    )

    assert formset.is_valid(), formset.errors


# --- Admin --------------------------------------------------------------------------------------


def admin_data(**fields) -> dict:
    return {
        **fields,
        **times_data(TUESDAY_MORNING),
        **times_data({"first_day": "", "last_day": "", "note": ""}, prefix="exceptions"),
    }


def test_an_editor_enters_weekly_times_and_the_slots_are_made(client, editor):
    affiliation = AffiliationFactory()
    client.force_login(editor)
    url = "/admin/directory/weeklytemplate/add/"
    assert client.get(url, {"affiliation": affiliation.pk}).status_code == 200

    response = client.post(url, admin_data(affiliation=affiliation.pk, location=""))

    assert response.status_code == 302, response.context["adminform"].form.errors
    template = WeeklyTemplate.objects.get(affiliation=affiliation)
    assert template.location == affiliation.location
    assert template.times.count() == 1
    assert template.slots.count() > 0
    page = client.get(f"/admin/directory/weeklytemplate/{template.pk}/change/")
    assert page.status_code == 200
    assert "in the next 8 weeks" in page.text


def test_the_admin_refuses_overlapping_rows_and_saves_nothing(client, editor):
    affiliation = AffiliationFactory()
    client.force_login(editor)
    data = admin_data(affiliation=affiliation.pk, location="")
    data.update(times_data(TUESDAY_MORNING, {**TUESDAY_MORNING, "starts": "11:00"}))

    response = client.post("/admin/directory/weeklytemplate/add/", data)

    assert response.status_code == 200
    assert "These times overlap with" in response.text
    assert not WeeklyTemplate.objects.exists()


def test_a_clinics_own_times_need_a_location(client, editor):
    client.force_login(editor)

    response = client.post("/admin/directory/weeklytemplate/add/", admin_data(location=""))

    assert response.status_code == 200
    assert "Choose a place of work, or for the clinic" in response.text


def test_a_closure_added_in_admin_removes_the_slots_that_day(client, editor, template):
    tomorrow = timezone.localdate() + timedelta(days=1)
    row(template, tomorrow.weekday(), (9, 0), (10, 0), minutes=60)
    weekly.regenerate(template.pk)
    before = template.slots.count()
    assert before >= 1
    client.force_login(editor)
    location = template.location
    url = f"/admin/directory/location/{location.pk}/change/"
    from tests.admin_forms import change_form_data

    data = change_form_data(client, url)
    data.update(
        {
            "closures-0-first_day": tomorrow.isoformat(),
            "closures-0-last_day": tomorrow.isoformat(),
            "closures-0-kind": "vacation",
        }
    )

    response = client.post(url, data)

    assert response.status_code == 302
    assert template.slots.count() == before - 1
    assert not template.slots.filter(start__date=tomorrow).exists()


# --- The practice's link ------------------------------------------------------------------------


def test_an_editor_mails_the_practice_its_link(client, editor, template):
    route_requests_to(template.affiliation.specialist, "praxis@example.org")
    client.force_login(editor)

    client.post(
        "/admin/directory/weeklytemplate/",
        {"action": "send_weekly_times_link", "_selected_action": [template.pk]},
    )

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["praxis@example.org"]
    path = re.search(r"https?://[^/\s]+(/de/practice/times/\S+/)", mail.outbox[0].body).group(1)
    assert "Erika" in mail.outbox[0].subject
    assert Client().get(path).status_code == 200


def test_no_link_goes_out_without_a_confirmed_address(client, editor, template):
    client.force_login(editor)

    response = client.post(
        "/admin/directory/weeklytemplate/",
        {"action": "send_weekly_times_link", "_selected_action": [template.pk]},
        follow=True,
    )

    assert mail.outbox == []
    assert "no confirmed address" in response.text


def page_url(template) -> str:
    return f"/en/practice/times/{weekly_link.token(template)}/"


def test_the_practice_enters_its_times_through_the_link(template, django_assert_max_num_queries):
    client = Client(enforce_csrf_checks=False)
    with django_assert_max_num_queries(8):
        page = client.get(page_url(template))
    assert page.status_code == 200
    assert 'name="robots" content="noindex"' in page.text

    data = {
        # The second row is an empty one as the page shows it (20 minutes is preset).
        **times_data(TUESDAY_MORNING, {"weekday": "", "starts": "", "ends": "", "minutes": "20"}),
        **times_data(
            {"first_day": "2099-01-01", "last_day": "2099-01-02", "note": "Urlaub"}, prefix="days"
        ),
    }
    response = client.post(page_url(template), data)

    assert response.status_code == 302
    assert response["Location"].endswith("?saved=1")
    assert template.times.get().starts == time(9, 0)
    assert template.exceptions.get().note == "Urlaub"
    assert template.slots.exists()
    assert "Saved." in client.get(response["Location"]).text


def test_an_error_on_the_practices_page_loses_nothing(template):
    data = {
        **times_data(TUESDAY_MORNING, {**TUESDAY_MORNING, "starts": "10:00", "ends": "11:00"}),
        **times_data(
            {"first_day": "2099-01-01", "last_day": "", "note": "Kongress"}, prefix="days"
        ),
    }

    response = Client().post(page_url(template), data)

    assert response.status_code == 400
    assert "These times overlap with" in response.text
    assert 'value="Kongress"' in response.text
    assert 'value="10:00"' in response.text
    assert not template.times.exists()
    assert not template.exceptions.exists()


def test_the_practices_page_needs_the_csrf_token(template):
    response = Client(enforce_csrf_checks=True).post(page_url(template), times_data())

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (lambda t: weekly_link.token(t)[:-2] + "xx", 400),
        (lambda t: "not-a-link", 400),
        (
            lambda t: _IssuedAt(
                salt=weekly_link.SALT,
                issued=int((timezone.now() - timedelta(days=15)).timestamp()),
            ).sign_object({"t": t.pk, "v": t.link_version}),
            410,
        ),
        (
            lambda t: _IssuedAt(
                salt="appointments.link.practice", issued=int(timezone.now().timestamp())
            ).sign_object({"t": t.pk, "v": t.link_version}),
            400,
        ),
    ],
    ids=["tampered", "garbage", "expired", "another-links-salt"],
)
def test_a_bad_or_expired_link_gets_a_page_that_says_so(template, make, status):
    response = Client().get(f"/en/practice/times/{make(template)}/")

    assert response.status_code == status
    assert "This link cannot be used" in response.text


def test_a_withdrawn_link_stops_working(client, editor, template):
    url = page_url(template)
    client.force_login(editor)

    client.post(
        "/admin/directory/weeklytemplate/",
        {"action": "revoke_weekly_times_links", "_selected_action": [template.pk]},
    )

    response = Client().get(url)
    assert response.status_code == 410
    assert "withdrawn" in response.text
    template.refresh_from_db()
    assert Client().get(page_url(template)).status_code == 200  # a new link works


def test_when_the_place_of_work_moves_its_free_times_move_with_it(template):
    row(template, (timezone.localdate() + timedelta(days=1)).weekday(), (9, 0), (10, 0))
    weekly.regenerate(template.pk)
    booked = Slot.objects.filter(template=template).order_by("start").first()
    Slot.objects.filter(pk=booked.pk).update(booked=True)
    new_place = LocationFactory(clinic=template.affiliation.clinic, street="Neuer Weg 2")

    affiliation = template.affiliation
    affiliation.location = new_place
    affiliation.save()  # regenerates through the signal

    template.refresh_from_db()
    assert template.location == new_place
    free = Slot.objects.filter(template=template, booked=False)
    assert free.exists()
    assert set(free.values_list("location_id", flat=True)) == {new_place.pk}
    # The booked one stays where it was booked, and no free slot is made over it.
    assert Slot.objects.get(pk=booked.pk).location_id != new_place.pk
    assert not free.filter(start=booked.start).exists()
