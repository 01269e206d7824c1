from django.urls import path

from . import views

app_name = "followups"

urlpatterns = [
    path("assignment/", views.pools, name="pools"),
    path("assignment/reassign/", views.reassign, name="reassign"),
    path("presale/", views.presale, name="presale"),
    path("followups/due/", views.due, name="due"),
    path("members/<int:pk>/followups/", views.followup_create, name="create"),
    path("members/<int:pk>/abandon/", views.abandon, name="abandon"),
]
