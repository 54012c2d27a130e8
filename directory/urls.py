from django.urls import path

from directory import views

app_name = "directory"

urlpatterns = [
    path("specialists/", views.specialist_search, name="search"),
    path("specialists/<slug:slug>/", views.specialist_detail, name="specialist"),
    path(
        "specialists/<slug:slug>/request/",
        views.appointment_request,
        {"kind": "specialist"},
        name="specialist-request",
    ),
    path(
        "specialists/<slug:slug>/request/sent/",
        views.appointment_sent,
        {"kind": "specialist"},
        name="specialist-request-sent",
    ),
    path("clinics/", views.clinic_search, name="clinics"),
    path("clinics/<slug:slug>/", views.clinic_detail, name="clinic"),
    path(
        "clinics/<slug:slug>/request/",
        views.appointment_request,
        {"kind": "clinic"},
        name="clinic-request",
    ),
    path(
        "clinics/<slug:slug>/request/sent/",
        views.appointment_sent,
        {"kind": "clinic"},
        name="clinic-request-sent",
    ),
]
