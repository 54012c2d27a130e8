import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# The web server only: several workers need a shared cache, and every SQL statement of a web
# request gets DATABASE_STATEMENT_TIMEOUT.
from core.checks import refuse_unshared_cache  # noqa: E402 - needs the settings
from core.statement_timeout import limit_web_requests  # noqa: E402

refuse_unshared_cache()
limit_web_requests()
