from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.agencies.models import TenantModel
from apps.core.validators import mobile_phone_validator
from apps.members.models import Member


def _user_field(verbose_name, **kwargs):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=verbose_name,
        **kwargs,
    )


class FollowUp(TenantModel):
    """One contact with a member or lead (F-E3): how, what was said, what came of it, what next."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone call")
        WECHAT = "wechat", _("WeChat")
        VISIT = "visit", _("Visit")
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")
        MESSAGE = "message", _("In-site message")
        SITE = "site", _("Public site")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="followups", db_index=False)
    author = _user_field(_("by"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    content = models.TextField(_("content"))
    result = models.CharField(_("result"), max_length=200, blank=True)
    next_followup_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["agency", "member", "-created_at"], name="followups_member_time_idx")]

    def __str__(self):
        return f"{self.member_id} {self.get_channel_display()}"


class Assignment(TenantModel):
    """One change of a member's owner (F-D2): from whom, to whom, by whom, when and why."""

    class Role(models.TextChoices):
        PRESALE = "presale", _("Presale matchmaker")
        AFTERSALE = "aftersale", _("After-sale matchmaker")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="assignments", db_index=False)
    role = models.CharField(_("as"), max_length=10, choices=Role.choices)
    from_user = _user_field(_("from"), null=True, blank=True)
    to_user = _user_field(_("to"), null=True, blank=True)
    assigned_by = _user_field(_("by"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["agency", "member", "-created_at"], name="followups_assign_member_idx")]

    def __str__(self):
        return f"{self.member_id}: {self.from_user_id} → {self.to_user_id}"


class Consultation(TenantModel):
    """A question left on the agency's public site (F-E5): a lead before it is a member.

    pending → assigned → converted (a member, with the message as its first follow-up) or closed.
    A consultation from a phone the agency already has is linked to that member on arrival.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ASSIGNED = "assigned", _("Assigned")
        CONVERTED = "converted", _("Converted")
        CLOSED = "closed", _("Closed")

    OPEN_STATUSES = (Status.PENDING, Status.ASSIGNED)

    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("mobile phone"), max_length=11, validators=[mobile_phone_validator])
    message = models.TextField(_("message"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    assigned_to = _user_field(_("assigned to"), null=True, blank=True)
    member = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False,
        verbose_name=_("member"),
    )  # fmt: skip
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    close_reason = models.CharField(_("reason for closing"), max_length=200, blank=True)
    handled_by = _user_field(_("handled by"), null=True, blank=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["agency", "status", "-created_at"], name="followups_consult_status_idx"),
            models.Index(fields=["agency", "assigned_to", "status"], name="followups_consult_assignee_idx"),
            models.Index(fields=["agency", "member"], name="followups_consult_member_idx"),
            models.Index(fields=["agency", "phone"], name="followups_consult_phone_idx"),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES
