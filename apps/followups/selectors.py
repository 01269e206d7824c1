"""Reads for assignment pools, the presale list and due follow-ups."""

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.members.models import Member
from apps.members.selectors import member_list


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
