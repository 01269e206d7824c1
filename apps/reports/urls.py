from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.workbench, name="workbench"),
    path("dashboards/", views.dashboard, name="dashboard"),
    path("dashboards/<slug:chart>.xlsx", views.dashboard_export, name="dashboard_export"),
]
