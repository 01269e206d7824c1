"""Messages to members (F-E4): one interface for every channel, delivered in the background.

`send_to_member` checks who may send what to whom, records the Notification and queues its
delivery once the transaction commits; `notification_deliver` (run by the task) hands it to the
channel backend and records whether it went out. Reminders and other automatic messages (F-H3)
reuse the same row and delivery.

A failed attempt is retried with a growing delay (NOTIFICATION_RETRY_BASE_SECONDS × 4^(n-1)) until
NOTIFICATION_MAX_ATTEMPTS; then the row is FAILED with the provider's error, and staff may send it
again. A message is never dropped: a row stays QUEUED until it is sent or FAILED, and a periodic
job queues again any row whose next attempt is overdue (a worker restarted and lost its countdown).
"""

import datetime
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.matchmakers.models import User
from apps.members.models import Member
from apps.members.selectors import member_visible_list

from . import templating
from .channels import get_channel
from .models import Notification, NotificationTemplate

logger = logging.getLogger(__name__)

# Kinds whose text carries a secret: their failed rows cannot be sent again (the secret is gone).
SECRET_KINDS = (Notification.Kind.INVITATION, Notification.Kind.RESET_CODE)

# A long SMS is split by the carrier and billed per part; 500 characters is the providers' limit.
SMS_MAX_LENGTH = 500
# A row queued this long ago that no worker has tried yet lost its task (broker or worker restart).
UNTRIED_GRACE = datetime.timedelta(minutes=10)


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


def _checked_text(channel: str, subject: str, body: str, *, empty: str) -> tuple[str, str]:
    """The trimmed subject and body of a message for `channel`, or a ValidationError naming the field."""
    body, subject = (body or "").strip(), (subject or "").strip()
    if not body:
        raise ValidationError({"body": empty})
    if channel == Notification.Channel.EMAIL and not subject:
        raise ValidationError({"subject": _("An email needs a subject.")})
    if channel == Notification.Channel.SMS and len(body) > SMS_MAX_LENGTH:
        raise ValidationError(
            {"body": _("An SMS can have at most %(limit)s characters; this one has %(count)s.")
             % {"limit": SMS_MAX_LENGTH, "count": len(body)}}
        )  # fmt: skip
    return subject, body


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
    subject, body = _checked_text(channel, subject if channel == Notification.Channel.EMAIL else "", body,
                                  empty=_("Write the message."))  # fmt: skip
    notification = Notification(
        agency=agency, member=member, sender=actor, channel=channel, subject=subject, body=body,
        recipient=_recipient(member, channel),
    )  # fmt: skip
    return _queue(notification)


def _queue(notification: Notification) -> Notification:
    """Store a new notification and hand it to the delivery task once the transaction commits."""
    notification.full_clean(exclude=["agency", "member", "sender"])
    notification.save()
    _deliver_on_commit(agency_id=notification.agency_id, notification_id=notification.pk, attempt=1)
    return notification


def _deliver_on_commit(*, agency_id: int, notification_id: int, attempt: int) -> None:
    """Queue the delivery task for attempt number `attempt` once the transaction commits."""
    from .tasks import notification_send  # noqa: PLC0415 - tasks imports this module

    transaction.on_commit(
        lambda: notification_send.delay(agency_id=agency_id, notification_id=notification_id, attempt=attempt)
    )


@transaction.atomic
def notify_member(*, agency, member: Member, kind: str, channel: str, values: dict, secrets: dict | None = None,
                  sender: User | None = None) -> Notification:  # fmt: skip
    """Send an automatic message of `kind` (invitation, reset code, reminder …) in the agency's wording.

    The caller has decided the member should get it (portal services, reminder jobs); `values`
    fills the kind's placeholders ({name} defaults to the member's name). `secrets` fills
    placeholders that only the member may read (a code, a one-time link): the stored text shows
    them masked and the real text is sealed until delivered (see Notification.sealed); they never
    go in-site, where the message would be kept in a conversation staff read. Raises
    ValidationError when the member has no address for the channel; nothing is stored then.
    """
    secrets = secrets or {}
    if secrets and channel == Notification.Channel.IN_SITE:
        raise ValidationError({"channel": _("A code or a one-time link is sent by SMS or email only.")})
    values = {"name": member.name, **values}
    masked = dict.fromkeys(secrets, Notification.SECRET_MASK)
    shown = templating.render(agency=agency, kind=kind, channel=channel, values={**values, **masked})
    notification = Notification(
        agency=agency, member=member, sender=sender, channel=channel, kind=kind,
        subject=shown.subject if channel != Notification.Channel.SMS else "", body=shown.body,
        recipient=_recipient(member, channel),
    )  # fmt: skip
    if secrets:
        real = templating.render(agency=agency, kind=kind, channel=channel, values={**values, **secrets})
        notification.seal(real.subject if channel != Notification.Channel.SMS else "", real.body)
    return _queue(notification)


def notification_retry_delay(attempts: int) -> int:
    """Seconds to wait after failed attempt number `attempts` (1, 2, …): base × 4^(attempts-1)."""
    return settings.NOTIFICATION_RETRY_BASE_SECONDS * 4 ** (attempts - 1)


def notification_deliver(*, agency, notification_id: int, attempt: int | None = None) -> Notification | None:
    """Make one delivery attempt of a queued notification through its channel and record the outcome.

    On failure the row stays QUEUED with the error and `next_attempt_at` while attempts remain, and
    becomes FAILED after the last one; the caller (the task) queues the next attempt at that time.
    `attempt` is the attempt the caller was queued for: a task for an attempt already made (a
    duplicate, or a row queued again by `notifications_requeue_due`) does nothing and gets None.

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
        if attempt is not None and notification.attempts != attempt - 1:
            return None
        notification.attempts += 1
        try:
            external_id = get_channel(notification.channel).deliver(notification)
        except Exception as error:  # any failure of a provider is recorded on the row, not raised
            logger.warning("notification %s (%s) attempt %s failed: %s", notification.pk, notification.channel,
                           notification.attempts, error)  # fmt: skip
            notification.error = f"{type(error).__name__}: {error}"[:2000]
            if notification.attempts < settings.NOTIFICATION_MAX_ATTEMPTS:
                delay = notification_retry_delay(notification.attempts)
                notification.next_attempt_at = timezone.now() + datetime.timedelta(seconds=delay)
            else:
                notification.status = Notification.Status.FAILED
                notification.next_attempt_at = None
        else:
            notification.status = Notification.Status.SENT
            notification.sent_at = timezone.now()
            notification.external_id = (external_id or "")[:100]
            notification.error = ""
            notification.next_attempt_at = None
        if notification.status != Notification.Status.QUEUED:
            notification.sealed = ""  # a secret is kept only while it may still be sent
        notification.save(update_fields=["status", "error", "sent_at", "external_id", "attempts", "next_attempt_at",
                                         "sealed"])  # fmt: skip
    return notification


def notifications_requeue_due(*, agency) -> int:
    """Queue again the agency's notifications whose delivery task was lost; returns how many.

    Those are QUEUED rows whose next attempt is overdue, and rows nobody has tried since
    UNTRIED_GRACE. Idempotent: a task queued twice for the same attempt runs once (see
    `notification_deliver`), so a row whose own task is merely late is not sent twice.
    """
    now = timezone.now()
    due = Notification.objects.filter(agency=agency, status=Notification.Status.QUEUED).filter(
        Q(next_attempt_at__lte=now) | Q(attempts=0, created_at__lte=now - UNTRIED_GRACE)
    )
    rows = list(due.values_list("pk", "attempts"))
    with transaction.atomic():
        for notification_id, attempts in rows:
            _deliver_on_commit(agency_id=agency.pk, notification_id=notification_id, attempt=attempts + 1)
    if rows:
        logger.info("agency %s: %s notifications queued again", agency.pk, len(rows))
    return len(rows)


@transaction.atomic
def notification_retry(*, agency, actor: User, notification_id: int) -> Notification:
    """Send a FAILED notification again now ("retry now" on the log): one more attempt, attempts kept.

    Raises PermissionDenied without the messages "add" permission, Http404 for a notification of
    another agency or of a member outside the actor's branch, and ValidationError when the
    notification has not failed (it is queued or was sent).
    """
    if not actor.has_perm("matchmakers.add_messages"):
        raise PermissionDenied(_("Your role does not allow sending messages."))
    notification = (
        Notification.objects.select_for_update(of=("self",))
        .filter(agency=agency, pk=notification_id, member__in=member_visible_list(user=actor))
        .first()
    )
    if notification is None:
        raise Http404
    if notification.status != Notification.Status.FAILED:
        raise ValidationError(
            _("Only a failed message can be sent again; this one is %(status)s.")
            % {"status": notification.get_status_display().lower()}
        )
    if notification.kind in SECRET_KINDS:
        raise ValidationError(
            _("This message carried a code or a one-time link, which is not kept after a failure. "
              "Send a new one instead.")
        )  # fmt: skip
    notification.status = Notification.Status.QUEUED
    # The safety net queues it again should this task be lost too.
    notification.next_attempt_at = timezone.now()
    notification.save(update_fields=["status", "next_attempt_at"])
    _deliver_on_commit(agency_id=agency.pk, notification_id=notification.pk, attempt=notification.attempts + 1)
    return notification


# --- message templates (F-H3) ----------------------------------------------------------------------


def _check_template_kind(kind: str, channel: str) -> None:
    if kind not in templating.TEMPLATE_KINDS or channel not in Notification.Channel.values:
        raise Http404


def _template_editor(actor: User) -> None:
    if not actor.has_perm("matchmakers.edit_settings"):
        raise PermissionDenied(_("Your role does not allow changing settings."))


@transaction.atomic
def notification_template_save(*, agency, actor: User, kind: str, channel: str, subject: str,
                               body: str) -> NotificationTemplate:  # fmt: skip
    """Store the agency's own wording of one kind of message on one channel.

    Raises ValidationError, and stores nothing, for a placeholder the kind does not fill, an empty
    text, an email without a subject or an SMS over SMS_MAX_LENGTH characters.
    """
    _template_editor(actor)
    _check_template_kind(kind, channel)
    subject, body = _checked_text(channel, subject if channel != Notification.Channel.SMS else "", body,
                                  empty=_("Write the text of the message."))  # fmt: skip
    try:
        templating.check_placeholders(kind, subject, body)
    except ValidationError as error:
        raise ValidationError({"body": error.messages}) from error
    template, _created = NotificationTemplate.objects.update_or_create(
        agency=agency, kind=kind, channel=channel, defaults={"subject": subject, "body": body, "updated_by": actor}
    )
    return template


@transaction.atomic
def notification_template_reset(*, agency, actor: User, kind: str, channel: str) -> bool:
    """Go back to the built-in wording: delete the agency's own. Returns whether there was one."""
    _template_editor(actor)
    _check_template_kind(kind, channel)
    deleted, _rows = NotificationTemplate.objects.filter(agency=agency, kind=kind, channel=channel).delete()
    return bool(deleted)
