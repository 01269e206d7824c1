from django.urls import path

from . import views, views_entrust

app_name = "appointments"

urlpatterns = [
    path("appointments/", views.appointment_list, name="list"),
    path("appointments/not-arranged/", views.not_arranged, name="not_arranged"),
    path("appointments/new/", views.appointment_book, name="book"),
    path("appointments/<int:pk>/", views.appointment_detail, name="detail"),
    path("appointments/<int:pk>/edit/", views.appointment_edit, name="edit"),
    path("appointments/<int:pk>/<str:action>/", views.appointment_action, name="action"),
    path("stories/", views.story_list, name="stories"),
    path("stories/new/", views.story_create, name="story_create"),
    path("stories/<int:pk>/", views.story_detail, name="story"),
    path("stories/<int:pk>/edit/", views.story_edit, name="story_edit"),
    path("stories/<int:pk>/photos/", views.story_photos_add, name="story_photos_add"),
    path("stories/<int:pk>/photos/<int:photo_pk>/delete/", views.story_photo_delete, name="story_photo_delete"),
    path("stories/<int:pk>/<str:action>/", views.story_action, name="story_action"),
    path("entrust/", views_entrust.entrust_list, name="entrusts"),
    path("entrust/<int:pk>/", views_entrust.entrust_detail, name="entrust"),
    path("entrust/<int:pk>/<str:action>/", views_entrust.entrust_action, name="entrust_action"),
]
