import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Web requests only: every SQL statement gets DATABASE_STATEMENT_TIMEOUT.
from core.statement_timeout import limit_web_requests  # noqa: E402 - needs the settings

limit_web_requests()
