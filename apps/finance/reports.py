"""Sales reports (F-G5): the daily roll-up and the report over a period, net of refunds.

A payment counts on the local day it was paid once finance has confirmed it; a refund on the local
day it was approved; a contract on the local day it was approved (and in every status that follows
approval). Each belongs to its contract's salesperson and package. "Local" is the agency's time zone.

Past days are rolled up into `SalesDaily` (one row per day, salesperson and package) and marked
complete by `SalesRollupDay`. A report reads the marked days of its period from there and computes
the other days live from the payments, refunds and contracts themselves: today, which is never
rolled up, and any day a late confirmation made stale (`services._mark_stale` removes its mark and
queues the roll-up again). So a year renders from a few thousand roll-up rows in a fixed number of
queries, and what the report shows is always what the underlying records add up to.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, fields
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Count, DateField, F, Min, Q, Sum
from django.db.models.functions import Cast, Trunc, TruncDate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from apps.matchmakers.models import User
from apps.matchmakers.selectors import owner_ids_visible_to

from . import services
from .models import Contract, Payment, Refund, SalesDaily, SalesRollupDay, ServicePackage
from .selectors import sees_all_contracts

ZERO = Decimal("0")
ONE_DAY = datetime.timedelta(days=1)


# --- figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """What was sold: the columns of SalesDaily, and the net of payments and refunds."""

    payments_amount: Decimal = ZERO
    payments_count: int = 0
    refunds_amount: Decimal = ZERO
    refunds_count: int = 0
    contracts_count: int = 0
    contracts_amount: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.payments_amount - self.refunds_amount

    def __add__(self, other: "Figures") -> "Figures":
        return Figures(*(getattr(self, name) + getattr(other, name) for name in FIGURES))


FIGURES = tuple(field.name for field in fields(Figures))


def _add(totals: dict, key, **values) -> None:
    totals[key] = totals.get(key, Figures()) + Figures(**values)


# --- periods -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    label: str
    span: relativedelta

    def start(self, today: datetime.date) -> datetime.date:
        """The first day of the period that ends with (and includes) `today`."""
        return today - self.span + ONE_DAY


PERIODS = {
    "week": Period(gettext_lazy("Last 7 days"), relativedelta(days=7)),
    "month": Period(gettext_lazy("Last month"), relativedelta(months=1)),
    "quarter": Period(gettext_lazy("Last 3 months"), relativedelta(months=3)),
    "half": Period(gettext_lazy("Last 6 months"), relativedelta(months=6)),
    "year": Period(gettext_lazy("Last 12 months"), relativedelta(years=1)),
}
DEFAULT_PERIOD = "month"


# --- reading the records themselves ------------------------------------------------------------


def day_runs(days) -> list[tuple[datetime.date, datetime.date]]:
    """Sorted days as (first, last) runs of consecutive days."""
    runs = []
    for day in sorted(days):
        if runs and runs[-1][1] + ONE_DAY == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def unrolled_days(marks, *, agency, start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The days of start … end that `marks` (a roll-up's day-mark model) does not mark complete: counted live."""
    rolled = set(marks.objects.filter(agency=agency, day__range=(start, end)).values_list("day", flat=True))
    days = (start + ONE_DAY * offset for offset in range((end - start).days + 1))
    return [day for day in days if day not in rolled]


def bucket_start(day: datetime.date, bucket: str) -> datetime.date:
    """The first day of the day, week (Monday) or month `day` falls in, as PostgreSQL's date_trunc has it."""
    if bucket == "week":
        return day - ONE_DAY * day.weekday()
    if bucket == "month":
        return day.replace(day=1)
    return day


def day_windows(agency, days, field: str = "moment") -> Q | None:
    """`days` of the agency's calendar as a condition on `field`: one range per run of days.

    The dashboards (apps.reports.rollups) read their events through it too.
    """
    zone = services.agency_zone(agency)
    condition = None
    for first, last in day_runs(days):
        start = datetime.datetime.combine(first, datetime.time.min, tzinfo=zone)
        end = datetime.datetime.combine(last + ONE_DAY, datetime.time.min, tzinfo=zone)
        run = Q(**{f"{field}__gte": start, f"{field}__lt": end})
        condition = run if condition is None else condition | run
    return condition


def _activity(agency, days, *, salespeople=None, by_day: bool = False) -> dict:
    """Confirmed payments, approved refunds and approved contracts of `days`, summed in SQL.

    Keys are (salesperson_id, package_id), or (day, salesperson_id, package_id) with `by_day`;
    `salespeople` (a queryset of user ids) narrows them to those salespeople. Three grouped queries.
    """
    condition = day_windows(agency, days)
    if condition is None:
        return {}
    zone = services.agency_zone(agency)
    sources = [
        (Payment.objects.filter(status=Payment.Status.CONFIRMED), "paid_at", "payments"),
        (Refund.objects.filter(status=Refund.Status.APPROVED), "decided_at", "refunds"),
        (Contract.objects.filter(status__in=Contract.FROZEN_STATUSES), "decided_at", "contracts"),
    ]
    totals: dict = {}
    for queryset, moment, name in sources:
        prefix = "" if name == "contracts" else "contract__"
        groups = {"group_salesperson": F(f"{prefix}salesperson_id"), "group_package": F(f"{prefix}package_id")}
        if by_day:
            groups["group_day"] = TruncDate(moment, tzinfo=zone)
        rows = queryset.filter(agency=agency).alias(moment=F(moment)).filter(condition)
        if salespeople is not None:
            rows = rows.filter(**{f"{prefix}salesperson_id__in": salespeople})
        rows = rows.values(**groups).annotate(amount=Sum("amount"), count=Count("pk")).order_by()
        for row in rows:
            key = (row["group_salesperson"], row["group_package"])
            _add(totals, (row["group_day"], *key) if by_day else key,
                 **{f"{name}_amount": row["amount"], f"{name}_count": row["count"]})  # fmt: skip
    return totals


# --- the roll-up ---------------------------------------------------------------------------------


def _roll_up(agency, first: datetime.date, last: datetime.date) -> int:
    """Write SalesDaily of the days first … last again, whole, and mark them complete. Returns the rows."""
    days = [first + ONE_DAY * offset for offset in range((last - first).days + 1)]
    with transaction.atomic():
        services.lock_rollup_days(agency, days)  # a late confirmation of these days waits, or we wait for it
        # The marks first: their row locks queue a second roll-up of the same days behind this one,
        # where it would otherwise trip over this one's rows on SalesDaily's unique constraint.
        SalesRollupDay.objects.bulk_create(
            [SalesRollupDay(agency=agency, day=day) for day in days],
            update_conflicts=True, unique_fields=["agency", "day"], update_fields=["computed_at"],
        )  # fmt: skip
        SalesDaily.objects.filter(agency=agency, day__range=(first, last)).delete()
        activity = _activity(agency, days, by_day=True)
        rows = [
            SalesDaily(agency=agency, day=day, salesperson_id=salesperson, package_id=package, **vars(figures))
            for (day, salesperson, package), figures in activity.items()
        ]
        SalesDaily.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def rollup_day(*, agency, day: datetime.date) -> dict:
    """Roll up one past day of the agency (idempotent). Today and later days are left to the live reports."""
    if day >= services.agency_today(agency):
        return {"agency": agency.slug, "day": day.isoformat(), "rows": 0, "rolled_up": False}
    return {"agency": agency.slug, "day": day.isoformat(), "rows": _roll_up(agency, day, day), "rolled_up": True}


def first_activity_day(agency) -> datetime.date | None:
    """The local day of the agency's first sale (approved contract, confirmed payment or approved refund)."""
    firsts = [
        Payment.objects.filter(agency=agency, status=Payment.Status.CONFIRMED).aggregate(first=Min("paid_at")),
        Refund.objects.filter(agency=agency, status=Refund.Status.APPROVED).aggregate(first=Min("decided_at")),
        Contract.objects.filter(agency=agency, status__in=Contract.FROZEN_STATUSES).aggregate(first=Min("decided_at")),
    ]
    moments = [row["first"] for row in firsts if row["first"] is not None]
    return services.local_day(agency, min(moments)) if moments else None


def rollup_pending(*, agency, until: datetime.date | None = None) -> int:
    """Roll up every past day since the agency's first sale that is not marked complete; the days rolled up."""
    yesterday = services.agency_today(agency) - ONE_DAY
    until = min(until or yesterday, yesterday)
    first = first_activity_day(agency)
    if first is None or first > until:
        return 0
    done = set(SalesRollupDay.objects.filter(agency=agency, day__range=(first, until)).values_list("day", flat=True))
    pending = [first + ONE_DAY * offset for offset in range((until - first).days + 1)]
    pending = [day for day in pending if day not in done]
    for run_first, run_last in day_runs(pending):
        _roll_up(agency, run_first, run_last)
    return len(pending)


# --- the report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    pk: int
    label: str
    figures: Figures


@dataclass(frozen=True)
class SalesReport:
    period: str
    start: datetime.date
    end: datetime.date
    totals: Figures
    by_salesperson: list[ReportRow]
    by_package: list[ReportRow]
    live_days: int  # days of the period computed from the records rather than the roll-up

    @property
    def period_label(self) -> str:
        return PERIODS[self.period].label


def _rows(totals: dict, labels: dict) -> list[ReportRow]:
    rows = [ReportRow(pk, labels.get(pk, str(pk)), figures) for pk, figures in totals.items()]
    return sorted(rows, key=lambda row: (-row.figures.net, row.label, row.pk))


def sales_report(*, user, period: str, today: datetime.date | None = None) -> SalesReport:
    """The user's agency's sales of `period` (a key of PERIODS) up to today, by salesperson and by package.

    Finance sees every salesperson; anyone else the salespeople of their branch (themselves and the
    staff below their role). A fixed number of queries, whatever the period or the data.
    """
    agency = user.agency
    today = today or services.agency_today(agency)
    start = PERIODS[period].start(today)
    salespeople = None if sees_all_contracts(user) else owner_ids_visible_to(user)

    live_days = unrolled_days(SalesRollupDay, agency=agency, start=start, end=today)
    daily = SalesDaily.objects.filter(agency=agency, day__range=(start, today)).exclude(day__in=live_days)
    if salespeople is not None:
        daily = daily.filter(salesperson_id__in=salespeople)
    combined = _activity(agency, live_days, salespeople=salespeople)
    sums = daily.values("salesperson_id", "package_id").annotate(**{name: Sum(name) for name in FIGURES}).order_by()
    for row in sums:
        _add(combined, (row["salesperson_id"], row["package_id"]), **{name: row[name] for name in FIGURES})

    by_salesperson, by_package, totals = defaultdict(Figures), defaultdict(Figures), Figures()
    for (salesperson, package), figures in combined.items():
        by_salesperson[salesperson] += figures
        by_package[package] += figures
        totals += figures
    names, packages = {}, {}
    if combined:
        staff = User.objects.filter(agency=agency, pk__in=list(by_salesperson)).only("pk", "name", "username")
        names = {person.pk: str(person) for person in staff}
        packages = dict(ServicePackage.objects.filter(agency=agency, pk__in=list(by_package)).values_list("pk", "name"))
    return SalesReport(
        period=period, start=start, end=today, totals=totals, live_days=len(live_days),
        by_salesperson=_rows(by_salesperson, names), by_package=_rows(by_package, packages),
    )  # fmt: skip


def sales_grouped(*, agency, start: datetime.date, end: datetime.date, salespeople=None, bucket: str = "day"):
    """Sales of start … end as ({(period start, package_id): Figures}, {salesperson_id: Figures}).

    Periods are days, weeks (from Monday) or months (`bucket`); the roll-up answers marked days, the
    records themselves the others. `salespeople` (a queryset of user ids) narrows them. What the
    dashboards chart; six queries at most, whatever the span.
    """
    live_days = unrolled_days(SalesRollupDay, agency=agency, start=start, end=end)
    by_period: dict = {}
    by_salesperson: dict = {}
    for (day, salesperson, package), figures in _activity(agency, live_days, salespeople=salespeople,
                                                          by_day=True).items():  # fmt: skip
        _add(by_period, (bucket_start(day, bucket), package), **vars(figures))
        _add(by_salesperson, salesperson, **vars(figures))
    if len(live_days) < (end - start).days + 1:  # some days are rolled up
        daily = SalesDaily.objects.filter(agency=agency, day__range=(start, end)).exclude(day__in=live_days)
        if salespeople is not None:
            daily = daily.filter(salesperson_id__in=salespeople)
        sums = {name: Sum(name) for name in FIGURES}
        period = Cast(Trunc("day", bucket), DateField())  # a date from SQL: no time-zone parsing per row
        # Summed as plain lists first: a year is a few thousand rows, and Figures objects are not free.
        periods: dict = defaultdict(lambda: [0] * len(FIGURES))
        salespeople_sums: dict = defaultdict(lambda: [0] * len(FIGURES))
        for package, salesperson, period_start, *values in (
            daily.values_list("package_id", "salesperson_id", period).annotate(**sums).order_by()
        ):
            for totals in (periods[(period_start, package)], salespeople_sums[salesperson]):
                for index, value in enumerate(values):
                    totals[index] += value
        for key, values in periods.items():
            by_period[key] = by_period.get(key, Figures()) + Figures(*values)
        for key, values in salespeople_sums.items():
            by_salesperson[key] = by_salesperson.get(key, Figures()) + Figures(*values)
    return by_period, by_salesperson


# --- the workbook --------------------------------------------------------------------------------

MONEY_FORMAT = "#,##0.00"


def sales_report_workbook(report: SalesReport) -> Workbook:
    """The report as an .xlsx workbook: a sheet by matchmaker and one by package, each with a totals row."""
    workbook = Workbook(write_only=True)
    for title, first_column, rows in (
        (_("By matchmaker"), _("Matchmaker"), report.by_salesperson),
        (_("By package"), _("Service package"), report.by_package),
    ):
        sheet = workbook.create_sheet(title)
        caption = _("%(period)s: %(start)s – %(end)s") % {
            "period": report.period_label, "start": report.start.isoformat(), "end": report.end.isoformat(),
        }  # fmt: skip
        sheet.append([_bold(sheet, caption)])
        sheet.append([_bold(sheet, heading) for heading in (
            first_column, _("Payments (yuan)"), _("Payment count"), _("Refunds (yuan)"), _("Refund count"),
            _("Net (yuan)"), _("Contracts approved"), _("Contract amount (yuan)"),
        )])  # fmt: skip
        for row in rows:
            sheet.append(_figure_cells(sheet, row.label, row.figures))
        sheet.append(_figure_cells(sheet, _("Total"), report.totals, bold=True))
    return workbook


def _figure_cells(sheet, label: str, figures: Figures, *, bold: bool = False) -> list:
    values = [
        (label, None), (figures.payments_amount, MONEY_FORMAT), (figures.payments_count, None),
        (figures.refunds_amount, MONEY_FORMAT), (figures.refunds_count, None), (figures.net, MONEY_FORMAT),
        (figures.contracts_count, None), (figures.contracts_amount, MONEY_FORMAT),
    ]  # fmt: skip
    cells = []
    for value, number_format in values:
        cell = WriteOnlyCell(sheet, value=value)
        if number_format:
            cell.number_format = number_format
        if bold:
            cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def _bold(sheet, value) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=str(value))
    cell.font = Font(bold=True)
    return cell
