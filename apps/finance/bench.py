"""The finance bench (`manage.py bench finance`): the year's sales report page, and the roll-up behind it.

The page goes through the whole Django stack in-process, as the agency's finance user (who sees
every salesperson), on the data `seed_finance` leaves (100,000 confirmed payments over a year, every
past day rolled up, today live). `rollup_seconds` is the time to roll up the whole year again from
the payments themselves, what rebuilding the roll-up costs; the bench writes nothing else.
"""

import time

from django.conf import settings
from django.core.management.base import CommandError
from django.urls import reverse

from apps.agencies.context import agency_context
from apps.agencies.models import Agency
from apps.core.bench import percentile, register, time_get
from apps.matchmakers.models import User

from . import reports, services
from .models import Payment, SalesDaily, SalesRollupDay
from .selectors import sees_all_contracts


def _finance_user(agency) -> User:
    """The agency's first active user who sees every contract and may view reports (finance, else the admin)."""
    staff = User.objects.filter(agency=agency, is_active=True, role__isnull=False).select_related("role")
    for user in sorted(staff, key=lambda user: (user.role.parent_id is None, user.pk)):
        if user.has_perm("matchmakers.view_reports") and sees_all_contracts(user):
            return user
    raise CommandError(f"agency {agency.slug!r} has nobody who may see every contract's sales")


@register("finance")
def finance(options: dict) -> dict:
    from django.test import Client  # noqa: PLC0415 - test tooling, loaded only to bench

    agency = Agency.objects.filter(slug=options["agency"]).first()
    if agency is None:
        raise CommandError(f"no agency {options['agency']!r}; seed one with `seed_members` and `seed_finance`")
    with agency_context(agency):
        user = _finance_user(agency)
    staff = Client(HTTP_HOST=f"{agency.slug}.{settings.BASE_DOMAIN}")
    staff.force_login(user)
    url = f"{reverse('finance:report', urlconf=settings.ROOT_URLCONF)}?period=year"

    timings, queries = time_get(staff, url, options)

    with agency_context(agency):
        today = services.agency_today(agency)
        first = reports.PERIODS["year"].start(today)
        started = time.perf_counter()
        SalesRollupDay.objects.filter(agency=agency, day__gte=first).delete()
        days = reports.rollup_pending(agency=agency)
        rollup_seconds = time.perf_counter() - started
        payments = Payment.objects.filter(agency=agency, status=Payment.Status.CONFIRMED).count()
        daily_rows = SalesDaily.objects.filter(agency=agency, day__gte=first).count()
    return {
        "bench": "finance",
        "payments": payments,
        "report_year_p50_ms": round(percentile(timings, 0.50), 1),
        "report_year_p95_ms": round(percentile(timings, 0.95), 1),
        "report_queries": queries,
        "rollup_seconds": round(rollup_seconds, 2),
        "rollup_days": days,
        "rollup_rows": daily_rows,
    }
