"""The dashboards bench (`manage.py bench dashboards`): a year of dashboards for the whole agency.

The page goes through the whole Django stack in-process, as the agency's admin (who sees the whole
agency), for the last 365 days, on the data `seed_members`, `seed_finance` and `seed_activity`
leave (200,000 members, a year of sales and of service activity, every past day rolled up, today
live). The same page as a manager of one branch is timed too (the role-tree filter on every
figure). `rollup_seconds` is the time to roll the year up again from the records themselves.
"""

import datetime
import time

from django.conf import settings
from django.core.management.base import CommandError
from django.urls import reverse

from apps.agencies.context import agency_context
from apps.agencies.models import Agency
from apps.core.bench import percentile, register, time_get
from apps.finance.services import agency_today
from apps.matchmakers.models import User
from apps.members.models import Member

from . import dashboards, rollups
from .models import DailyFigure, DashboardRollupDay


def _viewers(agency) -> tuple[User, User | None]:
    """(the admin: top role and may view reports; a manager below them who may view reports, if any)."""
    staff = User.objects.filter(agency=agency, is_active=True, role__isnull=False).select_related("role")
    readers = [user for user in staff.order_by("role__level", "pk") if user.has_perm("matchmakers.view_reports")]
    admin = next((user for user in readers if user.role.parent_id is None), None)
    if admin is None:
        raise CommandError(f"agency {agency.slug!r} has no admin who may view reports")
    manager = next((user for user in readers if not dashboards.sees_whole_agency(user)), None)
    return admin, manager


@register("dashboards")
def dashboards_bench(options: dict) -> dict:
    from django.test import Client  # noqa: PLC0415 - test tooling, loaded only to bench

    agency = Agency.objects.filter(slug=options["agency"]).first()
    if agency is None:
        raise CommandError(f"no agency {options['agency']!r}; seed one with seed_members, seed_finance, seed_activity")
    with agency_context(agency):
        admin, manager = _viewers(agency)
        today = agency_today(agency)
        members = Member.objects.filter(agency=agency).count()
    start = today - datetime.timedelta(days=364)
    url = f"{reverse('reports:dashboard', urlconf=settings.ROOT_URLCONF)}?start={start}&end={today}"
    host = f"{agency.slug}.{settings.BASE_DOMAIN}"
    client = Client(HTTP_HOST=host)
    client.force_login(admin)
    timings, queries = time_get(client, url, options)
    result = {
        "bench": "dashboards",
        "members": members,
        "range_days": 365,
        "dashboard_p50_ms": round(percentile(timings, 0.50), 1),
        "dashboard_p95_ms": round(percentile(timings, 0.95), 1),
        "dashboard_queries": queries,
    }
    if manager is not None:
        branch = Client(HTTP_HOST=host)
        branch.force_login(manager)
        timings, _queries = time_get(branch, url, options)
        result["branch_dashboard_p50_ms"] = round(percentile(timings, 0.50), 1)
    with agency_context(agency):
        started = time.perf_counter()
        DashboardRollupDay.objects.filter(agency=agency, day__gte=start).delete()
        days = rollups.rollup_pending(agency=agency)
        result["rollup_seconds"] = round(time.perf_counter() - started, 2)
        result["rollup_days"] = days
        result["rollup_rows"] = DailyFigure.objects.filter(agency=agency, day__gte=start).count()
    return result
