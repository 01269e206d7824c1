from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("oelove/", views.source_settings, name="oelove"),
    path("oelove/run/", views.run_now, name="run_now"),
    path("oelove/runs/", views.run_list, name="runs"),
    path("oelove/runs/<int:pk>/", views.run_detail, name="run"),
    path("oelove/conflicts/", views.conflict_list, name="conflicts"),
    path("oelove/conflicts/<int:pk>/", views.conflict_resolve, name="conflict_resolve"),
]
