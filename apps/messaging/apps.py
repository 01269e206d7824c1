from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "apps.messaging"
    label = "messaging"
    verbose_name = _("Messages")

    def ready(self):
        from . import timeline  # noqa: F401, PLC0415 - registers the messages of the member timeline
