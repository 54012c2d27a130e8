"""A mail server that accepts connections and never answers holds no worker: the request is
stored, the patient sees the thank-you page at once, and the sending is retried later."""

import socket
import threading

import pytest
from django.core import mail
from django.test import Client

from appointments import delivery
from appointments.models import AppointmentRequest
from tests.factories import AffiliationFactory, request_form_data, route_requests_to

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def silent_mail_server(settings):
    """SMTP that accepts and never says a word (no greeting), as a hung server does."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = listener.getsockname()[1]
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 2
    settings.APPOINTMENT_MAIL_IN_BACKGROUND = True
    yield
    listener.close()


def test_a_silent_mail_server_does_not_hold_the_thank_you_page(silent_mail_server, settings):
    affiliation = AffiliationFactory()
    route_requests_to(affiliation.clinic, "info@klinikum.example")
    url = f"/en/specialists/{affiliation.specialist.slug}/request/"

    response = Client().post(url, request_form_data())

    assert response.status_code == 302
    request = AppointmentRequest.objects.get()
    sending = [t for t in threading.enumerate() if t.name == f"deliver-{request.pk}"]
    assert sending, "the emails are sent by a thread of their own"
    assert sending[0].is_alive()  # the page came back while the mail server kept silent
    sending[0].join(30)
    request.refresh_from_db()
    assert request.practice_notified_at is None
    assert request.failed_attempts == 1

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert delivery.send_pending() == (1, 0)
    assert [message.to for message in mail.outbox] == [
        ["info@klinikum.example"],
        ["maria@example.org"],
    ]
