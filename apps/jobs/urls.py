from django.urls import path

from . import views, views_silent

app_name = "jobs"

urlpatterns = [
    path("jobs/", views.run_list, name="runs"),
    path("jobs/runs/<int:pk>/", views.run_detail, name="run"),
    path("jobs/run-now/", views.run_now, name="run_now"),
    path("settings/jobs/", views.job_settings, name="settings"),
    path("reminders/", views.reminder_list, name="reminders"),
    path("reminders/<int:pk>/done/", views.reminder_toggle, name="reminder_toggle"),
    path("silent-members/", views_silent.silent_list, name="silent"),
]
