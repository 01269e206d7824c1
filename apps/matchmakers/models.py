from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
    name = models.CharField(_("name"), max_length=50, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
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

    def __str__(self):
        return self.name or self.username

    def get_full_name(self):
        return self.name or self.username

    def get_short_name(self):
        return self.name or self.username
