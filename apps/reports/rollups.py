"""What each dashboard metric counts, and the nightly roll-up of it (F-I2).

Every metric is an event with a moment, a member of staff it belongs to and, for new members, the
source channel; it is defined once here, as querysets with three aliases (`event_at`, `event_staff`,
`event_source`, plus `event_duration` where it has one), and both the roll-up and the live count of today go
through the same definition, so a rolled-up day and a live day always count the same thing.

"First" metrics count each member once, on the day of their first such event: a member signing a
renewal is not signed again, a second recommendation is not a first one.

Attribution is frozen when a day is rolled up: a member handed over later stays with the old owner
on past days (as a past appointment stays with whoever arranged it).
"""

import datetime
from collections.abc import Callable

from django.db import transaction
from django.db.models import Count, F, Func, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate

from apps.appointments.models import Appointment
from apps.finance import services as finance_services
from apps.finance.models import Contract
from apps.finance.reports import ONE_DAY, day_runs, day_windows, first_activity_day
from apps.followups.models import FollowUp, ServiceStage, ServiceStageChange
from apps.matching.models import Recommendation
from apps.members.models import Member

from .models import DailyFigure, DashboardRollupDay, Metric

ROLLUP_LOCK = 7303  # advisory-lock class of the dashboards' roll-up (finance's is 7302)
POSITIVE_OUTCOMES = (Appointment.Outcome.RELATIONSHIP, Appointment.Outcome.ENGAGED, Appointment.Outcome.MARRIED)


def _first(model, agency, moment: str, **same) -> Subquery:
    """The id of the first row of `model` (by its `moment` field, ties broken by id) matching `same`.

    For the "first" metrics, compared with each event's own id: PostgreSQL runs it once per event
    of the days asked, on the member's index, where an anti-join would hash the whole table.
    """
    return Subquery(model.objects.filter(agency=agency, **same).order_by(moment, "pk").values("pk")[:1])


def _events(queryset: QuerySet, at: str, staff, source=None, duration=None) -> QuerySet:
    """`queryset` as events: when (`at`), whose (`staff`, a field name or expression) and the member source."""
    aliases = {"event_at": F(at), "event_staff": F(staff) if isinstance(staff, str) else staff,
               "event_source": F(source) if source else Value("")}  # fmt: skip
    if duration is not None:
        aliases["event_duration"] = duration
    return queryset.alias(**aliases)


def _leads(agency) -> list[QuerySet]:
    return [_events(Member.objects.filter(agency=agency), "created_at", "presale_owner_id", source="source")]


def _followed(agency) -> list[QuerySet]:
    first = _first(FollowUp, agency, "created_at", kind=FollowUp.Kind.FOLLOWUP, member_id=OuterRef("member_id"))
    followups = FollowUp.objects.filter(agency=agency, kind=FollowUp.Kind.FOLLOWUP, pk=first)
    return [_events(followups, "created_at", "author_id")]


def _signed(agency) -> list[QuerySet]:
    frozen = Contract.FROZEN_STATUSES
    first = _first(Contract, agency, "decided_at", status__in=frozen, member_id=OuterRef("member_id"))
    contracts = Contract.objects.filter(agency=agency, status__in=frozen, pk=first)
    return [_events(contracts, "decided_at", "salesperson_id")]


def _recommended(agency) -> list[QuerySet]:
    first = _first(Recommendation, agency, "created_at", member_id=OuterRef("member_id"))
    signed_at = Contract.objects.filter(
        agency=agency, member_id=OuterRef("member_id"), status__in=Contract.FROZEN_STATUSES,
        decided_at__lte=OuterRef("created_at"),
    ).order_by("decided_at").values("decided_at")[:1]  # fmt: skip
    recommendations = Recommendation.objects.filter(agency=agency, pk=first)
    return [_events(recommendations, "created_at", "recommended_by_id",
                    duration=F("created_at") - Subquery(signed_at))]  # fmt: skip


def _met(agency) -> list[QuerySet]:
    """Each side of a booked appointment that is that member's first, for their matchmaker then."""
    sides = []
    for side in ("a", "b"):
        member = OuterRef(f"member_{side}_id")
        first = Appointment.objects.filter(Q(member_a_id=member) | Q(member_b_id=member), agency=agency)
        first = Subquery(first.order_by("created_at", "pk").values("pk")[:1])
        firsts = Appointment.objects.filter(agency=agency, pk=first)
        sides.append(_events(firsts, "created_at", Coalesce(f"matchmaker_{side}_id", "arranged_by_id")))
    return sides


def _arranged(agency) -> list[QuerySet]:
    return [_events(Appointment.objects.filter(agency=agency), "created_at", "arranged_by_id")]


def _held(agency) -> list[QuerySet]:
    return [_events(Appointment.objects.filter(agency=agency, status=Appointment.Status.DONE), "closed_at",
                    "arranged_by_id")]  # fmt: skip


def _matched(agency) -> list[QuerySet]:
    return [query.filter(outcome__in=POSITIVE_OUTCOMES) for query in _held(agency)]


def _success(agency) -> list[QuerySet]:
    success = ServiceStage.Stage.SUCCESS
    first = _first(ServiceStageChange, agency, "changed_at", to_stage=success, member_id=OuterRef("member_id"))
    changes = ServiceStageChange.objects.filter(agency=agency, to_stage=success, pk=first)
    return [_events(changes, "changed_at", "member__aftersale_owner_id")]


METRICS: dict[str, Callable[[object], list[QuerySet]]] = {
    Metric.LEAD: _leads,
    Metric.FOLLOWED: _followed,
    Metric.SIGNED: _signed,
    Metric.RECOMMENDED: _recommended,
    Metric.MET: _met,
    Metric.ARRANGED: _arranged,
    Metric.HELD: _held,
    Metric.MATCHED: _matched,
    Metric.SUCCESS: _success,
}


class _Epoch(Func):
    template = "EXTRACT(EPOCH FROM %(expressions)s)"


def count_events(agency, days, *, staff=None, by_day: bool = False, metrics=None) -> dict:
    """The metrics' events of `days` counted in SQL: {(metric, [day,] staff_id, source): [count, seconds, timed]}.

    `staff` (a queryset of user ids) narrows them to those staff; `metrics` to some metrics. One
    grouped query per metric (two for first appointments), none when `days` is empty.
    """
    condition = day_windows(agency, days, field="event_at")
    if condition is None:
        return {}
    zone = finance_services.agency_zone(agency)
    totals: dict = {}
    for metric in metrics or METRICS:
        for queryset in METRICS[metric](agency):
            rows = queryset.filter(condition)
            if staff is not None:
                rows = rows.filter(event_staff__in=staff)
            groups = {"group_staff": F("event_staff"), "group_source": F("event_source")}
            if by_day:
                groups["group_day"] = TruncDate("event_at", tzinfo=zone)
            figures = {"events": Count("pk")}
            if "event_duration" in queryset.query.annotations:
                figures |= {"seconds": Sum(_Epoch("event_duration")), "timed": Count("event_duration")}
            for row in rows.values(**groups).annotate(**figures).order_by():
                day = (row["group_day"],) if by_day else ()
                key = (str(metric), *day, row["group_staff"], row["group_source"])
                total = totals.setdefault(key, [0, 0, 0])
                total[0] += row["events"]
                total[1] += round(row.get("seconds") or 0)
                total[2] += row.get("timed", 0)
    return totals


# --- the roll-up ---------------------------------------------------------------------------------


def mark_stale(agency, days) -> None:
    """Days whose roll-up no longer holds (a late change landed on them): counted live until rolled up again."""
    days = set(days)
    if days:
        finance_services.lock_rollup_days(agency, days, lock=ROLLUP_LOCK)
        DashboardRollupDay.objects.filter(agency=agency, day__in=days).delete()


def _roll_up(agency, first: datetime.date, last: datetime.date) -> int:
    """Write DailyFigure of the days first … last again, whole, and mark them complete. Returns the rows."""
    days = [first + ONE_DAY * offset for offset in range((last - first).days + 1)]
    with transaction.atomic():
        finance_services.lock_rollup_days(agency, days, lock=ROLLUP_LOCK)
        DashboardRollupDay.objects.bulk_create(
            [DashboardRollupDay(agency=agency, day=day) for day in days],
            update_conflicts=True, unique_fields=["agency", "day"], update_fields=["computed_at"],
        )  # fmt: skip
        DailyFigure.objects.filter(agency=agency, day__range=(first, last)).delete()
        events = count_events(agency, days, by_day=True)
        rows = [
            DailyFigure(agency=agency, day=key[1], metric=key[0], staff_id=key[2], source=key[3] or "",
                        count=count, seconds=seconds, timed=timed)
            for key, (count, seconds, timed) in events.items()
        ]
        DailyFigure.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


# Days older than this are rolled up in runs of this length, so one transaction never grows unbounded.
CHUNK_DAYS = 31


def rollup_pending(*, agency, until: datetime.date | None = None) -> int:
    """Roll up every past day since the agency opened that is not marked complete; the days rolled up."""
    yesterday = finance_services.agency_today(agency) - ONE_DAY
    until = min(until or yesterday, yesterday)
    # Members and sales imported from an older system carry their original times.
    earliest = Member.objects.filter(agency=agency).order_by("created_at").values_list("created_at", flat=True).first()
    days = [finance_services.local_day(agency, moment) for moment in (agency.created_at, earliest) if moment]
    first = min(filter(None, [*days, first_activity_day(agency)]))
    if first > until:
        return 0
    marked = DashboardRollupDay.objects.filter(agency=agency, day__range=(first, until))
    done = set(marked.values_list("day", flat=True))
    pending = [first + ONE_DAY * offset for offset in range((until - first).days + 1)]
    pending = [day for day in pending if day not in done]
    for run_first, run_last in day_runs(pending):
        chunk_first = run_first
        while chunk_first <= run_last:
            chunk_last = min(run_last, chunk_first + ONE_DAY * (CHUNK_DAYS - 1))
            _roll_up(agency, chunk_first, chunk_last)
            chunk_first = chunk_last + ONE_DAY
    return len(pending)
