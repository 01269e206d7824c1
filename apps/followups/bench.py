"""The intake bench (`manage.py bench intake`): the public registration POST and the pool page.

Both go through the whole Django stack in-process. Registrations use a fresh phone and client IP
each (so the per-phone and per-IP rate limits do not interfere) and are deleted afterwards.
"""

import time

from django.conf import settings
from django.core.management.base import CommandError
from django.urls import reverse

from apps.agencies.context import agency_context
from apps.agencies.models import Agency
from apps.core.bench import count_queries, percentile, register
from apps.matchmakers.models import User
from apps.members.models import Member

from .selectors import Pool, pool_members

PHONE_BASE = 16_600_000_000  # a block of numbers the seed never uses


def _timed(call, runs: int) -> list[float]:
    timings = []
    for index in range(runs):
        start = time.perf_counter()
        call(index)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


@register("intake")
def intake(options: dict) -> dict:
    from django.test import Client  # noqa: PLC0415 - test tooling, loaded only to bench

    agency = Agency.objects.filter(slug=options["agency"]).first()
    if agency is None:
        raise CommandError(f"no agency {options['agency']!r}; seed one with `manage.py seed_members`")
    host = f"{agency.slug}.{settings.BASE_DOMAIN}"
    admin = User.objects.filter(agency=agency, is_active=True, role__parent__isnull=True).order_by("pk").first()
    if admin is None:
        raise CommandError(f"agency {agency.slug!r} has no active admin")
    runs, warmup = options["requests"], options["warmup"]
    register_url = reverse("site:register", urlconf=settings.ROOT_URLCONF)
    phones = [str(PHONE_BASE + index) for index in range(warmup + runs)]
    visitor = Client(HTTP_HOST=host)

    def post(index):
        response = visitor.post(
            register_url,
            {"name": f"访客{index}", "gender": "female", "phone": phones[index]},
            REMOTE_ADDR=f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}",
        )
        if response.status_code != 302:
            raise CommandError(f"POST {register_url} answered {response.status_code}, not a redirect")

    try:
        for index in range(warmup):
            post(index)
        register_times = _timed(lambda i: post(warmup + i), runs)
    finally:
        with agency_context(agency):
            Member.objects.filter(phone__in=phones).delete()

    staff = Client(HTTP_HOST=host)
    staff.force_login(admin)
    pool_url = f"{reverse('followups:pools', urlconf=settings.ROOT_URLCONF)}?pool={Pool.UNASSIGNED}"

    def get(_index):
        if staff.get(pool_url).status_code != 200:
            raise CommandError(f"GET {pool_url} did not answer 200")

    for index in range(warmup):
        get(index)
    pool_queries = count_queries(lambda: get(0))
    pool_times = _timed(get, runs)
    with agency_context(agency):
        members = Member.objects.count()
        pool_rows = pool_members(agency=agency, pool=Pool.UNASSIGNED).count()
    return {
        "bench": "intake",
        "members": members,
        "register_p50_ms": round(percentile(register_times, 0.50), 1),
        "register_p95_ms": round(percentile(register_times, 0.95), 1),
        "pool_p50_ms": round(percentile(pool_times, 0.50), 1),
        "pool_p95_ms": round(percentile(pool_times, 0.95), 1),
        "pool_queries": pool_queries,
        "pool_rows": pool_rows,
    }
