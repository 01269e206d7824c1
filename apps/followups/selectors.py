"""Reads for assignment pools, the presale and after-sale lists, due follow-ups and overdue service."""

import datetime

from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.matchmakers.selectors import owner_ids_visible_to, staff_below
from apps.members.filters import FOLLOWUP_BUCKETS
from apps.members.models import Member
from apps.members.selectors import member_list

from .models import AFTERSALE_STATUSES, Assignment, ServiceStage, ServiceStageChange


class Pool:
    UNASSIGNED = "unassigned"  # leads nobody follows yet
    DEALT = "dealt"  # signed, waiting for an after-sale matchmaker
    ABANDONED = "abandoned"  # given up, waiting for someone else to try

    ALL = (UNASSIGNED, DEALT, ABANDONED)


def pool_members(*, agency, pool: str) -> QuerySet[Member]:
    """The members of an assignment pool (F-D1); agency-wide, for staff who may assign."""
    members = Member.objects.filter(agency=agency).select_related("presale_owner", "aftersale_owner")
    if pool == Pool.UNASSIGNED:
        return members.filter(presale_owner__isnull=True, status__in=[Member.Status.LEAD, Member.Status.FOLLOWING])
    if pool == Pool.DEALT:
        return members.filter(aftersale_owner__isnull=True, status=Member.Status.SIGNED)
    return members.filter(status=Member.Status.ABANDONED)


def presale_list(*, user) -> QuerySet[Member]:
    """The presale list (F-E1): members the user follows as presale matchmaker, or was given to."""
    return member_list(user=user).filter(status__in=[Member.Status.LEAD, Member.Status.FOLLOWING, Member.Status.SIGNED])


def _end_of_today() -> datetime.datetime:
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(tomorrow, datetime.time.min))


def due_followups(*, user) -> QuerySet[Member]:
    """The user's own members whose next follow-up is due today or overdue, most overdue first."""
    return (
        member_list(user=user)
        .filter(Q(presale_owner=user) | Q(aftersale_owner=user), next_followup_at__lt=_end_of_today())
        .exclude(status__in=[Member.Status.ABANDONED, Member.Status.SUCCESS])
        .order_by("next_followup_at")
    )


# --- after-sale (F-F1) ------------------------------------------------------------------------------


def aftersale_list(*, user) -> QuerySet[Member]:
    """The after-sale list: members in after-sale service whose after-sale matchmaker is the user or
    someone below the user's role, with when they were given to that matchmaker and their service
    stage (one extra query per page)."""
    assigned_at = (
        Assignment.objects.filter(member=OuterRef("pk"), role=Assignment.Role.AFTERSALE,
                                  to_user=OuterRef("aftersale_owner"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )  # fmt: skip
    return (
        member_list(user=user)
        .filter(status__in=AFTERSALE_STATUSES, aftersale_owner__in=owner_ids_visible_to(user))
        .annotate(aftersale_assigned_at=Subquery(assigned_at))
        .prefetch_related(Prefetch("service_stages", to_attr="stage_rows"))
    )


def awaiting_followup() -> Q:
    """Members of aftersale_list() awaiting a follow-up: their next follow-up is due today or
    overdue, or nobody has recorded a follow-up or service note since they were last given to their
    current after-sale matchmaker (or ever, for members given without an assignment record)."""
    return (
        Q(next_followup_at__lt=_end_of_today())
        | Q(last_followup_at__isnull=True)
        | Q(last_followup_at__lt=F("aftersale_assigned_at"))
    )


def aftersale_categories() -> dict[str, tuple[str, Q]]:
    """The after-sale list's tabs: key → (label, condition)."""
    buckets = {key: FOLLOWUP_BUCKETS[key] for key in ("1", "le3", "le5", "6plus")}
    return {
        "all": (_("All"), Q()),
        "awaiting": (_("Awaiting follow-up"), awaiting_followup()),
        **{key: (label, Q(**lookup)) for key, (label, lookup) in buckets.items()},
    }


def aftersale_category_counts(queryset: QuerySet[Member], categories: dict[str, tuple[str, Q]]) -> dict[str, int]:
    """How many members each tab holds, in one query."""
    return queryset.aggregate(**{key: Count("pk", filter=condition) for key, (_label, condition) in categories.items()})


# --- the service workflow (F-F9) -------------------------------------------------------------------


def overdue_stages() -> QuerySet[ServiceStage]:
    """Service steps past their deadline (the overdue page, the workbench and the escalation job)."""
    return (
        ServiceStage.objects.filter(due_at__lt=timezone.now(), member__status__in=AFTERSALE_STATUSES)
        .exclude(stage=ServiceStage.Stage.SUCCESS)
        .select_related("member", "member__aftersale_owner")
        .order_by("due_at", "pk")
    )


def overdue_stages_mine(*, user) -> QuerySet[ServiceStage]:
    """Overdue service steps of the members the user serves as after-sale matchmaker."""
    return overdue_stages().filter(member__aftersale_owner=user)


def overdue_stages_escalated(*, user) -> QuerySet[ServiceStage]:
    """Overdue service steps escalated to the user: those of members served by staff below the
    user's role (the user's role is an ancestor of the owner's). Peers and superiors never appear."""
    return overdue_stages().filter(member__aftersale_owner__in=staff_below(user=user).values("pk"))


def member_stage(*, member: Member) -> ServiceStage | None:
    return ServiceStage.objects.filter(member=member).first()


def member_stage_history(*, member: Member, limit: int = 50) -> QuerySet[ServiceStageChange]:
    return ServiceStageChange.objects.filter(member=member).select_related("changed_by")[:limit]
