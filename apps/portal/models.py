"""The member portal's own records: accounts, invitations, reset codes, profile change requests and
the audit of staff who log in as a member (F-F3).

A member's password lives here, not on the staff User model: members are not staff, never reach the
back office and are authenticated by the portal's own session key (apps.portal.auth).
"""

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.agencies.models import TenantModel
from apps.core.fields import user_field
from apps.members.models import Member


class MemberAccount(TenantModel):
    """A member's portal log-in: created when they accept an invitation and choose a password."""

    # A foreign key made unique with the agency: a one-to-one's own index would not start with agency_id.
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="portal_accounts", db_index=False, verbose_name=_("member")
    )
    password = models.CharField(_("password"), max_length=128)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive accounts cannot log in; the member keeps their data.")
    )
    activated_at = models.DateTimeField(_("activated at"), auto_now_add=True)
    last_login = models.DateTimeField(_("last log-in"), null=True, blank=True)
    # Changes with every password change, so sessions opened with the old password end (see auth).
    password_changed_at = models.DateTimeField(_("password changed at"), default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("portal account")
        verbose_name_plural = _("portal accounts")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "member"], name="portal_account_member_uniq"),
        ]

    def __str__(self):
        return str(self.member_id)

    def set_password(self, raw_password: str) -> None:
        self.password = make_password(raw_password)
        self.password_changed_at = timezone.now()

    def check_password(self, raw_password: str) -> bool:
        return check_password(raw_password, self.password)


class MemberInvitation(TenantModel):
    """A one-time link that lets a member choose their portal password.

    Only a hash of the token is stored: the link in the member's SMS or email is the only copy.
    """

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False,
                               verbose_name=_("member"))  # fmt: skip
    token_hash = models.CharField(max_length=64, editable=False)
    channel = models.CharField(_("sent by"), max_length=10, choices=Channel.choices)
    sent_by = user_field(_("invited by"))
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    # A newer invitation replaces the older ones, so only the last link in the member's inbox works.
    revoked_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("portal invitation")
        verbose_name_plural = _("portal invitations")
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "token_hash"], name="portal_invitation_token_uniq"),
        ]
        indexes = [models.Index(fields=["agency", "member", "-created_at"], name="portal_invite_member_idx")]

    def __str__(self):
        return f"{self.member_id} {self.created_at:%Y-%m-%d}"

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class ResetCode(TenantModel):
    """A six-digit code sent by SMS to reset a forgotten password; hashed, short-lived, few tries."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    code_hash = models.CharField(max_length=128, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("password reset code")
        verbose_name_plural = _("password reset codes")
        indexes = [models.Index(fields=["agency", "member", "-created_at"], name="portal_resetcode_member_idx")]

    def __str__(self):
        return f"{self.member_id} {self.created_at:%Y-%m-%d %H:%M}"


class ProfileChangeRequest(TenantModel):
    """Profile changes a member submitted in the portal; applied only when their matchmaker approves.

    `changes` maps each field to {"old": …, "new": …} as stored values, so the review shows a diff and
    approval refuses (unless told to overwrite) when the profile moved on since the member saw it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False,
                               verbose_name=_("member"))  # fmt: skip
    changes = models.JSONField(_("changes"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    # Staff who submitted it while logged in as the member (F-F3), else empty.
    submitted_by_staff = user_field(_("submitted by staff"), null=True, blank=True)
    decided_by = user_field(_("decided by"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("profile change request")
        verbose_name_plural = _("profile change requests")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            # One open request per member: a new submission replaces the pending one (see services).
            models.UniqueConstraint(
                fields=["agency", "member"], condition=Q(status="pending"), name="portal_change_one_pending"
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "status", "-submitted_at"], name="portal_change_status_idx"),
            models.Index(fields=["agency", "member", "-submitted_at"], name="portal_change_member_idx"),
        ]

    def __str__(self):
        return f"{self.member_id} {self.get_status_display()}"

    @property
    def field_count(self) -> int:
        return sum(len(section) for section in self.changes.values())


class Impersonation(TenantModel):
    """One time a staff user opened the portal as a member (F-F3): who, whom, when, from where."""

    class EndReason(models.TextChoices):
        EXIT = "exit", _("Exited")
        LOGOUT = "logout", _("Staff logged out")
        REVOKED = "revoked", _("Access no longer allowed")
        REPLACED = "replaced", _("Another member opened")
        EXPIRED = "expired", _("Session expired")

    user = user_field(_("staff"))
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False,
                               verbose_name=_("member"))  # fmt: skip
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("how it ended"), max_length=10, choices=EndReason.choices, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("log-in as member")
        verbose_name_plural = _("log-ins as member")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["agency", "-started_at"], name="portal_impersonation_idx"),
            models.Index(fields=["agency", "member", "-started_at"], name="portal_imp_member_idx"),
        ]

    def __str__(self):
        return f"{self.user_id} → {self.member_id}"
