from django.urls import path

from content import views

app_name = "content"

urlpatterns = [
    path("", views.home, name="home"),
    path("conditions/", views.condition_index, name="conditions"),
    path("conditions/<slug:slug>/", views.condition_detail, name="condition"),
    path("specialties/<slug:slug>/", views.specialty_detail, name="specialty"),
]
