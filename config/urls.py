from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from config import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("robots.txt", views.robots_txt, name="robots-txt"),
    path("admin/", admin.site.urls),
]

# Public pages live under /en/ or /de/; LocaleMiddleware redirects / by Accept-Language.
urlpatterns += i18n_patterns(
    path("", include("content.urls")),
    path("", include("directory.urls")),
    prefix_default_language=True,
)

handler500 = "config.views.server_error"
