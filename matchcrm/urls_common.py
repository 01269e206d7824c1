"""Routes every host answers: language switch, health check and (locally) public media."""

from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve

from apps.core.views import healthz

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
]
if settings.SERVE_MEDIA:
    urlpatterns += [
        re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    ]
