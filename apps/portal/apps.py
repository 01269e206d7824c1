from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "apps.portal"
    label = "portal"
    verbose_name = _("Member portal")

    def ready(self):
        from . import signals  # noqa: F401, PLC0415 - keeps staff and member sessions apart
