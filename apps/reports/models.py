"""The dashboards' daily roll-up (F-I2): how many of each event happened on each local day, by whom.

Sales have their own roll-up (apps.finance SalesDaily); everything else the dashboards count is an
event of a member's way from lead to success, rolled up here by `rollups.roll_up` one whole day at a
time and marked complete by `DashboardRollupDay`. The dashboards read marked days from here and
count the other days (today, or a day a late change made stale) live from the records themselves.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.agencies.models import TenantModel


class Metric(models.TextChoices):
    """What a roll-up row counts. Each is defined once, in rollups.METRICS."""

    LEAD = "lead", _("New members")
    FOLLOWED = "followed", _("Leads followed for the first time")
    SIGNED = "signed", _("Members signed for the first time")
    RECOMMENDED = "recommended", _("Members given a first recommendation")
    MET = "met", _("Members booked for a first appointment")
    ARRANGED = "arranged", _("Appointments booked")
    HELD = "held", _("Appointments held")
    MATCHED = "matched", _("Appointments that led to a relationship")
    SUCCESS = "success", _("Successes")


class DailyFigure(TenantModel):
    """One metric of one local day, for one member of staff (none: unowned) and member source.

    `seconds` and `timed` carry a duration where the metric has one (a first recommendation: the time
    since the member signed, summed; `timed` of them had a signing to measure from), so averages add
    up over days.
    """

    day = models.DateField()
    metric = models.CharField(max_length=12, choices=Metric.choices)
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+",
                              db_index=False)  # fmt: skip
    source = models.CharField(max_length=20, blank=True)
    count = models.PositiveIntegerField(default=0)
    seconds = models.BigIntegerField(default=0)
    timed = models.PositiveIntegerField(default=0)

    class Meta(TenantModel.Meta):
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["agency", "day", "metric", "staff", "source"], nulls_distinct=False, name="reports_daily_uniq"
            ),
        ]
        # A branch's figures: its few staff, each a range of days (the unique index leads with the day).
        indexes = [models.Index(fields=["agency", "staff", "day"], name="reports_daily_staff_idx")]

    def __str__(self):
        return f"{self.day} {self.metric} {self.staff_id}: {self.count}"


class DashboardRollupDay(TenantModel):
    """A day whose DailyFigure rows are complete; deleted when a late change lands on that day."""

    day = models.DateField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "day"], name="reports_rollup_day_uniq"),
        ]
