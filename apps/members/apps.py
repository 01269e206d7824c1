from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "apps.members"
    label = "members"
    verbose_name = _("Members")

    def ready(self):
        from apps.matchmakers.ownership import register  # noqa: PLC0415 - models load after the registry

        from .models import Member  # noqa: PLC0415

        register(Member, "presale_owner", "aftersale_owner")

        from . import bench  # noqa: F401, PLC0415 - registers the members bench of `manage.py bench`
