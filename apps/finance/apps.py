from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinanceConfig(AppConfig):
    name = "apps.finance"
    label = "finance"
    verbose_name = _("Finance")

    def ready(self):
        # Contracts are not registered for staff hand-over (apps.matchmakers.ownership): the
        # salesperson is who made the sale, a frozen term of an approved contract and the basis of
        # the sales reports. A leaving salesperson's members are handed over, and their contracts
        # stay visible to the new owners through the members.
        from . import bench, timeline  # noqa: F401, PLC0415 - registers the finance bench and timeline events
