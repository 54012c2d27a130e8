"""Many patients book one slot at the same moment, each from a connection of its own: exactly
one holds it, the others get "just taken" and the next free times. Concurrent confirmations
cannot book a slot twice either. Transactional: the threads see only what is committed."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from appointments import bookings
from appointments.models import Booking
from directory.models import Slot
from tests.test_bookings import booking_form_data, make_slot, unsaved_booking

pytestmark = pytest.mark.django_db(transaction=True)

PATIENTS = 8


def at_once(work, count: int = PATIENTS) -> list:
    """Run work(i) in `count` threads released together; their results (an exception in any
    is raised here). Each thread closes its own database connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def run(number: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[number] = work(number)
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def affiliation():
    from tests.factories import AffiliationFactory

    return AffiliationFactory(specialist__languages=["de", "en"])


def test_parallel_bookings_of_one_slot_exactly_one_succeeds(affiliation, settings):
    settings.APPOINTMENT_REQUESTS_PER_HOUR = 100
    slot = make_slot(affiliation, hours=24)
    later = make_slot(affiliation, hours=48)

    def book(number: int):
        data = booking_form_data(email=f"patient{number}@example.org")
        return Client().post(f"/en/book/{slot.pk}/", data)

    responses = at_once(book)

    assert Counter(r.status_code for r in responses) == {302: 1, 409: PATIENTS - 1}
    for response in responses:
        if response.status_code == 409:
            body = response.content.decode()
            assert "just taken" in body
            assert f'formaction="/en/book/{later.pk}/"' in body
    (held,) = Booking.objects.all()
    assert held.status == Booking.Status.HELD
    slot.refresh_from_db()
    assert slot.held_until == held.hold_until


def test_parallel_holds_through_the_function_exactly_one_succeeds(affiliation):
    slot = make_slot(affiliation, hours=24)

    results = at_once(
        lambda n: bookings.hold(slot.pk, unsaved_booking(email=f"patient{n}@example.org"))
    )

    assert sum(result is not None for result in results) == 1
    assert Booking.objects.filter(slot=slot, status__in=bookings.TAKING).count() == 1


def test_parallel_confirmations_cannot_book_a_slot_twice(affiliation):
    """Every patient's hold ran out unconfirmed, so each late link may still book the slot:
    pressed at once, one books it and the others hear it was taken."""
    slot = make_slot(affiliation, hours=24)
    ran_out = timezone.now() - timedelta(minutes=1)
    made = []
    for number in range(PATIENTS):
        booking = bookings.hold(slot.pk, unsaved_booking(email=f"patient{number}@example.org"))
        Booking.objects.filter(pk=booking.pk).update(
            status=Booking.Status.EXPIRED, hold_until=ran_out
        )
        Slot.objects.filter(pk=slot.pk).update(held_until=ran_out)
        made.append(booking.pk)

    outcomes = at_once(lambda n: bookings.confirm(made[n]))

    assert Counter(outcomes) == {
        bookings.Outcome.BOOKED: 1,
        bookings.Outcome.TAKEN: PATIENTS - 1,
    }
    assert Booking.objects.filter(status=Booking.Status.BOOKED).count() == 1
    slot.refresh_from_db()
    assert slot.booked


def test_one_link_pressed_many_times_at_once_books_once(affiliation):
    slot = make_slot(affiliation, hours=24)
    booking = bookings.hold(slot.pk, unsaved_booking())

    outcomes = at_once(lambda n: bookings.confirm(booking.pk))

    assert Counter(outcomes) == {
        bookings.Outcome.BOOKED: 1,
        bookings.Outcome.ALREADY: PATIENTS - 1,
    }
