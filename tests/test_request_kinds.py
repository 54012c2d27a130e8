"""Kinds of request: an appointment, a second opinion on existing findings, a cost estimate for
patients who pay themselves or come from abroad; each asks for what it needs, and the documents
to have ready come from the condition's article."""

import re

import pytest
from django.core import mail

from appointments.models import AppointmentRequest
from tests.factories import (
    AffiliationFactory,
    ConditionFactory,
    request_form_data,
    route_requests_to,
)

pytestmark = pytest.mark.django_db

Kind = AppointmentRequest.Kind
LINK = re.compile(r"https?://\S+/requests/(?:answer|follow)/\S+/")


@pytest.fixture
def specialist():
    affiliation = AffiliationFactory(
        specialist__languages=["de", "en"], location__clinic__email="info@klinikum.example"
    )
    route_requests_to(affiliation.clinic, "info@klinikum.example")
    specialist = affiliation.specialist
    specialist.conditions.add(
        ConditionFactory(slug="liver-metastases", name_en="Liver metastases"),
        ConditionFactory(slug="bile-duct-cancer", name_en="Bile duct cancer"),
    )
    return specialist


@pytest.fixture
def article(specialist):
    """The condition's documents to have ready (its article shows them too)."""
    condition = specialist.conditions.get(slug="liver-metastases")
    condition.documents_en = "The report on the primary tumour\nYour latest CT images"
    condition.documents_de = "Der Befund zum Primärtumor\nIhre letzten CT-Bilder"
    condition.save()
    return condition


def form_url(specialist, query: str = "") -> str:
    return f"/en/specialists/{specialist.slug}/request/{query}"


def path_of(message) -> str:
    from urllib.parse import urlsplit

    (found,) = LINK.findall(message.body)
    return urlsplit(found).path.replace("/de/", "/en/", 1)


def test_each_kind_asks_for_its_own_fields(specialist, client):
    appointment = client.get(form_url(specialist)).text
    second = client.get(form_url(specialist, "?kind=second-opinion")).text
    estimate = client.get(form_url(specialist, "?kind=cost-estimate")).text
    unknown = client.get(form_url(specialist, "?kind=<script>")).text

    assert "Request an appointment with" in appointment
    assert 'name="residence"' not in appointment
    assert 'name="travel_from"' not in appointment
    assert "for a second opinion" in second
    assert 'name="residence"' in second
    assert 'name="travel_from"' not in second
    assert "for a cost estimate" in estimate
    assert 'name="travel_from"' in estimate
    assert 'type="date"' in estimate
    assert 'name="kind" value="cost-estimate"' in estimate
    assert "Request an appointment with" in unknown
    assert "<script>" not in unknown
    # The listing's conditions are the choices, and the links lead to the other kinds.
    assert '<option value="liver-metastases">Liver metastases</option>' in second
    assert "?kind=cost-estimate" in second
    assert "?kind=appointment" in second


def test_a_second_opinion_needs_the_condition_and_reaches_the_practice_as_one(
    specialist, client, django_capture_on_commit_callbacks
):
    data = request_form_data(kind="second-opinion", insurance_status="private")
    missing = client.post(form_url(specialist), data)
    assert missing.status_code == 400
    assert "Please choose the condition your findings are about." in missing.text
    assert 'name="kind" value="second-opinion"' in missing.text  # the kind is kept

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(form_url(specialist), {**data, "condition": "liver-metastases"})

    assert sent.status_code == 302
    request = AppointmentRequest.objects.get()
    assert request.kind == Kind.SECOND_OPINION
    assert request.condition.slug == "liver-metastases"
    assert request.insurance_status == "private"
    practice, _patient = mail.outbox
    assert "Zweitmeinung" in practice.body  # the kind, in the practice's language
    assert "Liver" not in practice.body
    assert "Leber" not in practice.body
    page = client.get(path_of(practice))
    assert "Second opinion" in page.text
    assert "Liver metastases" in page.text
    assert "Private health insurance" in page.text


def test_a_cost_estimate_from_abroad_with_an_interpreter_and_travel_dates(specialist, client):
    from datetime import timedelta

    from django.utils import timezone

    soon = timezone.localdate() + timedelta(days=60)
    later = soon + timedelta(days=9)
    data = request_form_data(kind="cost-estimate", insurance_status="abroad")
    assert (
        "Please choose the country where you live." in client.post(form_url(specialist), data).text
    )
    backwards = {
        **data,
        "residence": "NL",
        "travel_from": "2099-05-10",
        "travel_until": "2099-05-01",
    }
    assert (
        "Please give a date after the first one."
        in client.post(form_url(specialist), backwards).text
    )
    past = {**data, "residence": "NL", "travel_from": "2001-05-10"}
    assert "Please give a date that has not passed." in client.post(form_url(specialist), past).text
    assert client.post(form_url(specialist), {**data, "residence": "XX"}).status_code == 400

    response = client.post(
        form_url(specialist),
        {
            **data,
            "residence": "NL",
            "interpreter": "ar",
            "travel_from": soon.isoformat(),
            "travel_until": later.isoformat(),
        },
    )

    assert response.status_code == 302
    request = AppointmentRequest.objects.get()
    assert (request.kind, request.residence, request.interpreter) == (
        Kind.COST_ESTIMATE,
        "NL",
        "ar",
    )
    assert request.travel_from == soon
    far = {**data, "residence": "NL", "travel_from": "2099-05-01"}
    assert "within the next two years" in client.post(form_url(specialist), far).text
    from appointments import conversation

    page = client.get(f"/en/requests/answer/{conversation.token(request, 'practice')}/").text
    assert "Netherlands" in page
    assert "needed for Arabic" in page
    assert "Insured in another country" in page


def test_the_documents_to_have_ready_come_from_the_conditions_article(
    specialist, article, client, django_capture_on_commit_callbacks
):
    chosen = client.get(form_url(specialist, "?kind=second-opinion&condition=liver-metastases"))
    other = client.get(form_url(specialist, "?kind=second-opinion&condition=bile-duct-cancer"))
    german = client.get(
        f"/de/specialists/{specialist.slug}/request/?kind=second-opinion&condition=liver-metastases"
    )

    assert "Documents to have ready" in chosen.text
    assert "<li>Your latest CT images</li>" in chosen.text
    assert '<option value="liver-metastases" selected>' in chosen.text
    assert "Documents to have ready" not in other.text  # none given for it, no list
    assert "<li>Ihre letzten CT-Bilder</li>" in german.text

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            form_url(specialist),
            request_form_data(kind="second-opinion", condition="liver-metastases"),
        )
    _practice, patient = mail.outbox
    assert "CT" not in patient.body
    assert "<li>Your latest CT images</li>" in client.get(path_of(patient)).text


def test_the_thank_you_page_still_shows_nothing_of_the_request(specialist, client):
    response = client.post(
        form_url(specialist),
        request_form_data(kind="second-opinion", condition="liver-metastases"),
        follow=True,
    )
    assert response.status_code == 200
    assert "Liver" not in response.text
    assert "second opinion" not in response.text.lower()
