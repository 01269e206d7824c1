"""Messages sent to the member on the 360° member page's timeline (one query)."""

from django.utils.text import Truncator
from django.utils.translation import gettext as _

from apps.members.timeline import TimelineEvent, register

from .models import Notification

ICONS = {
    Notification.Channel.IN_SITE: "bi-chat-dots",
    Notification.Channel.EMAIL: "bi-envelope",
    Notification.Channel.SMS: "bi-phone",
}


@register
def notifications(member, user):
    if not user.has_perm("matchmakers.view_messages"):
        return
    for notification in Notification.objects.filter(member=member).select_related("sender")[:200]:
        summary = notification.subject or Truncator(notification.body).chars(60)
        detail = notification.status_shown
        if notification.status == Notification.Status.FAILED and notification.error:
            detail = _("%(status)s: %(error)s") % {"status": detail, "error": Truncator(notification.error).chars(120)}
        yield TimelineEvent(
            at=notification.created_at,
            kind="message",
            title=f"{notification.get_channel_display()}: {summary}",
            detail=detail,
            actor=str(notification.sender or _("System")),
            icon=ICONS.get(notification.channel, "bi-send"),
        )
