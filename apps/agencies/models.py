from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from apps.core.uploads import random_upload_name, validate_image_upload

RESERVED_SLUGS = {"www", "admin", "api", "static", "media", "platform", "mail", "staff", "portal"}


def validate_slug_not_reserved(value: str) -> None:
    """Slugs become host names (<slug>.<base domain>); these would shadow the platform's own."""
    if value in RESERVED_SLUGS:
        raise ValidationError(_("“%(slug)s” is reserved; please choose another slug."), params={"slug": value})


slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$",
    _("Use 3-40 lower-case letters, digits or hyphens, starting and ending with a letter or digit."),
)


class Agency(models.Model):
    """A matchmaking agency: the tenant. Every agency-owned row points here."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    slug = models.CharField(
        _("slug"),
        max_length=40,
        unique=True,
        validators=[slug_validator, validate_slug_not_reserved],
        help_text=_("Used in the agency's address: <slug>.<base domain> or /a/<slug>/."),
    )
    name = models.CharField(_("name"), max_length=100)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.slug})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class AgencyDomain(models.Model):
    """A custom domain that serves one agency's site and back office (besides <slug>.<base>)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="domains", verbose_name=_("agency"))
    host = models.CharField(
        _("host"),
        max_length=253,
        unique=True,
        validators=[RegexValidator(r"^[a-z0-9.-]+$", _("Enter a lower-case host name such as crm.example.com."))],
    )

    class Meta:
        verbose_name = _("custom domain")
        verbose_name_plural = _("custom domains")

    def __str__(self):
        return self.host


class TenantModel(models.Model):
    """Base of every agency-owned model.

    The default manager only answers inside an agency scope (set per request and per task) and
    raises otherwise, so a forgotten filter fails closed instead of reading every agency's rows.
    Platform code that must cross agencies says so with `Model.unscoped`.
    """

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="+", editable=False, verbose_name=_("agency")
    )

    objects = ScopedManager(agency="agency")
    unscoped = models.Manager()  # noqa: DJ012 - objects must stay first: it is the default manager

    class Meta:
        abstract = True
        constraints = [
            # Lets a later Citus deployment make (agency_id, id) the distributed primary key.
            models.UniqueConstraint(fields=["agency", "id"], name="%(app_label)s_%(class)s_agency_id_uniq"),
        ]


def site_upload_to(instance, filename):
    return random_upload_name(f"agencies/{instance.agency_id}/site", filename)


# Member fields an agency may show on its public registration page (F-A3), in display order. Name,
# gender and mobile phone are always shown and required. "residence_city" stands for the province
# and city of residence together: the visitor picks a city and its province follows.
REGISTRATION_FIELD_CHOICES = [
    ("birth_date", _("Date of birth")),
    ("height_cm", _("Height (cm)")),
    ("education", _("Education")),
    ("income", _("Monthly income")),
    ("marital_status", _("Marital status")),
    ("residence_city", _("Province and city of residence")),
    ("occupation", _("Occupation")),
    ("wechat", _("WeChat")),
    ("email", _("Email")),
    ("self_intro", _("Self-introduction")),
]


def default_registration_fields() -> list[str]:
    return ["birth_date", "education", "marital_status", "residence_city"]


class SiteSettings(TenantModel):
    """What the agency's public site shows (F-A1). One row per agency, created with the agency."""

    agency = models.OneToOneField(
        Agency, on_delete=models.CASCADE, related_name="site_settings", editable=False, verbose_name=_("agency")
    )
    site_name = models.CharField(_("site name"), max_length=100, help_text=_("Shown in the header of the public site."))
    logo = models.ImageField(
        _("logo"),
        upload_to=site_upload_to,
        blank=True,
        validators=[validate_image_upload],
        help_text=_("JPEG, PNG, GIF or WebP, at most 5 MB."),
    )
    phone = models.CharField(
        _("contact phone"),
        max_length=30,
        blank=True,
        validators=[
            RegexValidator(
                r"^[0-9+\-() ]{5,30}$",
                _("Enter a phone number using digits, spaces, +, - or brackets, such as 0571-88886666."),
            )
        ],
        help_text=_("A landline or mobile number visitors can call."),
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    logo_optimized = models.BooleanField(default=False, editable=False)
    about = models.TextField(
        _("about us"),
        blank=True,
        help_text=_("Introduce the agency. Basic formatting (paragraphs, bold, lists, links) is kept."),
    )
    showcase_phone = models.BooleanField(
        _("publish matchmakers' phone numbers"), default=False, help_text=_("On the public matchmaker pages.")
    )
    showcase_wechat = models.BooleanField(_("publish matchmakers' WeChat"), default=True)
    showcase_qq = models.BooleanField(_("publish matchmakers' QQ"), default=False)
    showcase_email = models.BooleanField(_("publish matchmakers' email"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    registration_fields = ArrayField(
        models.CharField(max_length=20, choices=REGISTRATION_FIELD_CHOICES),
        default=default_registration_fields,
        blank=True,
        verbose_name=_("fields of the registration page"),
        help_text=_("Name, gender and mobile phone are always asked."),
    )
    registration_required = ArrayField(
        models.CharField(max_length=20, choices=REGISTRATION_FIELD_CHOICES),
        default=list,
        blank=True,
        verbose_name=_("required fields of the registration page"),
        help_text=_("A required field is always shown."),
    )

    class Meta(TenantModel.Meta):
        verbose_name = _("site settings")
        verbose_name_plural = _("site settings")

    def __str__(self):
        return self.site_name


class SiteImage(TenantModel):
    """A banner (carousel at the top of the home page) or an advertisement image."""

    class Kind(models.TextChoices):
        BANNER = "banner", _("Banner")
        AD = "ad", _("Advertisement")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.BANNER)
    image = models.ImageField(
        _("image"),
        upload_to=site_upload_to,
        validators=[validate_image_upload],
        help_text=_("JPEG, PNG, GIF or WebP, at most 5 MB. Banners look best at 1920×600."),
    )
    caption = models.CharField(_("caption"), max_length=100, blank=True)
    link_url = models.URLField(_("link"), blank=True, help_text=_("Optional page the image opens."))
    position = models.PositiveSmallIntegerField(_("position"), default=0, help_text=_("Smaller numbers come first."))
    optimized = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("site image")
        verbose_name_plural = _("site images")
        ordering = ["kind", "position", "id"]
        indexes = [models.Index(fields=["agency", "kind", "position"], name="agencies_siteimage_kind_idx")]

    def __str__(self):
        return self.caption or self.image.name


class AgencySequence(TenantModel):
    """Per-agency counters for human-readable numbers (member numbers, contract numbers, …)."""

    name = models.CharField(max_length=30)
    last_value = models.PositiveBigIntegerField(default=0)

    class Meta(TenantModel.Meta):
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "name"], name="agencies_sequence_name_uniq"),
        ]

    def __str__(self):
        return f"{self.name}={self.last_value}"
