from django.urls import path

from . import views_portal

app_name = "portal_messages"

urlpatterns = [
    path("", views_portal.thread_list, name="list"),
    path("new/", views_portal.thread_start, name="new"),
    path("<int:pk>/", views_portal.thread_detail, name="thread"),
    path("<int:pk>/reply/", views_portal.thread_reply, name="reply"),
    path("images/<int:pk>/", views_portal.message_image, name="image"),
]
