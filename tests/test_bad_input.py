"""The bad-input sweep: every public parameter with every odd value of tests/corpus/odd_values.txt
(NUL, invalid UTF-8, huge numbers, 100 KB, repeats ...). Nothing answers 500, and nothing typed
reaches a log."""

from pathlib import Path

import pytest
from django.test import Client

from appointments.models import AppointmentRequest
from directory.search.clinics import ClinicFilterSet
from directory.search.filters import SpecialistFilterSet
from tests.factories import (
    AffiliationFactory,
    ConditionFactory,
    SpecialtyFactory,
    request_form_data,
)
from tests.test_logs import written  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parent / "corpus" / "odd_values.txt"
# Answers a patient may get for odd input; never a 5xx.
FINE = {200, 302, 400, 404, 405, 410, 409, 429}
SECRET = "SECRET-HEALTH-WORD"


def odd_values() -> list[str]:
    """The corpus, as it is written into a query string (percent-encoded)."""
    values = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        if line == "(empty)":
            values.append("")
        elif line.startswith("@LONG:"):
            values.append("A" * int(line.removeprefix("@LONG:")))
        else:
            values.append(line)
    return values


VALUES = odd_values()
SEARCH_PARAMETERS = sorted({*SpecialistFilterSet.base_filters, "page", "sort"})
CLINIC_PARAMETERS = sorted({*ClinicFilterSet.base_filters, "page", "sort"})


@pytest.fixture
def site(settings):
    settings.APPOINTMENT_REQUESTS_PER_HOUR = 100_000
    ConditionFactory(slug="liver-metastases", name_en="Liver metastases")
    SpecialtyFactory(slug="oncology", name_en="Oncology")
    return AffiliationFactory(
        specialist__slug="lena-aurich", location__clinic__slug="klinikum-nord"
    )


def get(client: Client, url: str) -> int:
    status = client.get(url).status_code
    assert status in FINE, url[:300]
    return status


@pytest.mark.parametrize(
    ("path", "parameters"),
    [
        ("/en/specialists/", SEARCH_PARAMETERS),
        ("/de/conditions/liver-metastases/", SEARCH_PARAMETERS),
        ("/en/specialties/oncology/", SEARCH_PARAMETERS),
        ("/de/clinics/", CLINIC_PARAMETERS),
        ("/en/clinics/klinikum-nord/", ["page"]),
        ("/sitemap-specialists.xml", ["p"]),
        ("/en/", ["q"]),
        ("/en/specialists/lena-aurich/request/", ["kind", "condition"]),
    ],
)
def test_every_public_parameter_with_every_odd_value(site, written, path, parameters):  # noqa: F811
    client = Client(raise_request_exception=False)
    for name in parameters:
        for value in VALUES:
            get(client, f"{path}?{name}={value}")
        # The same parameter many times, and a value beside every other parameter.
        get(client, f"{path}?" + "&".join(f"{name}={value}" for value in VALUES[:40]))
    get(client, f"{path}?" + "&".join(f"{name}=%00%FF{SECRET}" for name in parameters))
    assert_nothing_typed_was_logged(written)


def test_odd_path_segments(site, written):  # noqa: F811
    client = Client(raise_request_exception=False)
    for value in VALUES:
        for template in (
            "/en/specialists/{}/",
            "/de/clinics/{}/request/",
            "/en/conditions/{}/",
            "/en/requests/address/{}/",
            "/en/requests/answer/{}/",
            "/de/requests/follow/{}/",
            "/sitemap-{}.xml",
        ):
            get(client, template.format(value or "x"))
    assert_nothing_typed_was_logged(written)


def test_the_request_form_with_every_odd_value(site, written):  # noqa: F811
    client = Client(raise_request_exception=False)
    url = "/en/specialists/lena-aurich/request/"
    fields = [
        *request_form_data(),
        "kind",
        "condition",
        "residence",
        "insurance_status",
        "interpreter",
        "travel_from",
        "travel_until",
        "unknown",
    ]
    # A cost estimate asks for every field there is.
    base = request_form_data(
        message=f"{SECRET} liver", kind="cost-estimate", residence="NL", insurance_status="abroad"
    )
    for name in fields:
        for value in VALUES:
            body = "&".join(
                f"{key}={value if key == name else base.get(key, '')}" for key in fields
            )
            response = client.post(url, body, content_type="application/x-www-form-urlencoded")
            assert response.status_code in FINE, (name, value[:80])
    # Only well-formed requests were stored, with the values the patient sees.
    for stored in AppointmentRequest.objects.all():
        assert "\x00" not in stored.name + stored.message + stored.email
    assert_nothing_typed_was_logged(written)


def test_the_conversation_forms_with_every_odd_value(site, written):  # noqa: F811
    from appointments import conversation

    client = Client(raise_request_exception=False)
    request = AppointmentRequest.objects.create(
        specialist=site.specialist,
        name="Maria Muster",
        email="maria@example.org",
        message="A second opinion, please.",
        preferred_language="de",
        site_language="en",
        consent_at="2026-12-01T10:00:00Z",
    )
    practice = f"/en/requests/answer/{conversation.token(request, 'practice')}/"
    forms = {
        "proposal": ["first", "second", "third", "note"],
        "question": ["question"],
        "decline": ["reason", "colleague"],
    }
    for action, fields in forms.items():
        for name in [*fields, "action"]:
            for value in VALUES:
                body = f"action={action}&{name}={value}"
                if name != "note":
                    body += f"&note={SECRET}"
                response = client.post(
                    practice, body, content_type="application/x-www-form-urlencoded"
                )
                assert response.status_code in FINE, (action, name, value[:80])
                request.refresh_from_db()
                if request.step:  # a well-formed answer was taken: start again
                    request.answers.all().delete()
                    AppointmentRequest.objects.filter(pk=request.pk).update(step=0)
    patient = f"/en/requests/follow/{conversation.token(request, 'patient')}/"
    visit = conversation.Visit(request, conversation.Side.PRACTICE, request.step)
    conversation.answer(visit, "question", text="Which findings?")
    request.refresh_from_db()
    patient = f"/en/requests/follow/{conversation.token(request, 'patient')}/"
    for name in ("choice", "reply", "action"):
        for value in VALUES:
            for action in ("accept", "reply"):
                response = client.post(
                    patient,
                    f"action={action}&{name}={value}",
                    content_type="application/x-www-form-urlencoded",
                )
                assert response.status_code in FINE, (name, value[:80])
    for stored in request.answers.all():
        assert "\x00" not in stored.text
    assert_nothing_typed_was_logged(written)


def assert_nothing_typed_was_logged(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert SECRET not in text
    assert "?" not in "".join(
        line for line in text.splitlines() if "/specialists/" in line or "/clinics/" in line
    ), "a logged path carries its query string"
