from django.urls import path

from directory import reports, views

app_name = "directory"

urlpatterns = [
    path("specialists/", views.specialist_search, name="search"),
    path("specialists/<slug:slug>/", views.specialist_detail, name="specialist"),
    path("specialists/<slug:slug>/report/", reports.specialist_report, name="specialist-report"),
    path("suggest/", views.suggest, name="suggest"),
    path("clinics/", views.clinic_search, name="clinics"),
    path("clinics/<slug:slug>/", views.clinic_detail, name="clinic"),
    path("clinics/<slug:slug>/report/", reports.clinic_report, name="clinic-report"),
]
