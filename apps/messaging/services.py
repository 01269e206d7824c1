"""Messages to members (F-E4): one interface for every channel, delivered in the background.

`send_to_member` checks who may send what to whom, records the Notification and queues its
delivery once the transaction commits; `notification_deliver` (run by the task) hands it to the
channel backend and records whether it went out. Reminders and other automatic messages (F-H3)
reuse the same row and delivery.
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.matchmakers.models import User
from apps.members.models import Member
from apps.members.selectors import member_visible_list

from .channels import get_channel
from .models import Notification

logger = logging.getLogger(__name__)

# A long SMS is split by the carrier and billed per part; 500 characters is the providers' limit.
SMS_MAX_LENGTH = 500


def _recipient(member: Member, channel: str) -> str:
    if channel == Notification.Channel.EMAIL:
        if not member.email:
            raise ValidationError(
                {"channel": _("%(name)s has no email address. Add one to the profile or choose another channel.")
                 % {"name": member.name}}
            )  # fmt: skip
        return member.email
    if channel == Notification.Channel.SMS:
        if not member.phone:
            raise ValidationError(
                {"channel": _("%(name)s has no mobile number. Add one to the profile or choose another channel.")
                 % {"name": member.name}}
            )  # fmt: skip
        return member.phone
    return ""


@transaction.atomic
def send_to_member(*, agency, actor: User, member: Member, channel: str, subject: str = "", body: str) -> Notification:
    """Send `body` to a member by in-site message, email or SMS, and record it on the timeline.

    The message is stored as queued and handed to a background task after the commit; the task
    marks it sent or failed. Raises PermissionDenied without the messages "add" permission,
    Http404 for a member of another agency or outside the actor's branch, and ValidationError for
    bad input (e.g. an email to a member without an address), in which case nothing is stored.
    """
    if not actor.has_perm("matchmakers.add_messages"):
        raise PermissionDenied(_("Your role does not allow sending messages."))
    if member.agency_id != agency.pk:
        raise Http404
    member = member_visible_list(user=actor).filter(pk=member.pk).first()
    if member is None:
        raise Http404
    if channel not in Notification.Channel.values:
        raise ValidationError({"channel": _("Choose how to send the message.")})
    body = (body or "").strip()
    subject = (subject or "").strip() if channel == Notification.Channel.EMAIL else ""
    if not body:
        raise ValidationError({"body": _("Write the message.")})
    if channel == Notification.Channel.EMAIL and not subject:
        raise ValidationError({"subject": _("An email needs a subject.")})
    if channel == Notification.Channel.SMS and len(body) > SMS_MAX_LENGTH:
        raise ValidationError(
            {"body": _("An SMS can have at most %(limit)s characters; this one has %(count)s.")
             % {"limit": SMS_MAX_LENGTH, "count": len(body)}}
        )  # fmt: skip
    notification = Notification(
        agency=agency, member=member, sender=actor, channel=channel, subject=subject, body=body,
        recipient=_recipient(member, channel),
    )  # fmt: skip
    notification.full_clean(exclude=["agency", "member", "sender"])
    notification.save()

    from .tasks import notification_send  # noqa: PLC0415 - tasks imports this module

    transaction.on_commit(lambda: notification_send.delay(agency_id=agency.pk, notification_id=notification.pk))
    return notification


def notification_deliver(*, agency, notification_id: int) -> Notification | None:
    """Deliver one queued notification through its channel and record the outcome.

    The row stays locked while the channel works, so a task delivered twice (late acknowledgement
    after a worker restart) waits and then finds it no longer queued: a message goes out once.
    """
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("agency", "sender")
            .filter(agency=agency, pk=notification_id)
            .first()
        )
        if notification is None or notification.status != Notification.Status.QUEUED:
            return notification
        try:
            external_id = get_channel(notification.channel).deliver(notification)
        except Exception as error:  # any failure of a provider is recorded on the row, not raised
            logger.warning("notification %s (%s) failed: %s", notification.pk, notification.channel, error)
            notification.status = Notification.Status.FAILED
            notification.error = f"{type(error).__name__}: {error}"[:2000]
        else:
            notification.status = Notification.Status.SENT
            notification.sent_at = timezone.now()
            notification.external_id = (external_id or "")[:100]
        notification.save(update_fields=["status", "error", "sent_at", "external_id"])
    return notification
