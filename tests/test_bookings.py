"""Booking a free slot without an account: the page and its form, the hold, the email link that
books, the cancel link that frees the slot, the practice's page, vendors' own booking links,
the expiry of holds, the purge, and what the database refuses."""

import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.test import Client
from django.utils import timezone

from appointments import bookings
from appointments.models import Booking
from directory.models import Slot, SpecialistSearch
from directory.search.index import rebuild_all
from tests.factories import AffiliationFactory, UserFactory, free_slot, route_requests_to

pytestmark = pytest.mark.django_db

REASON = "Follow-up after my liver surgery; I have new CT images."
NAME = "Maria Muster"
PHONE = "+49 30 1234567"


def booking_form_data(**changes) -> dict:
    data = {
        "name": NAME,
        "email": "maria@example.org",
        "phone": PHONE,
        "reason": REASON,
        "preferred_language": "de",
        "consent": "on",
        "leave_empty": "",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def make_slot(affiliation, *, hours: float = 24, **fields) -> Slot:
    """A 30-minute slot of the place of work, `hours` from now."""
    start = (timezone.now() + timedelta(hours=hours)).replace(microsecond=0)
    return free_slot(affiliation, start, **fields)


@pytest.fixture
def affiliation():
    """A specialist whose mail goes to their clinic's confirmed address, on the search index."""
    place = AffiliationFactory(
        specialist__email="",
        specialist__languages=["de", "en"],
        location__clinic__email="praxis@klinikum.example",
    )
    route_requests_to(place.clinic, "praxis@klinikum.example")
    return place


@pytest.fixture
def slot(affiliation):
    return make_slot(affiliation)


def page(slot) -> str:
    return f"/en/book/{slot.pk}/"


def links(message) -> list[str]:
    return re.findall(r"https?://\S+", message.body)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def next_free(specialist) -> object:
    return SpecialistSearch.objects.get(specialist=specialist).next_free


def hold_through_the_form(client, slot, **changes):
    return client.post(page(slot), booking_form_data(**changes))


def confirm_link(message) -> str:
    (url,) = links(message)
    return path_of(url)


# --- The page ----------------------------------------------------------------------------------


def test_the_booking_page_shows_who_where_and_when_in_the_sites_time_zone(client, slot):
    response = client.get(page(slot))

    assert response.status_code == 200
    body = response.content.decode()
    assert str(slot.affiliation.specialist) in body
    assert "Beispielstraße 1, 99084 Erfurt" in body
    local = timezone.localtime(slot.start)  # Europe/Berlin
    assert local.strftime("%Y-%m-%dT%H:%M:%S") in body
    assert 'name="consent"' in body
    assert 'class="error-summary"' not in body


def test_the_booking_page_runs_few_queries(client, slot, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert client.get(page(slot)).status_code == 200


@pytest.mark.parametrize("problem", ["unknown", "past", "clinic unpublished", "specialist draft"])
def test_slots_that_cannot_be_booked_are_404(client, affiliation, problem):
    slot = make_slot(affiliation, hours=-1 if problem == "past" else 24)
    if problem == "clinic unpublished":
        type(slot.clinic).objects.filter(pk=slot.clinic_id).update(status="draft")
    if problem == "specialist draft":
        type(affiliation.specialist).objects.filter(pk=affiliation.specialist_id).update(
            status="draft"
        )
    number = slot.pk + 1000 if problem == "unknown" else slot.pk
    assert client.get(f"/en/book/{number}/").status_code == 404


def test_a_huge_slot_number_is_404_not_500(client):
    client.raise_request_exception = False
    assert client.get(f"/en/book/{'9' * 30}/").status_code == 404


def test_other_methods_are_405(client, slot):
    assert client.put(page(slot)).status_code == 405
    assert client.delete(page(slot)).status_code == 405


def test_a_vendors_booking_link_sends_the_patient_there(client, affiliation):
    slot = make_slot(affiliation, booking_url="https://praxis.example/book?slot=42")

    response = client.get(page(slot))

    assert response.status_code == 302
    assert response["Location"] == "https://praxis.example/book?slot=42"
    assert not Booking.objects.exists()


def test_a_booking_link_that_is_not_http_is_not_followed(client, affiliation):
    slot = make_slot(affiliation, booking_url="ftp://praxis.example/book", booking_phone="")

    response = client.get(page(slot))

    assert response.status_code == 200
    assert "ftp://" not in response.content.decode()
    assert 'name="consent"' not in response.content.decode()


def test_a_slot_booked_by_phone_shows_the_phone_and_no_form(client, affiliation):
    slot = make_slot(affiliation, booking_phone="+49 361 555 0100")

    body = client.get(page(slot)).content.decode()

    assert "+49 361 555 0100" in body
    assert 'name="consent"' not in body


# --- Holding, confirming, cancelling -----------------------------------------------------------


def test_the_form_holds_the_slot_and_emails_a_link_only(
    client, slot, django_capture_on_commit_callbacks, settings
):
    settings.BOOKING_HOLD_MINUTES = 10
    rebuild_all()
    assert next_free(slot.affiliation.specialist) == slot.start

    with django_capture_on_commit_callbacks(execute=True):
        response = hold_through_the_form(client, slot)

    assert response.status_code == 302
    assert response["Location"] == f"/en/book/{slot.pk}/held/"
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.HELD
    assert booking.slot == slot
    assert booking.start == slot.start
    assert booking.specialist == slot.affiliation.specialist
    assert booking.recipient == "praxis@klinikum.example"
    assert booking.consent_at is not None
    assert booking.site_language == "en"
    slot.refresh_from_db()
    assert slot.held_until == booking.hold_until
    assert timedelta(minutes=9) < booking.hold_until - timezone.now() <= timedelta(minutes=10)
    # The slot no longer counts as free.
    assert next_free(slot.affiliation.specialist) is None
    (message,) = mail.outbox
    assert message.to == ["maria@example.org"]
    assert_no_health_data(message)
    assert "/en/bookings/confirm/" in message.body
    assert client.get(response["Location"]).status_code == 200


def assert_no_health_data(message) -> None:
    text = message.subject + message.body
    for secret in (NAME, PHONE, REASON, "maria@example.org", "liver"):
        assert secret not in text
    assert "Erfurt" not in text  # nor where, nor when
    assert not re.search(r"\d{1,2}[:.]\d{2}", re.sub(r"https?://\S+", "", text))


def test_the_link_books_the_slot_and_the_practice_is_told_by_link(
    client, slot, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        hold_through_the_form(client, slot)
    link = confirm_link(mail.outbox[0])
    mail.outbox.clear()

    # Opening the link (a mail scanner does) books nothing; the button does.
    shown = client.get(link)
    assert shown.status_code == 200
    assert "Book this appointment" in shown.content.decode()
    assert Booking.objects.get().status == Booking.Status.HELD

    with django_capture_on_commit_callbacks(execute=True):
        booked = client.post(link)

    assert booked.status_code == 200
    assert "Your appointment is booked" in booked.content.decode()
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.BOOKED
    slot.refresh_from_db()
    assert slot.booked
    assert slot.held_until is None
    practice, patient = mail.outbox
    assert practice.to == ["praxis@klinikum.example"]
    assert patient.to == ["maria@example.org"]
    for message in (practice, patient):
        assert_no_health_data(message)
    # The practice's email is in its language (German, a practice in Germany).
    assert "/de/bookings/practice/" in practice.body
    assert "/en/bookings/cancel/" in patient.body
    # Behind the practice's link: the booking, with what the patient wrote.
    practice_page = client.get(confirm_link(practice)).content.decode()
    assert NAME in practice_page
    assert REASON in practice_page
    assert PHONE in practice_page
    # A second press changes nothing and sends nothing.
    mail.outbox.clear()
    again = client.post(link)
    assert again.status_code == 409
    assert mail.outbox == []


def test_the_cancel_link_frees_the_slot_and_next_free_returns(
    client, slot, django_capture_on_commit_callbacks
):
    rebuild_all()
    specialist = slot.affiliation.specialist
    with django_capture_on_commit_callbacks(execute=True):
        hold_through_the_form(client, slot)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(confirm_link(mail.outbox[0]))
    assert next_free(specialist) is None
    cancel = confirm_link(mail.outbox[2])
    assert "/bookings/cancel/" in cancel
    mail.outbox.clear()

    assert client.get(cancel).status_code == 200  # a page with a button; nothing happens
    assert Booking.objects.get().status == Booking.Status.BOOKED
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(cancel)

    assert response.status_code == 200
    assert Booking.objects.get().status == Booking.Status.CANCELLED
    slot.refresh_from_db()
    assert not slot.booked
    assert slot.held_until is None
    assert next_free(specialist) == slot.start
    (notice,) = mail.outbox
    assert notice.to == ["praxis@klinikum.example"]
    assert_no_health_data(notice)
    # The slot can be booked again.
    assert client.get(page(slot)).status_code == 200
    assert hold_through_the_form(Client(), slot).status_code == 302
    assert client.post(cancel).status_code == 409  # the link has acted


def test_a_taken_slot_gets_the_next_free_times_and_keeps_what_was_typed(client, affiliation):
    slot = make_slot(affiliation, hours=24)
    later = make_slot(affiliation, hours=48)
    assert hold_through_the_form(Client(), slot).status_code == 302

    response = hold_through_the_form(client, slot, name="Max Mustermann")

    assert response.status_code == 409
    body = response.content.decode()
    assert "just taken" in body
    assert f'formaction="/en/book/{later.pk}/"' in body
    assert 'value="Max Mustermann"' in body
    assert REASON in body
    assert Booking.objects.count() == 1
    # The same page on GET says so too.
    assert "just taken" in client.get(page(slot)).content.decode()


def test_a_late_confirmation_books_a_slot_nobody_took(
    client, slot, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        hold_through_the_form(client, slot)
    Booking.objects.update(hold_until=timezone.now() - timedelta(minutes=1))
    Slot.objects.update(held_until=timezone.now() - timedelta(minutes=1))
    bookings.expire()
    assert Booking.objects.get().status == Booking.Status.EXPIRED

    assert client.post(confirm_link(mail.outbox[0])).status_code == 200
    assert Booking.objects.get().status == Booking.Status.BOOKED


def test_a_late_confirmation_of_a_slot_someone_else_took_offers_the_next_times(
    client, affiliation, django_capture_on_commit_callbacks
):
    slot = make_slot(affiliation, hours=24)
    later = make_slot(affiliation, hours=30)
    with django_capture_on_commit_callbacks(execute=True):
        hold_through_the_form(client, slot)
    link = confirm_link(mail.outbox[0])
    Booking.objects.update(hold_until=timezone.now() - timedelta(minutes=1))
    Slot.objects.update(held_until=timezone.now() - timedelta(minutes=1))
    assert hold_through_the_form(Client(), slot, email="other@example.org").status_code == 302

    response = client.post(link)

    assert response.status_code == 409
    body = response.content.decode()
    assert "just taken" in body
    assert f'href="/en/book/{later.pk}/"' in body
    mine, theirs = Booking.objects.order_by("id")
    assert mine.status == Booking.Status.EXPIRED
    assert theirs.status == Booking.Status.HELD


def test_send_pending_requests_expires_holds_and_frees_their_slots(slot):
    rebuild_all()
    booking = bookings.hold(slot.pk, unsaved_booking())
    assert next_free(slot.affiliation.specialist) is None
    later = timezone.now() + timedelta(minutes=11)

    assert bookings.expire(now=later) == 1

    booking.refresh_from_db()
    slot.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert slot.held_until is None


def test_the_command_expires_holds(slot):
    bookings.hold(slot.pk, unsaved_booking())
    Booking.objects.update(hold_until=timezone.now() - timedelta(seconds=1))
    call_command("send_pending_requests", stdout=io.StringIO())
    assert Booking.objects.get().status == Booking.Status.EXPIRED


def test_a_failed_email_is_sent_by_send_pending_requests(slot, settings):
    settings.EMAIL_BACKEND = "tests.test_appointments.FailingBackend"
    booking = bookings.hold(slot.pk, unsaved_booking())
    assert bookings.deliver(booking.pk) == "failed"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    assert bookings.send_pending() == (1, 0)
    booking.refresh_from_db()
    assert booking.link_sent_at is not None
    assert len(mail.outbox) == 1


def test_purge_deletes_old_bookings(slot, settings):
    settings.APPOINTMENT_RETENTION_DAYS = 30
    old = bookings.hold(slot.pk, unsaved_booking())
    long_ago = timezone.now() - timedelta(days=31)
    Booking.objects.filter(pk=old.pk).update(created=long_ago, start=long_ago, end=long_ago)
    recent = bookings.hold(make_slot(slot.affiliation, hours=5).pk, unsaved_booking())
    # Booked long ago for an appointment still to come: kept until it is over.
    ahead = bookings.hold(make_slot(slot.affiliation, hours=24 * 60).pk, unsaved_booking())
    Booking.objects.filter(pk=ahead.pk).update(created=long_ago)

    call_command("purge_requests", stdout=io.StringIO())

    assert sorted(Booking.objects.values_list("pk", flat=True)) == [recent.pk, ahead.pk]


def test_the_honeypot_stores_nothing(client, slot):
    response = hold_through_the_form(client, slot, leave_empty="http://spam.example")
    assert response.status_code == 302
    assert not Booking.objects.exists()
    slot.refresh_from_db()
    assert slot.held_until is None


def test_missing_fields_are_named_and_nothing_is_held(client, slot):
    response = hold_through_the_form(client, slot, consent=None, phone="", name="")

    assert response.status_code == 400
    body = response.content.decode()
    assert 'class="error-summary"' in body
    assert "Please agree" in body
    assert "Please enter a phone number" in body
    assert not Booking.objects.exists()


def test_the_rate_limit_counts_bookings(client, affiliation, settings):
    settings.APPOINTMENT_REQUESTS_PER_HOUR = 1
    first, second = make_slot(affiliation, hours=5), make_slot(affiliation, hours=6)
    assert hold_through_the_form(client, first).status_code == 302
    assert hold_through_the_form(client, second).status_code == 429


@pytest.mark.parametrize("token", ["nonsense", "a" * 500, "%00"])
def test_broken_links_get_a_page_that_says_so(client, token):
    for purpose in ("confirm", "cancel", "practice"):
        assert client.get(f"/en/bookings/{purpose}/{token}/").status_code == 400


def test_the_database_refuses_a_second_booking_of_a_slot(slot):
    first = bookings.hold(slot.pk, unsaved_booking())
    second = unsaved_booking()
    for name in ("clinic_id", "specialist_id", "start", "end", "address", "hold_until"):
        setattr(second, name, getattr(first, name))
    second.slot = slot
    second.status = Booking.Status.BOOKED
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()


def test_the_admin_shows_bookings_to_the_patient_service_only(client, slot, editor):
    bookings.hold(slot.pk, unsaved_booking())
    url = "/admin/appointments/booking/"
    client.force_login(editor)
    assert client.get(url).status_code == 403
    clerk = UserFactory(username="clara", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename="view_booking"))
    client.force_login(clerk)
    listed = client.get(url)
    assert listed.status_code == 200
    assert NAME in listed.content.decode()
    booking = Booking.objects.get()
    detail = client.get(f"{url}{booking.pk}/change/").content.decode()
    assert REASON in detail
    assert 'name="reason"' not in detail  # read-only


def unsaved_booking(**fields) -> Booking:
    values = {
        "name": NAME,
        "email": "maria@example.org",
        "phone": PHONE,
        "reason": REASON,
        "preferred_language": "de",
        "site_language": "en",
        "consent_at": timezone.now(),
        **fields,
    }
    return Booking(**values)


def test_the_booking_page_speaks_german(client, slot):
    body = client.get(f"/de/book/{slot.pk}/").content.decode()
    assert "Termin buchen bei" in body
    assert "Diesen Termin reservieren" in body


def test_the_booking_pages_are_valid_html(
    client, affiliation, tmp_path, django_capture_on_commit_callbacks
):
    import json
    import subprocess

    from tests.test_html_validity import checker

    command = checker()
    slot = make_slot(affiliation, hours=24)
    make_slot(affiliation, hours=48)
    phone = make_slot(affiliation, hours=50, booking_phone="+49 361 555 0100")
    pages = {
        "form": client.get(page(slot)),
        "errors": hold_through_the_form(client, slot, name="", consent=None),
        "phone": client.get(page(phone)),
    }
    with django_capture_on_commit_callbacks(execute=True):
        pages["held"] = client.get(hold_through_the_form(client, slot)["Location"])
    pages["taken"] = hold_through_the_form(Client(), slot)
    link = confirm_link(mail.outbox[0])
    pages["confirm"] = client.get(link)
    with django_capture_on_commit_callbacks(execute=True):
        pages["booked"] = client.post(link)
    pages["practice"] = client.get(confirm_link(mail.outbox[1]))
    pages["cancel"] = client.get(confirm_link(mail.outbox[2]))
    files = []
    for name, response in pages.items():
        assert response.status_code in {200, 400, 409}, name
        path = tmp_path / f"{name}.html"
        path.write_bytes(response.content)
        files.append(str(path))

    result = subprocess.run(  # noqa: S603 - a fixed command on our own files
        [*command, "--format", "json", "--errors-only", *files],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    messages = json.loads(result.stderr or result.stdout)["messages"]
    problems = [
        f"{m.get('url', '').rsplit('/', 1)[-1]}:{m.get('lastLine')}: {m['message']}"
        for m in messages
    ]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Maria\x00"},
        {"reason": "x" * 100_000},
        {"phone": "1" * 500},
        {"preferred_language": "xx"},
        {"email": "not an address"},
    ],
    ids=["nul", "long-reason", "long-phone", "unknown-language", "bad-email"],
)
def test_bad_input_is_a_form_error_not_a_500(client, slot, changes):
    client.raise_request_exception = False
    assert hold_through_the_form(client, slot, **changes).status_code == 400
    assert not Booking.objects.exists()


def test_a_late_confirmation_of_a_time_the_feed_moved_books_nothing(slot):
    booking = bookings.hold(slot.pk, unsaved_booking())
    ran_out = timezone.now() - timedelta(seconds=1)
    Booking.objects.filter(pk=booking.pk).update(hold_until=ran_out)
    # Meanwhile the practice's feed moved the (then free) slot by an hour.
    moved = DateTimeTZRange(
        slot.span.lower + timedelta(hours=1), slot.span.upper + timedelta(hours=1)
    )
    Slot.objects.filter(pk=slot.pk).update(held_until=None, span=moved, start=moved.lower)

    assert bookings.confirm(booking.pk) == bookings.Outcome.TAKEN
    slot.refresh_from_db()
    assert not slot.booked


def test_a_draft_specialists_times_are_not_on_the_clinic_page(client, affiliation):
    make_slot(affiliation)
    colleague = AffiliationFactory(location=affiliation.location, specialist__status="draft")
    hidden = make_slot(colleague, hours=2)
    body = client.get(affiliation.clinic.get_absolute_url()).content.decode()
    assert 'id="times"' in body
    assert f"/book/{hidden.pk}/" not in body


def test_a_time_far_ahead_is_listed_when_it_is_the_next_free_one(client, affiliation):
    far = make_slot(affiliation, hours=24 * 50)
    rebuild_all()
    body = client.get(affiliation.specialist.get_absolute_url()).content.decode()
    assert f"/book/{far.pk}/" in body
    assert SpecialistSearch.objects.get(specialist=affiliation.specialist).next_free == far.start
