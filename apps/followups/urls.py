from django.urls import path

from . import views

app_name = "followups"

urlpatterns = [
    path("assignment/", views.pools, name="pools"),
    path("assignment/reassign/", views.reassign, name="reassign"),
    path("presale/", views.presale, name="presale"),
    path("aftersale/", views.aftersale, name="aftersale"),
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

# The after-sale service workflow (F-F9).
from . import views_stages  # noqa: E402

urlpatterns += [
    path("members/<int:pk>/service-stage/", views_stages.stage_move, name="stage_move"),
    path("service/overdue/", views_stages.overdue_service, name="overdue_service"),
    path("service/deadlines/", views_stages.workflow_settings, name="workflow_settings"),
]
