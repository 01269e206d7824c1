from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MatchingConfig(AppConfig):
    name = "apps.matching"
    label = "matching"
    verbose_name = _("Matching")

    def ready(self):
        from . import bench  # noqa: F401, PLC0415 - registers the matching bench of `manage.py bench`
