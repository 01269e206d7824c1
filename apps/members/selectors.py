"""Reads of members, always through the role-tree visibility rule (F-B3)."""

from django.db.models import QuerySet

from apps.matchmakers.selectors import visible_to

from .models import Member, MemberShare

OWNER_FIELDS = ("presale_owner", "aftersale_owner")


def member_visible_list(*, user) -> QuerySet[Member]:
    """Every member `user` may see: own, owned below their role, or shared with them."""
    return visible_to(Member.objects.all(), user=user, owner_fields=OWNER_FIELDS, share_model=MemberShare)


def member_list(*, user) -> QuerySet[Member]:
    """The member list page's rows, with what the list shows of their owners."""
    return member_visible_list(user=user).select_related("presale_owner", "aftersale_owner")


def member_get(*, user, pk: int) -> Member | None:
    return member_list(user=user).filter(pk=pk).first()


def member_share_list(*, member: Member) -> QuerySet[MemberShare]:
    return (
        MemberShare.objects.filter(content_object=member, permission__codename="view_member")
        .select_related("user", "granted_by")
        .order_by("granted_at")
    )
