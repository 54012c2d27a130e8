"""Structured request logs: one JSON line per request, no personal data."""

import json
import logging

import pytest
from django.conf import settings

from tests.factories import AffiliationFactory, request_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_lines():
    """The request logger's output, formatted as production formats it."""
    formatter_settings = {**settings.LOGGING["formatters"]["json"]}
    factory = formatter_settings.pop("()")
    module, name = factory.rsplit(".", 1)
    formatter = getattr(__import__(module, fromlist=[name]), name)(**formatter_settings)
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(json.loads(formatter.format(record)))

    logger = logging.getLogger("directory.requests")
    handler, level = Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_one_json_line_per_request_without_personal_data(client, request_lines):
    specialist = AffiliationFactory(specialist__slug="lena-aurich").specialist
    client.get("/en/specialists/?q=liver+metastases&city=Erfurt", REMOTE_ADDR="203.0.113.7")
    client.post(
        f"/en/specialists/{specialist.slug}/request/",
        request_form_data(message="Metastases in my liver."),
    )

    search, request = request_lines
    assert search["logger"] == "directory.requests"
    assert search["level"] == "INFO"
    assert search["method"] == "GET"
    assert search["route"] == "/en/specialists/"
    assert search["status"] == 200
    assert search["view"] == "directory:search"
    assert isinstance(search["duration_ms"], float)
    assert request["method"] == "POST"
    assert request["status"] == 302
    assert request["route"] == "/en/specialists/<slug:slug>/request/"
    logged = json.dumps(request_lines)
    for private in ("liver", "Erfurt", "203.0.113.7", "Maria", "maria@example.org", "Metastases"):
        assert private not in logged


@pytest.mark.parametrize(("debug", "formatter"), [("0", "json"), ("1", "plain")])
def test_production_logs_are_json_and_development_logs_are_plain(monkeypatch, debug, formatter):
    import importlib

    import config.settings

    monkeypatch.setenv("DEBUG", debug)
    try:
        logging_settings = importlib.reload(config.settings).LOGGING
    finally:
        monkeypatch.undo()
        importlib.reload(config.settings)

    assert logging_settings["handlers"]["console"]["formatter"] == formatter
