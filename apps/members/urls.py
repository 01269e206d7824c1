from django.urls import path

from . import views

app_name = "members"

urlpatterns = [
    path("", views.member_list_view, name="list"),
    path("new/", views.member_create, name="create"),
    path("export.csv", views.member_export, name="export"),
    path("<int:pk>/", views.member_detail, name="detail"),
    path("<int:pk>/edit/", views.member_edit, name="edit"),
    path("<int:pk>/share/", views.member_share, name="share"),
    path("<int:pk>/share/<int:user_id>/revoke/", views.member_unshare, name="unshare"),
]
