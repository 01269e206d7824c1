"""Reads of members, always through the role-tree visibility rule (F-B3)."""

import datetime

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.matchmakers.selectors import visible_to

from .models import Member, MemberAttachment, MemberPhoto, MemberShare, Tag

OWNER_FIELDS = ("presale_owner", "aftersale_owner")


def member_visible_list(*, user) -> QuerySet[Member]:
    """Every member `user` may see: own, owned below their role, or shared with them."""
    return visible_to(Member.objects.all(), user=user, owner_fields=OWNER_FIELDS, share_model=MemberShare)


def member_list(*, user) -> QuerySet[Member]:
    """The member list page's rows, with what the list shows of their owners."""
    return member_visible_list(user=user).select_related("presale_owner", "aftersale_owner")


def member_get(*, user, pk: int) -> Member | None:
    return member_list(user=user).filter(pk=pk).first()


def member_get_or_404(*, user, pk: int) -> Member:
    """The member if the user may see them; another agency's, or one outside the user's branch, does not
    exist for this user (404, so nothing leaks)."""
    member = member_get(user=user, pk=pk)
    if member is None:
        raise Http404
    return member


def member_profile(*, user, pk: int) -> Member | None:
    """A member with everything the 360° page shows, in a fixed number of queries."""
    member = (
        member_list(user=user)
        .select_related("created_by")
        .prefetch_related(
            Prefetch("preferences", to_attr="preference_rows"),
            Prefetch("photos", queryset=MemberPhoto.objects.order_by("-is_primary", "id")),
            Prefetch("attachments", queryset=MemberAttachment.objects.select_related("uploaded_by")),
            "family",
        )
        .filter(pk=pk)
        .first()
    )
    if member is not None:
        wanted = set(member.tag_ids)
        preference = member.preference = member.preference_rows[0] if member.preference_rows else None
        if preference is not None:
            wanted |= set(preference.must_tag_ids) | set(preference.nice_tag_ids)
        tags = {tag.pk: tag for tag in Tag.objects.filter(pk__in=wanted)} if wanted else {}
        member.tag_objects = [tags[tag_id] for tag_id in member.tag_ids if tag_id in tags]
        if preference is not None:
            preference.must_tags = [tags[t] for t in preference.must_tag_ids if t in tags]
            preference.nice_tags = [tags[t] for t in preference.nice_tag_ids if t in tags]
    return member


def member_share_list(*, member: Member) -> QuerySet[MemberShare]:
    return (
        MemberShare.objects.filter(content_object=member, permission__codename="view_member")
        .select_related("user", "granted_by")
        .order_by("granted_at")
    )


def tag_choices(*, agency) -> list[tuple[str, list[tuple[int, str]]]]:
    """The agency's tags grouped by dimension."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for tag in Tag.objects.filter(agency=agency).order_by("kind", "position", "name"):
        groups.setdefault(tag.get_kind_display(), []).append((tag.pk, tag.name))
    return list(groups.items())


def _month_days(start: datetime.date, days: int) -> list[int]:
    return [(d.month * 100 + d.day) for d in (start + datetime.timedelta(days=i) for i in range(days))]


def birthday_list(*, user, window: str) -> QuerySet[Member]:
    """Visible members whose birthday falls today, in the next 7 days, or in the rest of this month."""
    today = timezone.localdate()
    if window == "today":
        days = [today.month * 100 + today.day]
    elif window == "week":
        days = _month_days(today, 7)
    else:
        next_month = (today.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        days = _month_days(today, (next_month - today).days)
    if 228 in days and not _is_leap(today.year):
        days.append(229)  # those born on 29 February celebrate on the 28th in common years
    return member_list(user=user).filter(birth_md__in=days).order_by("birth_md", "name")


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
