from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("invite/<str:token>/", views.invitation, name="invitation"),
    path("reset/", views.reset_request, name="reset"),
    path("reset/code/", views.reset_confirm, name="reset_confirm"),
    path("password/", views.password_change, name="password"),
    path("profile/", views.profile, name="profile"),
    path("profile/requests/<int:pk>/withdraw/", views.profile_change_withdraw, name="profile_withdraw"),
    path("recommendations/", views.recommendations, name="recommendations"),
    path("recommendations/<int:pk>/answer/", views.recommendation_answer, name="recommendation_answer"),
    path("appointments/", views.appointments, name="appointments"),
    path("appointments/<int:pk>/confirm/", views.appointment_confirm, name="appointment_confirm"),
    path("appointments/<int:pk>/feedback/", views.appointment_feedback, name="appointment_feedback"),
    path("matchmaker/", views.matchmaker, name="matchmaker"),
    path("people/<int:pk>/photo/", views.person_photo, name="person_photo"),
    path("exit/", views.impersonation_exit, name="impersonation_exit"),
]
