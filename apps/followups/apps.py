from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    name = "apps.followups"
    label = "followups"
    verbose_name = _("Follow-ups")

    def ready(self):
        from . import bench, timeline  # noqa: F401, PLC0415 - registers the intake bench and the timeline events
