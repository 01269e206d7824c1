from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "apps.appointments"
    label = "appointments"
    verbose_name = _("Appointments and success stories")

    def ready(self):
        from . import timeline  # noqa: F401, PLC0415 - registers the appointments' timeline events
