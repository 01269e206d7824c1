from django.urls import path

from . import views

app_name = "agencies"

urlpatterns = [
    path("site/", views.site_settings_edit, name="site_settings"),
    path("site/images/", views.site_image_add, name="site_image_add"),
    path("site/images/<int:pk>/delete/", views.site_image_delete, name="site_image_delete"),
]
