"""One second opinion to several specialists: the patient chooses up to two more who list the
condition, one consent names each, each practice gets and answers its own request, and the
patient's page shows the answers side by side."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.utils import timezone

from appointments import conversation, delivery
from appointments.models import AppointmentRequest
from tests.factories import (
    AffiliationFactory,
    ConditionFactory,
    SpecialistFactory,
    UserFactory,
    request_form_data,
    route_requests_to,
)

pytestmark = pytest.mark.django_db

Status = AppointmentRequest.Status
LINK = re.compile(r"https?://\S+/requests/(?:answer|follow)/\S+/")
CONDITION = "liver-metastases"


def link_in(message) -> str:
    (found,) = LINK.findall(message.body)
    return urlsplit(found).path.replace("/de/", "/en/", 1)


def specialist(family_name: str, email: str, condition=None, city: str = "Berlin"):
    affiliation = AffiliationFactory(
        specialist__family_name=family_name,
        specialist__email="",
        location__city=city,
        location__clinic__email=email,
    )
    route_requests_to(affiliation.specialist, email)
    if condition is not None:
        affiliation.specialist.conditions.add(condition)
    return affiliation.specialist


@pytest.fixture
def people():
    """Four specialists for liver metastases (the one asked first and three others) and one
    who does not list it."""
    condition = ConditionFactory(slug=CONDITION, name_en="Liver metastases")
    return {
        "asked": specialist("Anders", "anders@praxis.example", condition),
        "berg": specialist("Berg", "berg@praxis.example", condition, city="Wien"),
        "cohn": specialist("Cohn", "cohn@praxis.example", condition, city="Zürich"),
        "dorn": specialist("Dorn", "dorn@praxis.example", condition),
        "other": specialist("Elster", "elster@praxis.example", ConditionFactory()),
    }


def form_url(person) -> str:
    return f"/en/specialists/{person.slug}/request/"


def send(client, captured, people, *others, **changes):
    """Send the form as the patient does after "Update the recipients": the others ticked,
    and the consent given to the names shown (`named`)."""
    ids = [str(people[name].pk) for name in others]
    data = request_form_data(
        kind="second-opinion",
        also=ids,
        **{"condition": CONDITION, "named": ",".join(ids), **changes},
    )
    with captured(execute=True):
        return client.post(form_url(people["asked"]), data)


def test_the_form_offers_the_others_who_list_the_condition_and_the_consent_names_each(
    people, client
):
    asked, berg, cohn = people["asked"], people["berg"], people["cohn"]
    url = form_url(asked)

    choose = client.get(f"{url}?kind=second-opinion&condition={CONDITION}").text
    chosen = client.get(
        f"{url}?kind=second-opinion&condition={CONDITION}&also={berg.pk}&also={cohn.pk}"
    ).text

    for name in ("berg", "cohn", "dorn"):
        assert f'name="also" value="{people[name].pk}"' in choose
    assert f'id="also-{asked.pk}"' not in choose  # not the one asked already
    assert f'id="also-{people["other"].pk}"' not in choose  # nor one without the condition
    assert "Wien" in choose  # each with their town
    # Once chosen, they are ticked, and the consent names all three.
    assert f'value="{berg.pk}" id="also-{berg.pk}" checked' in chosen
    assert f'value="{cohn.pk}" id="also-{cohn.pk}" checked' in chosen
    assert f'value="{people["dorn"].pk}" id="also-{people["dorn"].pk}">' in chosen
    assert f'name="named" value="{berg.pk},{cohn.pk}"' in chosen
    assert f"passes it on to {asked}, {berg}, and {cohn} so that" in chosen
    german = client.get(
        f"/de/specialists/{asked.slug}/request/?kind=second-opinion&condition={CONDITION}"
        f"&also={berg.pk}"
    ).text
    assert f"{asked} und {berg}" in german
    # An appointment is for one practice: no choice of others.
    assert 'name="also"' not in client.get(url).text


def test_updating_the_recipients_keeps_what_was_typed_and_asks_for_the_consent_again(
    people, client
):
    berg = people["berg"]
    data = request_form_data(
        kind="second-opinion", condition=CONDITION, also=[str(berg.pk)], named="", update="1"
    )

    response = client.post(form_url(people["asked"]), data)

    assert response.status_code == 200
    assert not AppointmentRequest.objects.exists()
    text = response.text
    assert 'value="Maria Muster"' in text
    assert "I have been diagnosed with liver metastases" in text
    assert f'value="{berg.pk}" id="also-{berg.pk}" checked' in text
    assert f"passes it on to {people['asked']} and {berg} so that" in text
    assert f'name="named" value="{berg.pk}"' in text
    consent = re.search(r'<input type="checkbox" name="consent"[^>]*>', text).group(0)
    assert "checked" not in consent  # agreed to other names before: agree again
    assert "Please check the form" not in text  # not an error


def test_a_choice_changed_after_the_consent_needs_the_consent_again(
    people, client, django_capture_on_commit_callbacks
):
    """Ticked another specialist and sent at once: the consent shown did not name them."""
    berg = people["berg"]
    data = request_form_data(
        kind="second-opinion", condition=CONDITION, also=[str(berg.pk)], named=""
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(form_url(people["asked"]), data)

    assert response.status_code == 400
    assert "You changed who receives your request" in response.text
    assert f"passes it on to {people['asked']} and {berg} so that" in response.text
    assert not AppointmentRequest.objects.exists()
    assert mail.outbox == []


def test_one_request_each_one_confirmation_naming_all(
    people, client, django_capture_on_commit_callbacks
):
    response = send(client, django_capture_on_commit_callbacks, people, "berg", "cohn")

    assert response.status_code == 302
    requests = list(AppointmentRequest.objects.order_by("id"))
    assert [r.target for r in requests] == [people["asked"], people["berg"], people["cohn"]]
    assert len({r.together for r in requests}) == 1
    assert requests[0].together is not None
    assert {r.recipient for r in requests} == {
        "anders@praxis.example",
        "berg@praxis.example",
        "cohn@praxis.example",
    }
    assert all(r.kind == "second-opinion" and r.condition.slug == CONDITION for r in requests)
    assert len({r.consent_at for r in requests}) == 1
    practices = [m for m in mail.outbox if m.to != ["maria@example.org"]]
    patients = [m for m in mail.outbox if m.to == ["maria@example.org"]]
    assert sorted(m.to[0] for m in practices) == [
        "anders@praxis.example",
        "berg@praxis.example",
        "cohn@praxis.example",
    ]
    (confirmation,) = patients  # one email for all three, with each one's number
    for request in requests:
        assert f"{request.target} (request no. {request.pk})" in confirmation.body
    assert all(r.patient_notified_at is not None for r in AppointmentRequest.objects.all())
    # The thank-you page names each with its number.
    page = client.get(response.url).text
    for request in requests:
        assert f"request no. {request.pk}" in page
        assert str(request.target) in page


@pytest.mark.parametrize(
    ("others", "changes"),
    [
        (("berg", "cohn", "dorn"), {}),  # three more: four in all
        (("other",), {}),  # does not list the condition
        (("asked",), {}),  # the one asked already
        (("berg",), {"condition": ""}),  # no condition to choose others by
    ],
)
def test_a_choice_that_is_not_possible_is_refused_and_nothing_is_sent(
    people, client, django_capture_on_commit_callbacks, others, changes
):
    response = send(client, django_capture_on_commit_callbacks, people, *others, **changes)

    assert response.status_code == 400
    assert "Please choose again" in response.text
    assert 'href="#id_also"' in response.text  # the summary leads to the list
    assert "Maria Muster" in response.text  # what was typed stays
    assert not AppointmentRequest.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("value", ["abc", "-1", "9" * 40, "1.5", "²", "١", ""])
def test_a_broken_recipient_number_is_a_clear_error(
    people, client, django_capture_on_commit_callbacks, value
):
    data = request_form_data(kind="second-opinion", condition=CONDITION, also=[value], named="")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(form_url(people["asked"]), data)
    if value == "":
        assert response.status_code == 302  # an empty choice is no choice
        assert AppointmentRequest.objects.count() == 1
    else:
        assert response.status_code == 400
        assert not AppointmentRequest.objects.exists()
    # And when the recipients are updated, never a 500.
    data["update"] = "1"
    assert client.post(form_url(people["asked"]), data).status_code == 200
    page = client.get(f"{form_url(people['asked'])}?kind=second-opinion&also={value}")
    assert page.status_code == 200


def test_other_kinds_go_to_one_practice(people, client, django_capture_on_commit_callbacks):
    data = request_form_data(also=[str(people["berg"].pk)])  # an appointment
    with django_capture_on_commit_callbacks(execute=True):
        client.post(form_url(people["asked"]), data)

    (request,) = AppointmentRequest.objects.all()
    assert request.together is None
    assert request.target == people["asked"]


def later(days: int) -> str:
    when = timezone.localtime() + timedelta(days=days)
    return when.replace(hour=10, minute=15).strftime("%Y-%m-%dT%H:%M")


def test_each_practice_answers_its_own_and_the_patient_sees_them_side_by_side(
    people, client, django_capture_on_commit_callbacks
):
    captured = django_capture_on_commit_callbacks
    send(client, captured, people, "berg", "cohn")
    links = {m.to[0]: link_in(m) for m in mail.outbox}
    confirmation = links["maria@example.org"]
    mail.outbox.clear()

    def answer(address, **data):
        with captured(execute=True):
            assert client.post(links[address], data).status_code == 302

    answer("anders@praxis.example", action="proposal", first=later(3))
    answer("berg@praxis.example", action="question", question="Do you have the CT images?")
    answer("cohn@praxis.example", action="decline", reason="We are fully booked.")
    # Each practice sees its own request only.
    own = client.get(links["berg@praxis.example"]).text
    assert str(people["cohn"]) not in own
    # The patient's latest email (the third practice's answer) opens all three to act on.
    *_earlier, latest = [m for m in mail.outbox if m.to == ["maria@example.org"]]
    patient = link_in(latest)
    mail.outbox.clear()
    # The confirmation's link is older than the answers: it shows them, it does not act.
    old = client.get(confirmation).text
    assert old.count('class="thread"') == 3
    assert 'method="post"' not in old
    assert "Answering needs the link from the latest email" in old

    page = client.get(patient)
    assert page.status_code == 200
    text = page.text
    assert text.count('class="thread"') == 3
    assert "Do you have the CT images?" in text
    assert "We are fully booked." in text
    assert "Your request for a second opinion" in text
    first, second, third = AppointmentRequest.objects.order_by("id")
    # Each column acts on its own request, with fields named after it.
    assert f'name="r{first.pk}-choice"' in text
    assert f'name="r{second.pk}-reply"' in text
    assert f'name="r{third.pk}-' not in text  # declined: nothing to answer
    actions = re.findall(r'<form class="request-form" method="post" action="([^"]+)"', text)
    assert len(actions) == 3  # accept and reply to the first, reply to the second

    # The patient accepts the first one's date from the page they opened...
    mail.outbox.clear()
    with captured(execute=True):
        accepted = client.post(actions[0], {"action": "accept", f"r{first.pk}-choice": "0"})
    assert accepted.status_code == 302
    assert "Appointment agreed:" in client.get(accepted.url).text  # the page goes on
    assert 'method="post"' in client.get(accepted.url).text  # ... acting on the others
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.AGREED
    assert second.status == Status.ANSWERED  # the others are untouched
    (to_practice,) = mail.outbox
    assert to_practice.to == ["anders@praxis.example"]
    # ... a second press changes nothing ...
    again = client.post(actions[0], {"action": "accept", f"r{first.pk}-choice": "0"})
    assert again.status_code == 409
    # ... and replies to the second in its column; a reply left empty keeps its column's error.
    empty = client.post(actions[2], {"action": "reply", f"r{second.pk}-reply": ""})
    assert empty.status_code == 400
    assert f'id="id_r{second.pk}-reply"' in empty.text
    with captured(execute=True):
        replied = client.post(
            actions[2], {"action": "reply", f"r{second.pk}-reply": "Yes, from May."}
        )
    assert replied.status_code == 302
    second.refresh_from_db()
    assert second.status == Status.REPLIED
    shown = client.get(patient).text
    assert "Appointment agreed:" in shown
    assert "Yes, from May." in shown


def test_the_links_made_on_the_patients_page_expire_with_the_link_visited(
    people, client, django_capture_on_commit_callbacks, settings, monkeypatch
):
    import time

    from django.core import signing

    settings.APPOINTMENT_LINK_DAYS = 14
    send(client, django_capture_on_commit_callbacks, people, "berg")
    by_address = {m.to[0]: link_in(m) for m in mail.outbox}
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(by_address["berg@praxis.example"], {"action": "question", "question": "CT?"})
    patient = by_address["maria@example.org"]  # the first's: still current
    start = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: start + 13 * 86400)
    text = client.get(patient).text
    (made,) = re.findall(r'method="post" action="([^"]+)"', text)  # the reply to the second

    monkeypatch.setattr(signing.time, "time", lambda: start + 15 * 86400)

    assert client.get(made).status_code == 410  # made a day ago, from a 13-day-old link


def test_the_patients_links_are_revoked_together_and_purged_together(
    people, client, django_capture_on_commit_callbacks, settings
):
    send(client, django_capture_on_commit_callbacks, people, "berg")
    patient = next(link_in(m) for m in mail.outbox if m.to == ["maria@example.org"])
    first, second = AppointmentRequest.objects.order_by("id")

    conversation.revoke(second, conversation.Side.PATIENT)

    assert client.get(patient).status_code == 410  # the first's link opened both
    first.refresh_from_db()
    assert first.patient_links == 1
    assert first.practice_links == 0  # each practice's links are its own

    later = timezone.now() + timedelta(days=settings.APPOINTMENT_RETENTION_DAYS + 1)
    assert delivery.purge(now=later) == 2
    assert not AppointmentRequest.objects.exists()


def test_admin_links_the_requests_sent_together(people, client, django_capture_on_commit_callbacks):
    send(client, django_capture_on_commit_callbacks, people, "berg", "cohn")
    first, second, third = AppointmentRequest.objects.order_by("id")
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_appointmentrequest"]))
    client.force_login(staff)

    page = client.get(f"/admin/appointments/appointmentrequest/{first.pk}/change/").text

    assert f"/admin/appointments/appointmentrequest/{second.pk}/change/" in page
    assert f"/admin/appointments/appointmentrequest/{third.pk}/change/" in page
    assert str(people["cohn"]) in page


def test_only_published_specialists_who_list_the_condition_are_candidates(people):
    from appointments.forms import second_opinion_candidates

    draft = SpecialistFactory(status="draft")
    draft.conditions.add(people["asked"].conditions.get())
    found = list(second_opinion_candidates(people["asked"].conditions.get(), people["asked"]))

    assert draft not in found
    assert people["asked"] not in found
    assert {people["berg"], people["cohn"], people["dorn"]} == set(found)
