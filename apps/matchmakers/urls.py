from django.urls import path

from . import views

app_name = "matchmakers"

urlpatterns = [
    path("login/", views.StaffLoginView.as_view(), name="login"),
    path("logout/", views.StaffLogoutView.as_view(), name="logout"),
    path("password/", views.StaffPasswordChangeView.as_view(), name="password_change"),
    path("roles/", views.role_list, name="role_list"),
    path("roles/new/", views.role_create, name="role_create"),
    path("roles/<int:pk>/", views.role_edit, name="role_edit"),
    path("roles/<int:pk>/delete/", views.role_delete, name="role_delete"),
    path("roles/<int:pk>/permissions/", views.role_permissions, name="role_permissions"),
    path("team/", views.staff_list_view, name="staff_list"),
    path("team/new/", views.staff_create, name="staff_create"),
    path("team/<int:pk>/", views.staff_edit, name="staff_edit"),
    path("team/<int:pk>/password/", views.staff_password, name="staff_password"),
    path("team/<int:pk>/deactivate/", views.staff_deactivate, name="staff_deactivate"),
    path("team/<int:pk>/activate/", views.staff_activate, name="staff_activate"),
]
