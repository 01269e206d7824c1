"""The portal's members' cards and entrust requests, included at "portal/members/"."""

from django.urls import path

from . import views_portal

app_name = "portal_entrust"

urlpatterns = [
    path("", views_portal.member_cards, name="members"),
    path("<int:pk>/", views_portal.card, name="card"),
    path("<int:pk>/entrust/", views_portal.entrust_target, name="entrust"),
    path("stories/<int:pk>/entrust/", views_portal.entrust_story, name="story_entrust"),
    path("requests/", views_portal.my_requests, name="requests"),
    path("requests/<int:pk>/withdraw/", views_portal.withdraw, name="withdraw"),
]
