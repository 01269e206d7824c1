from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_scopes import ScopedManager
from guardian.managers import UserObjectPermissionManager
from guardian.models import UserObjectPermissionBase

from apps.agencies.models import TenantModel
from apps.core.validators import mobile_phone_validator


class Member(TenantModel):
    """A person the agency serves, from first lead to success (F-C1, F-C4).

    Owned by a presale matchmaker and, once signed, an after-sale matchmaker; either owner's role
    decides who sees the member (apps.matchmakers.selectors.visible_to).
    """

    class Gender(models.TextChoices):
        MALE = "male", _("Male")
        FEMALE = "female", _("Female")

    class Status(models.TextChoices):
        LEAD = "lead", _("Lead")
        FOLLOWING = "following", _("Following up")
        SIGNED = "signed", _("Signed")
        IN_SERVICE = "in_service", _("In service")
        PAUSED = "paused", _("Paused")
        SUCCESS = "success", _("Success")
        ABANDONED = "abandoned", _("Abandoned")

    class Source(models.TextChoices):
        SITE_REGISTRATION = "site_registration", _("Site registration")
        CONSULTATION = "consultation", _("Consultation")
        OELOVE = "oelove", _("OElove sync")
        MANUAL = "manual", _("Manual entry")
        IMPORT = "import", _("Excel import")

    member_no = models.CharField(_("member number"), max_length=20, editable=False)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=6, choices=Gender.choices)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    phone = models.CharField(
        _("mobile phone"), max_length=11, validators=[mobile_phone_validator], help_text=_("11-digit mobile number.")
    )
    wechat = models.CharField(_("WeChat"), max_length=50, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.LEAD)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.MANUAL)
    presale_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("presale matchmaker"),
    )
    aftersale_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("after-sale matchmaker"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", db_index=False, editable=False
    )
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "member_no"], name="members_member_no_uniq"),
            models.UniqueConstraint(fields=["agency", "phone"], name="members_member_phone_uniq"),
        ]
        indexes = [
            models.Index(fields=["agency", "presale_owner"], name="members_presale_owner_idx"),
            models.Index(fields=["agency", "aftersale_owner"], name="members_aftersale_owner_idx"),
            models.Index(fields=["agency", "-created_at"], name="members_created_idx"),
            models.Index(fields=["agency", "status"], name="members_status_idx"),
        ]

    def __str__(self):
        return f"{self.name} ({self.member_no})"


class MemberShare(UserObjectPermissionBase, TenantModel):
    """One member shared with one staff user (F-B3), as a django-guardian direct foreign-key row.

    Guardian's object-permission checks read it (`user.has_perm("members.view_member", member)`);
    the visibility selector reads it in the same SQL statement as the role-tree rule.
    """

    content_object = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="shares", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member_shares", db_index=False
    )
    permission = models.ForeignKey("auth.Permission", on_delete=models.CASCADE, related_name="+", db_index=False)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", db_index=False
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(_manager_class=UserObjectPermissionManager, agency="agency")
    unscoped = UserObjectPermissionManager()

    class Meta(TenantModel.Meta):
        verbose_name = _("member share")
        verbose_name_plural = _("member shares")
        unique_together = ()
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["agency", "user", "content_object", "permission"], name="members_share_uniq"
            ),
        ]
        indexes = [models.Index(fields=["agency", "content_object"], name="members_share_member_idx")]
