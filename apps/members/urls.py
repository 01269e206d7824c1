from django.urls import path

from . import views, views_import

app_name = "members"

urlpatterns = [
    path("", views.member_list_view, name="list"),
    path("new/", views.member_create, name="create"),
    path("export.xlsx", views.member_export, name="export"),
    path("import/", views_import.member_import, name="import"),
    path("import/confirm/", views_import.member_import_confirm, name="import_confirm"),
    path("birthdays/", views.birthdays, name="birthdays"),
    path("divisions/", views.division_options, name="division_options"),
    path("tags/", views.tag_library, name="tags"),
    path("tags/<int:tag_id>/delete/", views.tag_delete, name="tag_delete"),
    path("<int:pk>/", views.member_detail, name="detail"),
    path("<int:pk>/edit/", views.member_edit, name="edit"),
    path("<int:pk>/reveal/<str:field>/", views.contact_reveal, name="reveal"),
    path("<int:pk>/photos/", views.photo_add, name="photo_add"),
    path("<int:pk>/photos/<int:photo_id>/", views.photo_file, name="photo"),
    path("<int:pk>/photos/<int:photo_id>/delete/", views.photo_delete, name="photo_delete"),
    path("<int:pk>/documents/", views.attachment_add, name="attachment_add"),
    path("<int:pk>/documents/<int:attachment_id>/", views.attachment_download, name="attachment_download"),
    path("<int:pk>/documents/<int:attachment_id>/delete/", views.attachment_delete, name="attachment_delete"),
    path("<int:pk>/family/", views.family_add, name="family_add"),
    path("<int:pk>/family/<int:family_id>/delete/", views.family_delete, name="family_delete"),
    path("<int:pk>/share/", views.member_share, name="share"),
    path("<int:pk>/share/<int:user_id>/revoke/", views.member_unshare, name="unshare"),
]
