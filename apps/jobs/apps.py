from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "apps.jobs"
    label = "jobs"
    verbose_name = _("Background jobs")

    def ready(self):
        from . import jobs, schedule  # noqa: PLC0415 - registers the jobs; installs the default schedule

        jobs.load()
        post_migrate.connect(schedule.install_defaults, sender=self)
