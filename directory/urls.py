from django.urls import path

from directory import views

app_name = "directory"

urlpatterns = [
    path("specialists/<slug:slug>/", views.specialist_detail, name="specialist"),
]
