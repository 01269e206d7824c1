from django.urls import path

from . import views

app_name = "matching"

urlpatterns = [
    path("members/<int:pk>/matches/", views.library, name="library"),
    path("members/<int:pk>/matches/<int:candidate_pk>/recommend/", views.recommend, name="recommend"),
    path("matches/", views.recommendation_list, name="recommendations"),
    path("matches/<int:pk>/<str:side>/<str:verdict>/", views.answer, name="answer"),
    path("matches/photos/<int:pk>/", views.candidate_photo, name="candidate_photo"),
    path("settings/matching/", views.match_settings, name="settings"),
]
