"""/fhir/...: outside the language prefixes (clients read it, not people), no trailing slashes
(FHIR's URLs have none). Anything else under /fhir/ is a 404 OperationOutcome."""

from django.urls import path, re_path

from fhirapi import export, views

app_name = "fhirapi"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("CodeSystem/<str:name>", views.code_system, name="code-system"),
    path("$export", export.manifest, name="export"),
    path("$export/<str:name>", export.ndjson, name="export-file"),
    path("<str:resource_type>", views.search_type, name="search"),
    path("<str:resource_type>/<str:resource_id>", views.read, name="read"),
    re_path(r"^(?P<rest>.*)$", views.not_found, name="not-found"),
]
