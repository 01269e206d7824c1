from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("members/<int:pk>/contact/", views.contact, name="contact"),
]
