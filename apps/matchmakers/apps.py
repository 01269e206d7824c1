from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MatchmakersConfig(AppConfig):
    name = "apps.matchmakers"
    label = "matchmakers"
    verbose_name = _("Matchmakers")
