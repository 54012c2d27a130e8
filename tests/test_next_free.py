"""The next free appointment on the search: "Next free" on the cards, the "earliest appointment"
order and the "free within 7 days" filter, all read from the search row's next free time."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from directory.models import Slot
from directory.slots import availability
from tests.factories import AffiliationFactory, free_slot
from tests.slot_feeds import at
from tests.test_search import found

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def free_at(affiliation, *starts, minutes=20):
    for start in starts:
        free_slot(affiliation, start, minutes=minutes)
    availability.refresh([affiliation.specialist_id])


@pytest.fixture
def practices(db):
    """Amsel: free tomorrow 14:00; Bussard: in 3 days; Creutz: in 10 days; Dohle: none."""
    made = {
        name: AffiliationFactory(specialist__family_name=name, specialist__slug=name.lower())
        for name in ("Amsel", "Bussard", "Creutz", "Dohle")
    }
    free_at(made["Amsel"], at(1, 14))
    free_at(made["Bussard"], at(3, 9), at(3, 9, 20))
    free_at(made["Creutz"], at(10, 8))
    return made


def test_a_card_shows_the_next_free_time_and_links_to_the_list_of_times(client, practices):
    body = client.get("/en/specialists/").content.decode()
    when = at(1, 14)
    day = f"{when:%a} {when.day} {when:%b}"
    assert f'Next free: <a href="/en/specialists/amsel/#times">{day}, 14:00</a>' in body
    assert len(re.findall("Next free:", body)) == 3


def test_german_cards_write_the_time_in_german(client, practices):
    body = client.get("/de/specialists/?q=Amsel").content.decode()
    assert re.search(r"Nächster freier Termin: <a [^>]+>\w\w\., \d+\. [\wä]+\.?, 14:00</a>", body)


def test_earliest_appointment_puts_the_soonest_first_and_those_without_last(client, practices):
    response = client.get("/en/specialists/?sort=earliest")
    assert found(response) == ["Amsel", "Bussard", "Creutz", "Dohle"]


def test_free_within_7_days_keeps_only_those_with_a_free_time_soon(client, practices):
    response = client.get("/en/specialists/?free_soon=1")
    assert found(response) == ["Amsel", "Bussard"]


def test_a_booked_or_held_slot_is_not_a_free_time(client, practices):
    Slot.objects.filter(affiliation=practices["Amsel"]).update(booked=True)
    Slot.objects.filter(affiliation=practices["Bussard"], start=at(3, 9)).update(
        held_until=timezone.now() + timedelta(minutes=10)
    )
    availability.refresh(a.specialist_id for a in practices.values())
    response = client.get("/en/specialists/?sort=earliest")
    assert found(response) == ["Bussard", "Creutz", "Amsel", "Dohle"]
    assert "09:20" in response.content.decode()


def test_the_next_free_time_of_an_unpublished_clinic_does_not_count(client, practices):
    clinic = practices["Amsel"].clinic
    clinic.status = "draft"
    clinic.save()
    assert "Amsel" not in found(client.get("/en/specialists/?free_soon=1"))


def test_the_free_soon_filter_is_counted_among_the_selected_and_kept_in_links(client, practices):
    response = client.get("/en/specialists/?free_soon=1&sort=earliest")
    body = response.content.decode()
    assert 'id="free_soon-1" checked' in body
    assert response.context["listing"].selected_count == 1
    assert response.context["listing"].canonical_query == "?free_soon=1&sort=earliest"


def test_search_query_count_stays_pinned_with_the_new_order_and_filter(
    client, practices, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        client.get("/en/specialists/?free_soon=1&sort=earliest")


def test_the_profile_lists_the_free_times_by_day_each_linking_to_its_booking(client, practices):
    body = client.get("/en/specialists/bussard/").content.decode()
    section = body[body.index('id="times"') :]
    slots = list(Slot.objects.filter(affiliation=practices["Bussard"]).order_by("start"))
    when = at(3, 9)
    assert f"<h3>{when:%a} {when.day} {when:%b}</h3>" in section
    assert f'href="/en/book/{slots[0].pk}/"' in section
    assert f'href="/en/book/{slots[1].pk}/"' in section
    assert ">09:20</a>" in section


def test_a_taken_time_is_not_listed_and_none_means_no_section(client, practices):
    slot = Slot.objects.get(affiliation=practices["Amsel"])
    slot.booked = True
    slot.save()
    availability.refresh([practices["Amsel"].specialist_id])
    assert 'id="times"' not in client.get("/en/specialists/amsel/").content.decode()
    assert 'id="times"' not in client.get("/en/specialists/dohle/").content.decode()


def test_the_clinic_page_lists_its_free_times_with_whom(client, practices):
    clinic = practices["Creutz"].clinic
    body = client.get(clinic.get_absolute_url()).content.decode()
    slot = Slot.objects.get(affiliation=practices["Creutz"])
    assert f'href="/en/book/{slot.pk}/"' in body
    assert "Dr. med. Erika Creutz" in body[body.index('id="times"') :]


def test_profile_and_clinic_pages_keep_their_query_counts(
    client, practices, django_assert_max_num_queries
):
    with django_assert_max_num_queries(7):
        client.get("/en/specialists/bussard/")
    with django_assert_max_num_queries(8):
        client.get(practices["Creutz"].clinic.get_absolute_url())
