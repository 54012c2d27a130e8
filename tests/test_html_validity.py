"""Every public page type is valid HTML, in each of the site's languages (settings.LANGUAGES):
the Nu HTML checker (npm's vnu-jar, run on the machine's Java) reads them all in one run."""

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from core import languages
from tests.factories import AffiliationFactory
from tests.test_pictures import picture_upload
from tests.test_seo import site  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

VNU = Path(__file__).resolve().parent.parent / "node_modules/vnu-jar/build/dist/vnu.jar"

# Each page with the status a patient gets: a page that wrongly became an error page fails.
PAGES = [
    ("/{lang}/", 200),
    ("/{lang}/specialists/", 200),
    ("/{lang}/specialists/?q=aurich&city=Erfurt&radius=50", 200),
    ("/{lang}/specialists/?radius=abc", 400),
    ("/{lang}/specialists/?city=Neustadt", 200),  # the place said, "Did you mean"
    ("/{lang}/specialists/?q=Kardiologe+10115", 200),  # a place from the words, help
    ("/{lang}/specialists/lena-aurich/", 200),
    ("/{lang}/specialists/mia-portrait/", 200),  # with a photo, at a clinic with a logo
    ("/{lang}/clinics/logo-klinik/", 200),
    ("/{lang}/specialists/lena-aurich/request/", 200),
    ("/{lang}/specialists/lena-aurich/request/?kind=second-opinion", 200),
    ("/{lang}/specialists/lena-aurich/request/?kind=cost-estimate", 200),
    ("/{lang}/specialists/lena-aurich/request/sent/", 200),
    ("/{lang}/specialists/lena-aurich/report/", 200),
    ("/{lang}/specialists/lena-aurich/report/?sent=1", 200),
    ("/{lang}/clinics/klinikum-stadtpark/report/", 200),
    ("/{lang}/clinics/", 200),
    ("/{lang}/clinics/?city=Erfurt&sort=distance", 200),
    ("/{lang}/clinics/klinikum-stadtpark/", 200),
    ("/{lang}/conditions/", 200),
    ("/{lang}/conditions/liver-metastases/", 200),
    ("/{lang}/specialties/visceral-surgery/", 200),
    ("/{lang}/privacy/", 200),  # the site's own pages: `site` adds them as load_demo does
    ("/{lang}/legal-notice/", 200),
    ("/{lang}/contact/", 200),
    ("/{lang}/editorial-policy/", 200),
    ("/{lang}/no-such-page/", 404),
]


def _conversation_pages() -> list[tuple[str, int]]:
    """The practice's and the patient's pages of a request with proposed dates, and a broken
    link's page."""
    from datetime import timedelta

    from django.utils import timezone

    from appointments import conversation
    from appointments.models import AppointmentRequest
    from directory.models import Specialist

    request = AppointmentRequest.objects.create(
        specialist=Specialist.objects.get(slug="lena-aurich"),
        name="Maria Muster",
        email="maria@example.org",
        message="A second opinion, please.",
        preferred_language="de",
        site_language="en",
        consent_at=timezone.now(),
    )
    visit = conversation.Visit(request, conversation.Side.PRACTICE, 0)
    soon = timezone.now() + timedelta(days=3)
    conversation.answer(visit, "proposal", times=[soon, soon + timedelta(hours=2)], text="Room 4")
    # A second opinion sent to two specialists, one of whom has answered: the chooser on the
    # form and the answers side by side.
    colleague = AffiliationFactory(specialist__slug="jonas-berg").specialist
    colleague.conditions.add(*request.specialist.conditions.all())
    together = uuid.uuid4()
    AppointmentRequest.objects.filter(pk=request.pk).update(together=together)
    AppointmentRequest.objects.create(
        specialist=colleague,
        together=together,
        name="Maria Muster",
        email="maria@example.org",
        message="A second opinion, please.",
        preferred_language="de",
        site_language="en",
        consent_at=timezone.now(),
    )
    chooser = "/{lang}/specialists/lena-aurich/request/?kind=second-opinion"
    return [
        (f"/{{lang}}/requests/answer/{conversation.token(request, 'practice')}/", 200),
        (f"/{{lang}}/requests/follow/{conversation.token(request, 'patient')}/", 200),
        ("/{lang}/requests/follow/not-a-link/", 400),
        (f"{chooser}&condition=liver-metastases", 200),
        (f"{chooser}&condition=liver-metastases&also={colleague.pk}", 200),
    ]


def _booking_pages() -> list[tuple[str, int]]:
    """Free times and booking: the lists with the new order and filter, the booking page, the
    page after it, the patient's and the practice's pages behind the emails' links, and the
    practice's page for its weekly times."""
    from datetime import time, timedelta

    from django.utils import timezone

    from appointments import bookings, weekly_link
    from appointments.models import Booking
    from directory.models import Affiliation, WeeklyTemplate, WeeklyTime
    from directory.slots import weekly
    from tests.factories import free_slot

    place = Affiliation.objects.get(specialist__slug="lena-aurich")
    tomorrow = timezone.localdate() + timedelta(days=1)
    starts = [
        timezone.make_aware(timezone.datetime.combine(tomorrow, time(hour))) for hour in (9, 10)
    ]
    held, free = (free_slot(place, start) for start in starts)
    booking = bookings.hold(
        held.pk,
        Booking(
            name="Maria Muster",
            email="maria@example.org",
            phone="+49 30 1234567",
            reason="A check-up.",
            preferred_language="de",
            site_language="en",
            consent_at=timezone.now(),
        ),
    )
    clinic_times = WeeklyTemplate.objects.create(location=place.location)
    WeeklyTime.objects.create(
        template=clinic_times,
        weekday=tomorrow.weekday(),
        starts=time(14),
        ends=time(15),
        minutes=30,
    )
    weekly.regenerate(clinic_times.pk)
    return [
        ("/{lang}/specialists/?sort=earliest&free_soon=1", 200),
        (f"/{{lang}}/book/{free.pk}/", 200),
        (f"/{{lang}}/book/{held.pk}/held/", 200),
        (f"/{{lang}}/bookings/confirm/{bookings.token(booking, 'confirm')}/", 200),
        (f"/{{lang}}/bookings/cancel/{bookings.token(booking, 'cancel')}/", 200),
        (f"/{{lang}}/bookings/practice/{bookings.token(booking, 'practice')}/", 200),
        (f"/{{lang}}/practice/times/{weekly_link.token(clinic_times)}/", 200),
    ]


def checker() -> list[str]:
    java = shutil.which("java")
    if java and VNU.exists():
        return [java, "-Xss1024k", "-jar", str(VNU)]
    # In CI a skip fails the run (tests/ci_skips.py).
    pytest.skip(f"Java or the Nu HTML checker ({VNU.name}) is missing (make install-checks)")


@pytest.fixture
def every_page(site, tmp_path, settings) -> list[tuple[str, int]]:  # noqa: F811
    """Every public page type with the status a patient gets, "{lang}" in place of the language:
    the `site` of tests/test_seo.py, a specialist with a photo at a clinic with a logo, a
    request's conversation pages and the booking pages."""
    settings.MEDIA_ROOT = tmp_path / "media"
    AffiliationFactory(
        specialist__slug="mia-portrait",
        specialist__photo=picture_upload(),
        location__clinic__slug="logo-klinik",
        location__clinic__international_contact="International Office",
        location__clinic__international_languages=["en", "ar"],
        location__clinic__international_services=["cost-estimates", "interpreters"],
        location__clinic__logo=picture_upload("PNG", "RGBA", "logo.png"),
    )
    return [*PAGES, *_conversation_pages(), *_booking_pages()]


def forms_with_errors(pages: list[tuple[str, int]]) -> list[tuple[str, dict]]:
    """The forms of `pages` sent with errors, as a patient sees them: (page, what was sent)."""
    booking_page = next(
        page for page, _status in pages if page.startswith("/{lang}/book/") and "/held/" not in page
    )
    return [
        ("/{lang}/specialists/lena-aurich/request/", {"name": ""}),
        (booking_page, {"name": ""}),
        ("/{lang}/specialists/lena-aurich/report/", {"fact": ""}),
    ]


def error_pages(language: str) -> list[tuple[str, object]]:
    """The 500 page and the 503 page of a database outage, as the home page in `language` gives
    them: (what it is, the response)."""
    from unittest import mock

    from django.core.cache import cache
    from django.db import OperationalError
    from django.test import Client

    client = Client(raise_request_exception=False)
    pages = []
    for name, error in (("500", ValueError("a detail")), ("503", OperationalError("closed"))):
        cache.clear()  # the home page rendered anew, not as an earlier request cached it
        with mock.patch("content.views.render", side_effect=error):
            pages.append((name, client.get(f"/{language}/")))
    return pages


def test_public_pages_are_valid_html(client, every_page, tmp_path):
    command = checker()
    files = []
    for language in languages.codes():
        for number, (page, status) in enumerate(every_page):
            url = page.format(lang=language)
            response = client.get(url)
            assert response.status_code == status, url
            path = tmp_path / f"{language}-{number}.html"
            path.write_bytes(response.content)
            files.append((path, url))
        for number, (page, data) in enumerate(forms_with_errors(every_page)):
            url = page.format(lang=language)
            response = client.post(url, data)
            assert response.status_code == 400, url
            assert 'class="error-summary"' in response.content.decode(), url
            path = tmp_path / f"{language}-form-{number}.html"
            path.write_bytes(response.content)
            files.append((path, f"POST {url}"))
        for name, response in error_pages(language):
            assert response.status_code == int(name)
            path = tmp_path / f"{language}-{name}.html"
            path.write_bytes(response.content)
            files.append((path, f"{name} page in {language}"))

    result = subprocess.run(  # noqa: S603 - a fixed command on our own files
        [*command, "--format", "json", "--errors-only", *(str(path) for path, _url in files)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    messages = json.loads(result.stderr or result.stdout)["messages"]
    urls = {path.name: url for path, url in files}
    problems = [
        f"{urls.get(Path(m.get('url', '')).name, m.get('url'))}:{m.get('lastLine')}: {m['message']}"
        for m in messages
    ]
    assert problems == [], "\n".join(problems)
