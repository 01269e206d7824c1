"""The members bench (`manage.py bench members`), and who owns members in seeded data.

The bench times the member list page through the whole Django stack (tenant middleware, session,
permissions, the visibility selector, the filters, pagination and the template) with a 3-filter
query, as the agency's admin (who sees every member) and as its busiest presale matchmaker (who
sees their own). The headline numbers are the worse of the two users.
"""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count
from django.http import QueryDict
from django.urls import reverse

from apps.agencies.context import agency_context
from apps.agencies.models import Agency
from apps.core.bench import percentile, register
from apps.matchmakers.models import User
from apps.matchmakers.services import role_permission_names

from .filters import MemberFilter
from .models import Member
from .selectors import member_list

# Women aged 28-35 with at least a bachelor's degree: a typical matchmaker's search.
LIST_QUERY = {"gender": "female", "age_min": "28", "age_max": "35", "education": "4"}


def owner_pools(agency) -> tuple[list[User], list[User]]:
    """(presale owners, after-sale owners) among the agency's active staff that hold a role.

    Presale owners hold a role that may add members, preferably a leaf role of the tree (the
    presale matchmakers rather than their manager or the admin); after-sale owners may edit but not
    add members (the after-sale matchmakers). Each pool falls back to a wider one when empty.
    """
    staff = list(
        User.objects.filter(agency=agency, is_active=True, role__isnull=False)
        .select_related("role")
        .order_by("username")
    )
    perms = {user.role_id: role_permission_names(user.role) for user in staff}

    def first_nonempty(*pools):
        return next((pool for pool in pools if pool), [])

    adders = [user for user in staff if "matchmakers.add_members" in perms[user.role_id]]
    presale = first_nonempty(
        [user for user in adders if user.role.is_leaf_node() and not user.role.is_root_node()],
        [user for user in adders if not user.role.is_root_node()],
        adders,
        staff,
    )
    editors = [
        user
        for user in staff
        if "matchmakers.edit_members" in perms[user.role_id] and "matchmakers.add_members" not in perms[user.role_id]
    ]
    aftersale = first_nonempty([user for user in editors if not user.role.is_root_node()], editors, presale)
    return presale, aftersale


def _bench_users(agency) -> list[tuple[str, User]]:
    admin = (
        User.objects.filter(agency=agency, is_active=True, role__parent__isnull=True, role__agency=agency)
        .order_by("pk")
        .first()
    )
    if admin is None:
        raise CommandError(f"agency {agency.slug!r} has no active user in its root (admin) role")
    presale_pool, _aftersale = owner_pools(agency)
    presale_ids = [user.pk for user in presale_pool if user.pk != admin.pk]
    busiest = (
        Member.objects.filter(presale_owner_id__in=presale_ids)
        .values("presale_owner_id")
        .annotate(rows=Count("id"))
        .order_by("-rows", "presale_owner_id")
        .first()
    )
    users = [("admin", admin)]
    if busiest is not None:
        users.append(("presale", next(user for user in presale_pool if user.pk == busiest["presale_owner_id"])))
    elif presale_ids:
        users.append(("presale", next(user for user in presale_pool if user.pk == presale_ids[0])))
    return users


def _measure(client, url: str, *, warmup: int, requests: int) -> dict:
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415 - test tooling, loaded only to bench

    for _ in range(warmup):
        _get(client, url)
    with CaptureQueriesContext(connection) as captured:
        _get(client, url)
    queries = len(captured.captured_queries)
    timings = []
    for _ in range(requests):
        start = time.perf_counter()
        _get(client, url)
        timings.append((time.perf_counter() - start) * 1000)
    return {
        "p50_ms": round(percentile(timings, 0.50), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "queries": queries,
    }


def _get(client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise CommandError(f"GET {url} answered {response.status_code}, not 200")
    return response


@register("members")
def members_list(options: dict) -> dict:
    """Time the member list with 3 filters as the admin and as a presale matchmaker."""
    agency = Agency.objects.filter(slug=options["agency"]).first()
    if agency is None:
        raise CommandError(
            f"no agency {options['agency']!r}; seed one with `manage.py seed_members --agency SLUG --create`"
        )
    with agency_context(agency):
        total = Member.objects.count()
        users = _bench_users(agency)
    from django.test import Client  # noqa: PLC0415 - test tooling, loaded only to bench

    url = f"{reverse('members:list', urlconf=settings.ROOT_URLCONF)}?{urlencode(LIST_QUERY)}"
    per_user = {}
    for label, user in users:
        client = Client(HTTP_HOST=f"{agency.slug}.{settings.BASE_DOMAIN}")
        client.force_login(user)
        per_user[label] = {"user": user.username, **_measure(client, url, **_counts(options))}
        with agency_context(agency):
            per_user[label]["visible"] = _visible_rows(user)
    return {
        "bench": "members",
        "members": total,
        "list_p50_ms": max(result["p50_ms"] for result in per_user.values()),
        "list_p95_ms": max(result["p95_ms"] for result in per_user.values()),
        "list_queries": max(result["queries"] for result in per_user.values()),
        "query": url,
        "users": per_user,
    }


def _counts(options: dict) -> dict:
    return {"warmup": options.get("warmup", 3), "requests": options.get("requests", 30)}


def _visible_rows(user: User) -> int:
    """How many members the filtered list shows `user` (the count above its table)."""
    return MemberFilter(QueryDict(urlencode(LIST_QUERY)), queryset=member_list(user=user)).qs.count()
