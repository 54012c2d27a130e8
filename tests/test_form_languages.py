"""The public forms refuse what is wrong in the page's language: our own messages from our
catalogues, Django's (a required field, an unknown choice, a text too long) from Django's."""

import html
from datetime import time, timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from appointments import conversation, weekly_link
from appointments.models import AppointmentRequest
from directory.models import WeeklyTemplate, WeeklyTime
from tests.factories import (
    REQUEST_MESSAGE,
    AffiliationFactory,
    free_slot,
    request_form_data,
    route_requests_to,
)

pytestmark = pytest.mark.django_db

LANGUAGES = ["fr", "it"]
CHECK_THE_FORM = "Please check the form"
SELECT_A_VALID_CHOICE = "Select a valid choice. %(value)s is not one of the available choices."
REQUIRED = "This field is required."


def too_long(limit: int, length: int) -> str:
    """Django's message for a text over its limit, in the active language."""
    return ngettext(
        "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
        limit,
    ) % {"limit_value": limit, "show_value": length}


def assert_refused_in(language: str, response, *messages) -> None:
    """A 400 page that says each message (an English text, or a function giving it in the
    active language) in `language`, and none of them in English."""
    assert response.status_code == 400
    text = html.unescape(response.content.decode())
    for message in messages:
        say = message if callable(message) else lambda text=message: gettext(text)
        with translation.override("en"):
            english = say()
        with translation.override(language):
            shown = say()
        assert shown != english, f"{english!r} has no translation"
        assert shown in text
        assert english not in text


@pytest.fixture
def affiliation():
    place = AffiliationFactory(
        specialist__email="", specialist__languages=["de", "fr", "it"], location__clinic__email=""
    )
    route_requests_to(place.clinic, "praxis@example.org")
    return place


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_request_form_says_what_is_wrong_in_the_pages_language(affiliation, language):
    data = request_form_data(
        name="", email="maria", message="", consent=None, preferred_language="xx"
    )

    response = Client().post(
        f"/{language}/specialists/{affiliation.specialist.slug}/request/", data
    )

    assert_refused_in(
        language,
        response,
        CHECK_THE_FORM,
        "Please enter your name.",
        "Please enter an email address like name@example.org.",
        "Please tell the practice what the appointment is for.",
        "Please agree, so that we may pass on your request.",
        lambda: gettext(SELECT_A_VALID_CHOICE) % {"value": "xx"},
    )
    assert not AppointmentRequest.objects.exists()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_request_for_a_cost_estimate_with_wrong_dates_is_refused_in_the_pages_language(
    affiliation, language
):
    data = request_form_data(
        kind="cost-estimate",
        residence="",
        insurance_status="",
        travel_from="soon",
        travel_until="2001-01-01",
    )

    response = Client().post(
        f"/{language}/specialists/{affiliation.specialist.slug}/request/", data
    )

    assert_refused_in(
        language,
        response,
        "Please choose the country where you live.",
        "Please say how you are insured.",
        "Please enter a date such as 2027-03-04.",
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_booking_form_says_what_is_wrong_in_the_pages_language(affiliation, language):
    slot = free_slot(affiliation, timezone.now().replace(microsecond=0) + timedelta(days=1))
    data = {
        "name": "",
        "email": "maria",
        "phone": "",
        "reason": "x" * 2001,
        "preferred_language": "de",
        "leave_empty": "",
    }

    response = Client().post(f"/{language}/book/{slot.pk}/", data)

    assert_refused_in(
        language,
        response,
        "Please enter your name.",
        "Please enter an email address like name@example.org.",
        "Please enter a phone number, in case the practice must reach you.",
        "Please agree, so that we may pass on your request.",
        lambda: too_long(2000, 2001),
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_report_form_says_what_is_wrong_in_the_pages_language(affiliation, language):
    data = {"fact": "", "message": "  ", "email": "someone", "leave_empty": ""}

    response = Client().post(f"/{language}/specialists/{affiliation.specialist.slug}/report/", data)

    assert_refused_in(
        language,
        response,
        "Please choose what is wrong.",
        "Please tell us what is wrong.",
        "Please enter an email address such as name@example.org.",
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_answer_forms_say_what_is_wrong_in_the_pages_language(affiliation, language):
    request = AppointmentRequest.objects.create(
        specialist=affiliation.specialist,
        name="Maria Muster",
        email="maria@example.org",
        message=REQUEST_MESSAGE,
        preferred_language="de",
        site_language=language,
        consent_at=timezone.now(),
        recipient="praxis@example.org",
    )
    client = Client()

    def link(side: str) -> str:
        name = "answer" if side == conversation.Side.PRACTICE else "follow"
        return f"/{language}/requests/{name}/{conversation.token(request, side)}/"

    practice = link(conversation.Side.PRACTICE)
    proposal = client.post(
        practice, {"action": "proposal", "first": "soon", "second": "2001-01-01T09:00"}
    )
    question = client.post(practice, {"action": "question", "question": ""})
    # The patient replies once the practice has written.
    asked = client.post(practice, {"action": "question", "question": "Since when?"})
    assert asked.status_code == 302
    request.refresh_from_db()
    reply = client.post(link(conversation.Side.PATIENT), {"action": "reply", "reply": "x" * 2001})

    assert_refused_in(
        language,
        proposal,
        "Please enter a date and time such as 2027-03-04 09:30.",
        "Please propose a date and time in the future.",
    )
    assert_refused_in(language, question, REQUIRED)
    assert_refused_in(language, reply, "Please write at most 2,000 characters.")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_weekly_times_page_says_what_is_wrong_in_the_pages_language(affiliation, language):
    template = WeeklyTemplate.objects.create(affiliation=affiliation)
    rows = [
        {"weekday": "1", "starts": "09:00", "ends": "12:00", "minutes": "20"},
        {"weekday": "1", "starts": "11:00", "ends": "13:00", "minutes": "20"},
        {"weekday": "2", "starts": "12:00", "ends": "09:00", "minutes": "20"},
    ]
    data = {
        "times-TOTAL_FORMS": str(len(rows)),
        "times-INITIAL_FORMS": "0",
        "days-TOTAL_FORMS": "0",
        "days-INITIAL_FORMS": "0",
    }
    for number, row in enumerate(rows):
        data.update({f"times-{number}-{name}": value for name, value in row.items()})

    response = Client().post(f"/{language}/practice/times/{weekly_link.token(template)}/", data)

    tuesday = WeeklyTime(weekday=1, starts=time(9), ends=time(12), minutes=20)
    assert_refused_in(
        language,
        response,
        lambda: gettext("These times overlap with %(other)s.") % {"other": tuesday},
        "The end must come after the start.",
    )
