from django.urls import path

from directory import views

app_name = "directory"

urlpatterns = [
    path("specialists/", views.specialist_search, name="search"),
    path("specialists/<slug:slug>/", views.specialist_detail, name="specialist"),
    path("suggest/", views.suggest, name="suggest"),
    path("clinics/", views.clinic_search, name="clinics"),
    path("clinics/<slug:slug>/", views.clinic_detail, name="clinic"),
]
