import json

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.agencies.models import TenantModel
from apps.core.fields import EncryptedCharField, user_field
from apps.core.uploads import random_upload_name
from apps.members.models import Member
from apps.members.storage import private_storage


class Kind(models.TextChoices):
    """What a notification is about: staff write `manual` ones; the rest come from templates (F-H3)."""

    MANUAL = "manual", _("Written by staff")
    INVITATION = "invitation", _("Portal invitation")
    RESET_CODE = "reset_code", _("Password reset code")
    BIRTHDAY = "birthday", _("Birthday greeting")
    APPOINTMENT_REMINDER = "appointment", _("Appointment reminder")
    CONTRACT_EXPIRY = "contract_expiry", _("Contract expiry")


class Notification(TenantModel):
    """One message sent to a member through one channel (F-E4, F-H3): what, to which address, by
    whom, and whether it went out (with its delivery attempts).

    An in-site notification is delivered as a Message in one of the member's conversations (see
    apps.messaging.threads.post_notice), linked back through Message.notification. Email and SMS
    rows keep the address or number used at the time, so the record stays true when the member's
    profile changes later.
    """

    class Channel(models.TextChoices):
        IN_SITE = "in_site", _("In-site message")
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    Kind = Kind

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="notifications", db_index=False, verbose_name=_("member")
    )
    # None is the system itself (reminders and other automatic messages, F-H3).
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("sent by"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.MANUAL)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("message"))
    recipient = models.CharField(
        _("recipient"), max_length=254, blank=True, help_text=_("The email address or mobile number used.")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(_("error"), blank=True)
    # A message that carries a secret (a reset code, a one-time link) keeps `subject` and `body`
    # masked, so the log and the timeline never show it to staff; the real text is kept here,
    # encrypted, only until it is delivered or has failed for good.
    sealed = EncryptedCharField(max_length=4000, blank=True, editable=False)
    # Delivery attempts so far; a failed attempt is retried with a growing delay until
    # NOTIFICATION_MAX_ATTEMPTS, then the row is FAILED (and shown as such), never dropped.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # The provider's id of the message (an SMS gateway's BizId), for tracing delivery with them.
    external_id = models.CharField(_("provider reference"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["agency", "member", "-created_at"], name="messaging_notif_member_idx"),
            models.Index(fields=["agency", "-created_at"], name="messaging_notif_rec_idx"),
            models.Index(fields=["agency", "status", "next_attempt_at"], name="messaging_notif_st_idx"),
        ]

    def __str__(self):
        return f"{self.member_id} {self.get_channel_display()} {self.get_status_display()}"

    SECRET_MASK = "******"  # noqa: S105 - what staff see instead of a code or link, not a secret

    def seal(self, subject: str, body: str) -> None:
        self.sealed = json.dumps({"subject": subject, "body": body}, ensure_ascii=False)

    def deliverable(self) -> tuple[str, str]:
        """(subject, body) as the member receives them: the sealed real text when there is one."""
        if self.sealed:
            real = json.loads(self.sealed)
            return real["subject"], real["body"]
        return self.subject, self.body

    @property
    def status_shown(self) -> str:
        """Queued / Retrying n of N / Sent / Failed, as the log and the member timeline show it."""
        if self.status == self.Status.QUEUED and self.attempts:
            upcoming = self.attempts + 1
            total = max(settings.NOTIFICATION_MAX_ATTEMPTS, upcoming)
            return gettext("Retrying %(attempt)s of %(total)s") % {"attempt": upcoming, "total": total}
        return self.get_status_display()


class NotificationTemplate(TenantModel):
    """An agency's wording of one kind of message on one channel, with {placeholders} (F-H3).

    Kinds without a row use the built-in wording (apps.messaging.templating.DEFAULTS).
    """

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Notification.Channel.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    updated_by = user_field(_("changed by"), null=True, blank=True)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "kind", "channel"], name="messaging_template_uniq"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} / {self.get_channel_display()}"


class Thread(TenantModel):
    """A conversation between one member and the staff serving them (F-F7).

    Unread counters are kept on the thread by the services (under a row lock) so navigation badges
    are one indexed sum, not a scan of messages.
    """

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="threads", db_index=False,
                               verbose_name=_("member"))  # fmt: skip
    subject = models.CharField(_("subject"), max_length=200)
    started_by = user_field(_("started by"), null=True, blank=True)  # empty: the member or the system
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    last_message_at = models.DateTimeField(_("last message at"))
    unread_by_staff = models.PositiveIntegerField(_("unread by staff"), default=0)
    unread_by_member = models.PositiveIntegerField(_("unread by the member"), default=0)

    class Meta(TenantModel.Meta):
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-last_message_at", "-id"]
        indexes = [
            models.Index(fields=["agency", "member", "-last_message_at"], name="messaging_thread_mem_idx"),
            models.Index(fields=["agency", "-last_message_at"], name="messaging_thread_rec_idx"),
            models.Index(
                fields=["agency", "member"], condition=Q(unread_by_staff__gt=0), name="messaging_thread_unr_idx"
            ),
        ]

    def __str__(self):
        return self.subject


def message_image_upload_to(instance, filename):
    return random_upload_name(f"messages/{instance.agency_id}", filename)


class Message(TenantModel):
    """One message in a thread, by the member or by the agency (a staff user, or the system for
    automatic notices); optionally one image."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages", db_index=False)
    from_member = models.BooleanField(_("from the member"))
    author = user_field(_("written by"), null=True, blank=True)  # staff author; empty for the member or the system
    # Staff who wrote it in the member's name while logged in as them (F-F3).
    on_behalf_by = user_field(_("written for the member by"), null=True, blank=True)
    body = models.TextField(_("message"), blank=True)
    image = models.ImageField(_("image"), upload_to=message_image_upload_to, storage=private_storage, blank=True)
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    # When the other side first opened the thread after this message arrived.
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # The notification this message delivered, for in-site notifications (kind, retries, status).
    # One message per notification (unique with the agency below; a one-to-one's own index would
    # not start with agency_id).
    notification = models.ForeignKey(
        Notification, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )

    class Meta(TenantModel.Meta):
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["agency", "thread", "created_at"], name="messaging_msg_thread_idx")]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(condition=~Q(body="") | ~Q(image=""), name="messaging_message_not_empty"),
            models.CheckConstraint(
                condition=Q(from_member=False) | Q(author__isnull=True), name="messaging_message_one_author"
            ),
            models.UniqueConstraint(fields=["agency", "notification"], name="messaging_message_notification_uniq"),
        ]

    def __str__(self):
        return f"{self.thread_id}: {self.body[:30]}"
