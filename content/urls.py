from django.urls import path

from content import views
from content.models import Page

app_name = "content"

urlpatterns = [
    path("", views.home, name="home"),
    path("conditions/", views.condition_index, name="conditions"),
    path("conditions/<slug:slug>/", views.condition_detail, name="condition"),
    path("specialties/<slug:slug>/", views.specialty_detail, name="specialty"),
    # The site's own pages, at the same English paths under /en/ and /de/: /en/privacy/ ...
    *(path(f"{kind}/", views.page, {"kind": kind}, name=kind) for kind in Page.Kind.values),
]
