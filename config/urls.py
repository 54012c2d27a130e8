import re

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path, re_path

from content.sitemaps import SitePagesSitemap
from core import views
from directory.sitemaps import SITEMAPS as DIRECTORY_SITEMAPS
from directory.slots import publish
from directory.views import cached_public_page

# /sitemap.xml lists these sections: the directory's, then the site's own pages.
SITEMAPS = {**DIRECTORY_SITEMAPS, "about": SitePagesSitemap}

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("robots.txt", views.robots_txt, name="robots-txt"),
    path(
        "sitemap.xml",
        cached_public_page(sitemap_views.index),
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap-section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        cached_public_page(sitemap_views.sitemap),
        {"sitemaps": SITEMAPS},
        name="sitemap-section",
    ),
    path("admin/", admin.site.urls),
    # Our free slots as a SMART Scheduling Links feed (directory/slots/publish.py): the manifest
    # and its three files, without a language (portals read them, not people).
    path("slots/$bulk-publish", publish.manifest, name="slots-manifest"),
    path("slots/locations.ndjson", publish.locations, name="slots-locations"),
    path("slots/schedules.ndjson", publish.schedules, name="slots-schedules"),
    path("slots/slots.ndjson", publish.slots, name="slots-slots"),
    # The read-only FHIR R4 API of the published listings (fhirapi, docs/api.md).
    path("fhir/", include("fhirapi.urls")),
]

# `make run` shows uploads itself (core.views.media answers only with SERVE_MEDIA, on with
# DEBUG); a bucket or CDN (an absolute MEDIA_URL) serves them on its own.
if settings.MEDIA_URL.startswith("/"):
    urlpatterns.append(
        re_path(
            rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.+)$", views.media, name="media"
        )
    )

# Public pages live under /en/, /de/, /fr/ or /it/; LocaleMiddleware redirects / by
# Accept-Language.
urlpatterns += i18n_patterns(
    path("", include("content.urls")),
    path("", include("directory.urls")),
    path("", include("appointments.urls")),
    prefix_default_language=True,
)

handler400 = "core.views.bad_request"
handler500 = "core.views.server_error"
