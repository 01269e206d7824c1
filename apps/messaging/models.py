from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.agencies.models import TenantModel
from apps.members.models import Member


class Notification(TenantModel):
    """One message sent to a member through one channel (F-E4): what, to which address, by whom,
    and whether it went out.

    There is no separate in-site message model yet: an in-site notification is stored here and this
    row *is* the message the member will read in the portal's inbox (issue 8); for that channel
    "sent" means "in the inbox". Email and SMS rows keep the address or number used at the time, so
    the record stays true when the member's profile changes later.
    """

    class Channel(models.TextChoices):
        IN_SITE = "in_site", _("In-site message")
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

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
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("message"))
    recipient = models.CharField(
        _("recipient"), max_length=254, blank=True, help_text=_("The email address or mobile number used.")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(_("error"), blank=True)
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
        ]

    def __str__(self):
        return f"{self.member_id} {self.get_channel_display()} {self.get_status_display()}"
