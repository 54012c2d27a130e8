from django.urls import path

from appointments import views

app_name = "appointments"

urlpatterns = [
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
    # The links of the conversation about a request (appointments/conversation.py): the
    # practice's, to read and answer it, and the patient's, to follow it.
    path("requests/answer/<str:token>/", views.practice_page, name="answer"),
    path("requests/follow/<str:token>/", views.patient_page, name="follow"),
    # The link mailed to a new address for appointment requests (appointments/recipients.py).
    path("requests/address/<str:token>/", views.confirm_address, name="confirm-address"),
    # The practice's link to its weekly times, from which the site makes free slots
    # (appointments/weekly_link.py).
    path("practice/times/<str:token>/", views.weekly_times, name="weekly-times"),
    # Booking a free slot without an account (appointments/bookings.py): the slot's page and
    # form, the page after it, and the links of the emails (the patient's to confirm and to
    # cancel, the practice's to see the booking).
    path("book/<int:slot_id>/", views.book, name="book"),
    path("book/<int:slot_id>/held/", views.book_held, name="book-held"),
    path("bookings/confirm/<str:token>/", views.booking_confirm, name="booking-confirm"),
    path("bookings/cancel/<str:token>/", views.booking_cancel, name="booking-cancel"),
    path("bookings/practice/<str:token>/", views.booking_practice, name="booking-practice"),
]
