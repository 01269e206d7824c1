from django.urls import path

from . import views_staff

app_name = "portal_staff"

urlpatterns = [
    path("members/<int:pk>/portal-invitation/", views_staff.invite, name="invite"),
    path("members/<int:pk>/login-as/", views_staff.login_as, name="login_as"),
    path("profile-changes/", views_staff.change_list, name="changes"),
    path("profile-changes/<int:pk>/", views_staff.change_detail, name="change_detail"),
    path("profile-changes/<int:pk>/approve/", views_staff.change_approve, name="change_approve"),
    path("profile-changes/<int:pk>/reject/", views_staff.change_reject, name="change_reject"),
    path("login-as-log/", views_staff.impersonation_log, name="impersonations"),
]
