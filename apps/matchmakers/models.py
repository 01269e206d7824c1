import uuid

from django.contrib.auth.models import AbstractBaseUser, Group, PermissionsMixin
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_scopes import ScopedManager
from mptt.managers import TreeManager
from mptt.models import MPTTModel, TreeForeignKey

from apps.agencies.models import TenantModel
from apps.core.uploads import random_upload_name, validate_image_upload
from apps.core.validators import mobile_phone_validator

from .permissions import permission_choices


class ModulePermission(models.Model):
    """Carries the module × action permissions of F-B2; it has no table of its own."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = permission_choices()

    def __str__(self):
        return "module permissions"


class Role(MPTTModel, TenantModel):
    """A node of the agency's role tree (F-B1). Users with a role see the records of every role below it.

    Permissions are stored on a Django Group owned by the role, so Django's permission machinery
    and admin understand them. Each agency has exactly one root role (the agency admin).
    """

    name = models.CharField(_("name"), max_length=50)
    parent = TreeForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        db_index=False,  # served by the (agency, parent, name) unique index
        verbose_name=_("parent role"),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    group = models.ForeignKey(Group, on_delete=models.PROTECT, editable=False, related_name="roles", db_index=False)
    # The permission cache key: a fresh token whenever the role's permissions change, so a cache
    # entry can never be mistaken for another role's (ids repeat when a database is recreated).
    permissions_token = models.UUIDField(default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # django-mptt's bookkeeping, declared here so tree_id gets no index of its own (mptt adds one on
    # (tree_id, lft); tree ids are unique across agencies, so it never mixes them).
    lft = models.PositiveIntegerField(editable=False)
    rght = models.PositiveIntegerField(editable=False)
    tree_id = models.PositiveIntegerField(editable=False)
    level = models.PositiveIntegerField(editable=False)

    objects = ScopedManager(agency="agency")
    # django-mptt's own bookkeeping (it picks the first TreeManager) must not be scoped: it numbers
    # trees over the whole table. Its queries are keyed by tree_id, which no two agencies share.
    tree = TreeManager()

    class MPTTMeta:
        order_insertion_by = ["name"]

    class Meta(TenantModel.Meta):
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["agency", "parent", "name"], nulls_distinct=False, name="matchmakers_role_sibling_name_uniq"
            ),
            models.UniqueConstraint(
                fields=["agency"], condition=Q(parent__isnull=True), name="matchmakers_role_one_root_per_agency"
            ),
            models.UniqueConstraint(fields=["agency", "group"], name="matchmakers_role_group_uniq"),
        ]
        indexes = [models.Index(fields=["agency", "tree_id", "lft", "rght"], name="matchmakers_role_range_idx")]

    def __str__(self):
        return self.name


def avatar_upload_to(instance, filename):
    return random_upload_name(f"agencies/{instance.agency_id}/staff", filename)


class UserManager(DjangoUserManager):
    """Django's manager, with `createsuperuser` creating platform operators (no agency)."""

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields["agency"] = None
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in to the back office: an agency's staff, or a platform operator.

    Staff belong to exactly one agency and their username is unique within it; platform operators
    have no agency and only use the Django admin. The default manager is deliberately unscoped
    because Django's auth machinery needs it; the authentication backend and every selector of
    staff filter by the agency.
    """

    agency = models.ForeignKey(
        "agencies.Agency",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("agency"),
        help_text=_("Empty for platform operators."),
    )
    username = models.CharField(
        _("account"),
        max_length=50,
        validators=[UnicodeUsernameValidator()],
        help_text=_("Letters, digits and @/./+/-/_ only; cannot be changed later."),
    )
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50, blank=True)
    role = models.ForeignKey(
        Role, on_delete=models.PROTECT, null=True, blank=True, related_name="users", verbose_name=_("role")
    )
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True, validators=[mobile_phone_validator])
    wechat = models.CharField(_("WeChat"), max_length=50, blank=True)
    qq = models.CharField(
        _("QQ"),
        max_length=15,
        blank=True,
        validators=[RegexValidator(r"^[1-9]\d{4,14}$", _("A QQ number is 5-15 digits."))],
    )
    seniority_years = models.PositiveSmallIntegerField(
        _("years of experience"), default=0, validators=[MaxValueValidator(60)]
    )
    bio = models.TextField(_("bio"), blank=True, help_text=_("Shown on the public matchmaker page."))
    motto = models.CharField(_("motto"), max_length=100, blank=True)
    avatar = models.ImageField(
        _("photo"),
        upload_to=avatar_upload_to,
        blank=True,
        validators=[validate_image_upload],
        help_text=_("JPEG, PNG, GIF or WebP, at most 5 MB."),
    )
    show_in_showcase = models.BooleanField(
        _("show on the public site"), default=False, help_text=_("List this matchmaker on the agency's public site.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("platform operator"), default=False, help_text=_("May use the platform's Django admin.")
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(fields=["agency", "username"], name="matchmakers_user_agency_username_uniq"),
            models.UniqueConstraint(
                fields=["username"], condition=Q(agency__isnull=True), name="matchmakers_user_platform_username_uniq"
            ),
            # Only platform operators (no agency) may be Django-admin staff or superusers.
            models.CheckConstraint(
                condition=Q(agency__isnull=True) | Q(is_staff=False, is_superuser=False),
                name="matchmakers_user_agency_staff_not_operator",
            ),
        ]
        indexes = [models.Index(fields=["agency", "role"], name="matchmakers_user_role_idx")]

    def __str__(self):
        return self.name or self.username

    def get_full_name(self):
        return self.name or self.username

    def get_short_name(self):
        return self.name or self.username


class StaffHandover(TenantModel):
    """A leaving (or reorganised) matchmaker's records moved to a colleague in one action (F-B4)."""

    from_user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("from")
    )
    to_user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("to"))
    handed_over_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("by")
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    counts = models.JSONField(_("records moved"), default=dict)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("hand-over")
        verbose_name_plural = _("hand-overs")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["agency", "from_user"], name="matchmakers_handover_from_idx"),
            models.Index(fields=["agency", "to_user"], name="matchmakers_handover_to_idx"),
        ]

    def __str__(self):
        return f"{self.from_user} → {self.to_user}"
