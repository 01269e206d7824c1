from django.urls import path

from . import views

app_name = "site"

urlpatterns = [
    path("", views.home, name="home"),
    path("matchmakers/", views.matchmaker_list, name="matchmaker_list"),
    path("matchmakers/<int:pk>/", views.matchmaker_detail, name="matchmaker_detail"),
    path("consult/", views.consult, name="consult"),
    path("consult/thanks/", views.thanks, {"kind": views.CONSULT}, name="consult_thanks"),
    path("register/", views.register, name="register"),
    path("register/thanks/", views.thanks, {"kind": views.REGISTER}, name="register_thanks"),
]
