"""The managers' dashboards (F-I2): growth, funnel, leaderboard, match success and sales over a date range.

Figures come from the roll-ups (DailyFigure here, SalesDaily in finance) for the days marked
complete and from the records themselves for the rest (today, and a day a late change made stale),
through the one definition of each metric in `rollups`. A fixed number of queries whatever the span.

Who sees what: the agency's top role and finance see the whole agency, and may narrow it to one
branch of the role tree; everyone else sees their own branch (themselves and the staff below their
role, the rule of every list), and may narrow it further. Events nobody owns (a member still in the
public pool) count for the whole agency only.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import DateField, QuerySet, Sum
from django.db.models.functions import Cast, Trunc
from django.utils.translation import gettext_lazy as _

from apps.finance import services as finance_services
from apps.finance.models import ServicePackage
from apps.finance.reports import ONE_DAY, Figures, bucket_start, sales_grouped, unrolled_days
from apps.finance.selectors import sees_all_contracts
from apps.matchmakers.models import Role, User
from apps.matchmakers.selectors import owner_ids_visible_to
from apps.members.choices import Source

from .models import DailyFigure, DashboardRollupDay, Metric
from .rollups import count_events

MAX_DAYS = 731  # two years: beyond that a monthly chart stops being readable anyway

FUNNEL = [
    (Metric.LEAD, _("Leads")),
    (Metric.SIGNED, _("Signed")),
    (Metric.RECOMMENDED, _("First recommendation")),
    (Metric.MET, _("Appointment")),
    (Metric.SUCCESS, _("Success")),
]


def bucket_for(start: datetime.date, end: datetime.date) -> str:
    """Days up to a month, weeks up to half a year, months beyond."""
    span = (end - start).days + 1
    return "day" if span <= 31 else "week" if span <= 184 else "month"


def sees_whole_agency(user) -> bool:
    return user.role_id is not None and (user.role.parent_id is None or sees_all_contracts(user))


def branch_choices(user) -> QuerySet[Role]:
    """The roles whose branch the user may narrow the dashboards to: all of them, or their own and below."""
    roles = Role.objects.filter(agency_id=user.agency_id)
    if sees_whole_agency(user):
        return roles.order_by("tree_id", "lft")
    if user.role_id is None:
        return roles.none()
    mine = user.role
    return roles.filter(tree_id=mine.tree_id, lft__gte=mine.lft, rght__lte=mine.rght).order_by("lft")


def staff_scope(user, branch: Role | None):
    """Ids of the staff whose events the user's dashboards count, or None for the whole agency."""
    staff = None if sees_whole_agency(user) else owner_ids_visible_to(user)
    if branch is not None:
        inside = User.objects.filter(agency_id=user.agency_id, role__tree_id=branch.tree_id,
                                     role__lft__gte=branch.lft, role__rght__lte=branch.rght)  # fmt: skip
        if staff is not None:
            inside = inside.filter(pk__in=staff)
        staff = inside.values("pk")
    return staff


@dataclass
class Stage:
    label: str
    count: int
    rate_from_previous: Decimal | None  # percent; None for the first stage or after an empty one
    rate_from_leads: Decimal | None


@dataclass
class LeaderRow:
    staff_id: int | None
    name: str
    followed: int = 0
    contracts: int = 0
    revenue: Decimal = Decimal("0")
    arranged: int = 0
    successes: int = 0
    first_recommendation_seconds: int = 0
    first_recommendation_timed: int = 0

    @property
    def days_to_first_recommendation(self) -> Decimal | None:
        if not self.first_recommendation_timed:
            return None
        return (Decimal(self.first_recommendation_seconds) / self.first_recommendation_timed / 86400).quantize(
            Decimal("0.1")
        )


@dataclass
class Dashboard:
    start: datetime.date
    end: datetime.date
    bucket: str
    periods: list[datetime.date]
    growth: dict  # {period: {source: count}}
    growth_sources: list[tuple[str, str]]  # (source, label) that occur, in Source order
    funnel: list[Stage]
    leaderboard: list[LeaderRow]
    success: dict  # {period: (held, matched)}
    sales: dict  # {period: {package_id: Figures}}
    packages: list[tuple[int, str]]
    sales_totals: dict = field(default_factory=dict)  # {package_id: Figures}
    live_days: int = 0

    @property
    def empty(self) -> bool:
        return not (self.growth or any(stage.count for stage in self.funnel) or self.leaderboard or self.sales)

    @property
    def held(self) -> int:
        return sum(held for held, _matched in self.success.values())

    @property
    def matched(self) -> int:
        return sum(matched for _held, matched in self.success.values())

    @property
    def success_rate(self) -> Decimal | None:
        return percent(self.matched, self.held)

    def growth_total(self, source: str) -> int:
        return sum(row.get(source, 0) for row in self.growth.values())


def percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"))


def _periods(start: datetime.date, end: datetime.date, bucket: str) -> list[datetime.date]:
    periods, day = [], bucket_start(start, bucket)
    while day <= end:
        periods.append(day)
        day = bucket_start(day + ONE_DAY * (1 if bucket == "day" else 7 if bucket == "week" else 32), bucket)
    return periods


def _figures(agency, start, end, staff, bucket):
    """The event metrics of the range: {(metric, period, source): count} and {(metric, staff_id): [count, s, timed]}."""
    live_days = unrolled_days(DashboardRollupDay, agency=agency, start=start, end=end)
    by_period: dict = {}
    by_staff: dict = {}
    for (metric, day, who, source), (count, seconds, timed) in count_events(agency, live_days, staff=staff,
                                                                             by_day=True).items():  # fmt: skip
        key = (metric, bucket_start(day, bucket), source or "")
        by_period[key] = by_period.get(key, 0) + count
        total = by_staff.setdefault((metric, who), [0, 0, 0])
        total[0], total[1], total[2] = total[0] + count, total[1] + seconds, total[2] + timed
    if len(live_days) < (end - start).days + 1:  # some days are rolled up
        # A range and the few live days left out: PostgreSQL plans a year's IN list of dates badly.
        daily = DailyFigure.objects.filter(agency=agency, day__range=(start, end)).exclude(day__in=live_days)
        if staff is not None:
            daily = daily.filter(staff_id__in=staff)
        # One scan, grouped by everything either side needs (a few thousand rows for a year), folded here.
        period = Cast(Trunc("day", bucket), DateField())  # a date from SQL: no time-zone parsing per row
        sums = {"events": Sum("count"), "total_seconds": Sum("seconds"), "total_timed": Sum("timed")}
        for metric, period_start, source, who, events, seconds, timed in (
            daily.values_list("metric", period, "source", "staff_id").annotate(**sums).order_by()
        ):
            key = (metric, period_start, source)
            by_period[key] = by_period.get(key, 0) + events
            total = by_staff.setdefault((metric, who), [0, 0, 0])
            total[0], total[1], total[2] = total[0] + events, total[1] + seconds, total[2] + timed
    return by_period, by_staff, len(live_days)


def _funnel(by_period: dict) -> list[Stage]:
    stages, previous, leads = [], None, None
    for metric, label in FUNNEL:
        count = sum(value for (name, _period, _source), value in by_period.items() if name == metric)
        leads = count if leads is None else leads
        stages.append(Stage(
            label=str(label), count=count,
            rate_from_previous=None if previous is None else percent(count, previous),
            rate_from_leads=None if previous is None else percent(count, leads),
        ))  # fmt: skip
        previous = count
    return stages


def _leaderboard(agency, by_staff: dict, sales_by_staff: dict) -> list[LeaderRow]:
    rows: dict = {}
    columns = {Metric.FOLLOWED: "followed", Metric.ARRANGED: "arranged", Metric.SUCCESS: "successes"}
    for (metric, who), (count, seconds, timed) in by_staff.items():
        if metric in columns:
            row = rows.setdefault(who, LeaderRow(who, ""))
            setattr(row, columns[metric], getattr(row, columns[metric]) + count)
        elif metric == Metric.RECOMMENDED:
            row = rows.setdefault(who, LeaderRow(who, ""))
            row.first_recommendation_seconds += seconds
            row.first_recommendation_timed += timed
    for who, figures in sales_by_staff.items():
        row = rows.setdefault(who, LeaderRow(who, ""))
        row.contracts += figures.contracts_count
        row.revenue += figures.net
    staff_ids = [who for who in rows if who is not None]
    names = {}
    if staff_ids:
        names = {person.pk: str(person) for person in User.objects.filter(agency=agency, pk__in=staff_ids)
                 .only("pk", "name", "username")}  # fmt: skip
    for who, row in rows.items():
        row.name = str(_("Nobody (public pool)")) if who is None else names.get(who, str(who))
    return sorted(rows.values(), key=lambda row: (-row.revenue, -row.contracts, -row.successes, row.name))


def dashboard(*, user, start: datetime.date, end: datetime.date, branch: Role | None = None) -> Dashboard:
    """The dashboards of start … end (local days, inclusive) for `user`, narrowed to `branch`."""
    agency = user.agency
    bucket = bucket_for(start, end)
    staff = staff_scope(user, branch)
    by_period, by_staff, live_days = _figures(agency, start, end, staff, bucket)
    sales_by_period, sales_by_staff = sales_grouped(agency=agency, start=start, end=end, salespeople=staff,
                                                    bucket=bucket)  # fmt: skip

    growth: dict = {}
    for (metric, period, source), count in by_period.items():
        if metric == Metric.LEAD:
            growth.setdefault(period, {})
            growth[period][source] = growth[period].get(source, 0) + count
    seen = {source for row in growth.values() for source in row}
    growth_sources = [(value, str(label)) for value, label in Source.choices if value in seen]
    growth_sources += [(value, value) for value in sorted(seen - set(Source.values))]

    success = {}
    for (metric, period, _source), count in by_period.items():
        if metric in (Metric.HELD, Metric.MATCHED):
            held, matched = success.get(period, (0, 0))
            success[period] = (held + count, matched) if metric == Metric.HELD else (held, matched + count)

    sales: dict = {}
    sales_totals: dict = {}
    for (period, package), figures in sales_by_period.items():
        sales.setdefault(period, {})
        sales[period][package] = sales[period].get(package, Figures()) + figures
        sales_totals[package] = sales_totals.get(package, Figures()) + figures
    packages = []
    if sales_totals:
        names = dict(ServicePackage.objects.filter(agency=agency, pk__in=list(sales_totals)).values_list("pk", "name"))
        packages = sorted(((pk, names.get(pk, str(pk))) for pk in sales_totals), key=lambda item: item[1])

    return Dashboard(
        start=start, end=end, bucket=bucket, periods=_periods(start, end, bucket), growth=growth,
        growth_sources=growth_sources, funnel=_funnel(by_period), leaderboard=_leaderboard(agency, by_staff,
        sales_by_staff), success=success, sales=sales, packages=packages, sales_totals=sales_totals,
        live_days=live_days,
    )  # fmt: skip


def default_range(agency) -> tuple[datetime.date, datetime.date]:
    """The last 30 days up to today."""
    today = finance_services.agency_today(agency)
    return today - ONE_DAY * 29, today

