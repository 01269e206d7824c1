"""The agency's public success-story pages, included at "stories/" of the agency's site."""

from django.urls import path

from . import views_public

app_name = "stories"

urlpatterns = [
    path("", views_public.story_list, name="list"),
    path("<int:pk>/", views_public.story_detail, name="detail"),
]
