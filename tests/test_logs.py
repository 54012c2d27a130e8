"""Nothing personal reaches any log: not through our request log, not through
Django's own loggers, on any status. A search can name an illness; a request names a patient.

The test collects what every handler of every logger would write, formatted as production
writes it (JSON) and as development does (plain), after the handlers' own filters.
"""

import json
import logging
import warnings

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import AffiliationFactory, request_form_data

pytestmark = pytest.mark.django_db

PRIVATE = ["hivdepression", "Lebermetastasen", "Maria Muster", "maria@example.org", "4711"]


def formatter(name: str) -> logging.Formatter:
    options = {**settings.LOGGING["formatters"][name]}
    factory = options.pop("()", None)
    if factory is None:
        return logging.Formatter(options["format"])
    module, cls = factory.rsplit(".", 1)
    return getattr(__import__(module, fromlist=[cls]), cls)(**options)


@pytest.fixture
def written():
    """Every line any configured handler would write during the test, in both formats."""
    lines: list[str] = []
    formats = [formatter("json"), formatter("plain")]

    class Copy(logging.Handler):
        def __init__(self, original: logging.Handler):
            super().__init__(original.level)
            self.filters = list(original.filters)

        def emit(self, record):
            lines.extend(form.format(record) for form in formats)

    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    added = []
    for logger in loggers:
        if isinstance(logger, logging.Logger):
            for handler in list(logger.handlers):
                if type(handler).__module__.startswith("_pytest"):
                    continue  # pytest's own capture, not a log the site writes
                copy = Copy(handler)
                logger.addHandler(copy)
                added.append((logger, copy))
    assert added, "no handler is configured"
    yield lines
    for logger, copy in added:
        logger.removeHandler(copy)


def test_no_status_writes_search_words_or_patient_data_to_any_log(written, settings):
    settings.APPOINTMENT_REQUESTS_PER_HOUR = 2
    AffiliationFactory(specialist__slug="lena-aurich")
    client = Client(raise_request_exception=False)
    query = "?q=hivdepression+Lebermetastasen&ref=4711"
    request = "/en/specialists/lena-aurich/request/"
    sent = request_form_data(message="hivdepression, Lebermetastasen, file 4711")
    statuses = [
        client.get("/en/specialists/" + query).status_code,  # 200
        client.get("/en/specialists/" + query + "&radius=abc").status_code,  # 400
        client.get("/en/specialists/nobody/" + query).status_code,  # 404
        client.get("/en/nowhere-at-all/" + query).status_code,  # 404 without a view
        client.delete("/en/specialists/lena-aurich/request/" + query).status_code,  # 405
        client.post(request + query, {**sent, "email": "not an address"}).status_code,  # 400
        client.post(request + query, sent).status_code,  # 302
        client.post(request + query, sent).status_code,  # 429
        Client(enforce_csrf_checks=True).post(request + query, sent).status_code,  # 403
    ]
    assert statuses == [200, 400, 404, 404, 405, 400, 302, 429, 403]
    assert written, "nothing was logged at all: the capture is broken"
    text = "\n".join(written)
    for private in PRIVATE:
        assert private not in text


def test_a_server_error_is_logged_without_the_query(written, monkeypatch):
    from directory import views

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views.SpecialistList, "__init__", broken)
    response = Client(raise_request_exception=False).get("/en/specialists/?q=hivdepression")
    assert response.status_code == 500
    text = "\n".join(written)
    assert "a bug" in text  # the error itself is logged, for the operator
    assert "hivdepression" not in text


def test_a_development_server_line_is_logged_without_the_query(written):
    logging.getLogger("django.server").info(
        '"%s" %s %s', "GET /en/specialists/?q=hivdepression HTTP/1.1", "200", "1234"
    )
    text = "\n".join(written)
    assert "GET /en/specialists/ HTTP/1.1" in text
    assert "hivdepression" not in text


def test_long_search_words_never_reach_a_cache_key_warning(client):
    from tests.factories import ConditionFactory

    ConditionFactory(slug="liver-metastases")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for path in ("/en/specialists/", "/en/conditions/liver-metastases/"):
            query = {"q": "hivdepression", "utm": "x" * 300}
            assert client.get(path, query).status_code == 200
    assert not [w for w in caught if "hivdepression" in str(w.message)]


def test_log_lines_are_json_objects_in_production(written):
    logging.getLogger("directory").warning("checked")
    assert any(json.loads(line).get("message") == "checked" for line in written[::2])
