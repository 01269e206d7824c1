"""URLs of the platform hosts: the operators' Django admin and the platform landing page."""

from django.contrib import admin
from django.urls import path

from apps.core.views import platform_home
from matchcrm.urls_common import urlpatterns as common_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", platform_home, name="platform_home"),
    *common_urlpatterns,
]
