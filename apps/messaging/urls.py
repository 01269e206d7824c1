from django.urls import path

from . import views, views_notifications, views_threads

app_name = "messaging"

urlpatterns = [
    path("members/<int:pk>/contact/", views.contact, name="contact"),
    path("messages/sent/", views_notifications.notification_list, name="notifications"),
    path("messages/sent/<int:pk>/retry/", views_notifications.notification_retry, name="notification_retry"),
    path("settings/message-templates/", views_notifications.template_list, name="templates"),
    path(
        "settings/message-templates/<str:kind>/<str:channel>/", views_notifications.template_edit, name="template_edit"
    ),
    path(
        "settings/message-templates/<str:kind>/<str:channel>/reset/",
        views_notifications.template_reset,
        name="template_reset",
    ),
    # Conversations with members (F-F7).
    path("messages/", views_threads.inbox, name="inbox"),
    path("messages/<int:pk>/", views_threads.thread_detail, name="thread"),
    path("messages/<int:pk>/reply/", views_threads.thread_reply, name="thread_reply"),
    path("messages/images/<int:pk>/", views_threads.message_image, name="image"),
    path("members/<int:pk>/conversations/new/", views_threads.thread_start, name="thread_start"),
]
