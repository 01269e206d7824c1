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

# The consultations inbox (F-E5).
from . import views_intake  # noqa: E402

urlpatterns += [
    path("consultations/", views_intake.consultation_list, name="consultations"),
    path("consultations/<int:pk>/assign/", views_intake.consultation_assign, name="consultation_assign"),
    path("consultations/<int:pk>/convert/", views_intake.consultation_convert, name="consultation_convert"),
    path("consultations/<int:pk>/close/", views_intake.consultation_close, name="consultation_close"),
]
