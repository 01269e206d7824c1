"""Reads of the messaging app, scoped by agency and by what the reader may see."""

from dataclasses import dataclass

from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery, Sum

from apps.members.models import Member
from apps.members.selectors import member_visible_list

from .models import Message, Notification, NotificationTemplate, Thread
from .templating import TEMPLATE_KINDS

# --- conversations (F-F7) ------------------------------------------------------------------------


def member_unread_count(*, member: Member) -> int:
    """Messages from the agency the member has not opened yet (the portal's badge)."""
    total = Thread.objects.filter(agency=member.agency_id, member=member).aggregate(n=Sum("unread_by_member"))["n"]
    return total or 0


def _with_last_message(threads: QuerySet[Thread]) -> QuerySet[Thread]:
    """Each thread with the start of its latest message (`last_body`, `last_has_image`), in the same query."""
    latest = Message.objects.filter(agency=OuterRef("agency"), thread=OuterRef("pk")).order_by("-created_at", "-id")
    return threads.annotate(
        last_body=Subquery(latest.values("body")[:1]),
        last_has_image=Subquery(latest.annotate(has_image=~Q(image="")).values("has_image")[:1]),
    )


def thread_visible_list(*, user) -> QuerySet[Thread]:
    """Threads of the members `user` may see (one query; the member rule is a subquery)."""
    return Thread.objects.filter(agency=user.agency_id, member__in=member_visible_list(user=user))


def thread_inbox(*, user, unread_only: bool = False, search: str = "") -> QuerySet[Thread]:
    """The staff inbox: unread threads first, then the newest; `search` is a member number or name."""
    threads = thread_visible_list(user=user)
    if unread_only:
        threads = threads.filter(unread_by_staff__gt=0)
    search = (search or "").strip()
    if search:
        threads = threads.filter(Q(member__member_no__iexact=search) | Q(member__name__icontains=search))
    return (
        _with_last_message(threads)
        .select_related("member", "started_by")
        .annotate(has_unread=ExpressionWrapper(Q(unread_by_staff__gt=0), output_field=BooleanField()))
        .order_by("-has_unread", "-last_message_at", "-id")
    )


def staff_unread_total(*, user) -> int:
    """Member messages no staff user has opened yet, over the threads `user` may see (the nav badge)."""
    total = thread_visible_list(user=user).filter(unread_by_staff__gt=0).aggregate(n=Sum("unread_by_staff"))["n"]
    return total or 0


def thread_get_for_staff(*, user, pk: int) -> Thread | None:
    return thread_visible_list(user=user).select_related("member", "started_by").filter(pk=pk).first()


def member_thread_list(*, member: Member) -> QuerySet[Thread]:
    """The member's own threads, newest first (the portal inbox, and the 360° page's card)."""
    return _with_last_message(Thread.objects.filter(agency=member.agency_id, member=member)).order_by(
        "-last_message_at", "-id"
    )


def thread_get_for_member(*, member: Member, pk: int) -> Thread | None:
    """One of the member's own threads; an id of another member's thread gives None."""
    return Thread.objects.filter(agency=member.agency_id, member=member, pk=pk).first()


def thread_messages(*, thread: Thread) -> QuerySet[Message]:
    """A thread's messages, oldest first, with who wrote them."""
    return Message.objects.filter(agency=thread.agency_id, thread=thread).select_related("author", "on_behalf_by")


def message_image_for_member(*, member: Member, pk: int) -> Message | None:
    """A message with an image in one of the member's own threads."""
    return Message.objects.filter(agency=member.agency_id, thread__member=member, pk=pk).exclude(image="").first()


def message_image_for_staff(*, user, pk: int) -> Message | None:
    """A message with an image in a thread of a member `user` may see."""
    return (
        Message.objects.filter(agency=user.agency_id, pk=pk, thread__in=thread_visible_list(user=user))
        .exclude(image="")
        .first()
    )


# --- notification log and message templates (F-H3) ------------------------------------------------


def notification_visible_list(*, user) -> QuerySet[Notification]:
    """Notifications to the members `user` may see (one query; the member rule is a subquery)."""
    return Notification.objects.filter(agency=user.agency_id, member__in=member_visible_list(user=user))


def notification_log(*, user) -> QuerySet[Notification]:
    """The log page's rows, newest first, with the member and sender it shows."""
    return notification_visible_list(user=user).select_related("member", "sender").order_by("-created_at", "-id")


@dataclass(frozen=True)
class TemplateRow:
    kind: str
    kind_label: str
    channel: str
    channel_label: str
    own: NotificationTemplate | None  # None: the built-in wording is used


def notification_template_overview(*, agency) -> list[TemplateRow]:
    """Every kind × channel the agency may word, and its own wording where it wrote one (one query)."""
    own = {
        (template.kind, template.channel): template
        for template in NotificationTemplate.objects.filter(agency=agency).select_related("updated_by")
    }
    return [
        TemplateRow(kind, kind.label, channel, channel.label, own.get((kind.value, channel.value)))
        for kind in TEMPLATE_KINDS
        for channel in Notification.Channel
    ]


def notification_template_get(*, agency, kind: str, channel: str) -> NotificationTemplate | None:
    """The agency's own wording of one kind on one channel, or None (the built-in one is used)."""
    return (
        NotificationTemplate.objects.filter(agency=agency, kind=kind, channel=channel)
        .select_related("updated_by")
        .first()
    )
