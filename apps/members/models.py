import datetime

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import ExtractDay, ExtractMonth
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_scopes import ScopedManager
from guardian.managers import UserObjectPermissionManager
from guardian.models import UserObjectPermissionBase

from apps.agencies.models import TenantModel
from apps.core.fields import EncryptedCharField
from apps.core.uploads import random_upload_name, validate_image_upload
from apps.core.validators import mobile_phone_validator

from . import choices
from .storage import private_storage


def _owner_field(verbose_name):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=verbose_name,
    )


class Tag(TenantModel):
    """A label of the agency's tag library (F-C3): hard conditions and soft traits."""

    name = models.CharField(_("tag"), max_length=30)
    kind = models.CharField(_("dimension"), max_length=12, choices=choices.TagKind.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta(TenantModel.Meta):
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["kind", "position", "name"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "name"], name="members_tag_name_uniq"),
        ]

    def __str__(self):
        return self.name


class Member(TenantModel):
    """A person the agency serves, from first lead to success (F-C1, F-C4).

    Owned by a presale matchmaker and, once signed, an after-sale matchmaker; either owner's role
    decides who sees the member (apps.matchmakers.selectors.visible_to). Ordered vocabularies are
    integers and tags an integer array, so both the list filters and the match engine compare them
    in SQL on indexes.
    """

    Gender = choices.Gender
    Status = choices.Status
    Source = choices.Source

    member_no = models.CharField(_("member number"), max_length=20, editable=False)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=6, choices=choices.Gender.choices)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    # Month * 100 + day, kept by PostgreSQL: birthday lists ask "which MMDD values" on an index.
    birth_md = models.GeneratedField(
        expression=ExtractMonth("birth_date") * 100 + ExtractDay("birth_date"),
        output_field=models.PositiveSmallIntegerField(null=True),
        db_persist=True,
    )
    height_cm = models.PositiveSmallIntegerField(
        _("height (cm)"), null=True, blank=True, validators=[MinValueValidator(120), MaxValueValidator(230)]
    )
    weight_kg = models.PositiveSmallIntegerField(
        _("weight (kg)"), null=True, blank=True, validators=[MinValueValidator(30), MaxValueValidator(200)]
    )
    education = models.PositiveSmallIntegerField(
        _("education"), choices=choices.Education.choices, null=True, blank=True
    )
    occupation = models.CharField(_("occupation"), max_length=50, blank=True)
    industry = models.CharField(_("industry"), max_length=50, blank=True)
    income = models.PositiveSmallIntegerField(
        _("monthly income"), choices=choices.Income.choices, null=True, blank=True
    )
    marital_status = models.CharField(
        _("marital status"), max_length=20, choices=choices.MaritalStatus.choices, blank=True
    )
    children = models.CharField(_("children"), max_length=12, choices=choices.Children.choices, blank=True)
    housing = models.CharField(_("housing"), max_length=14, choices=choices.Housing.choices, blank=True)
    has_car = models.BooleanField(_("owns a car"), null=True, blank=True)
    native_province = models.CharField(_("native province"), max_length=6, blank=True)
    native_city = models.CharField(_("native city"), max_length=6, blank=True)
    residence_province = models.CharField(_("province of residence"), max_length=6, blank=True)
    residence_city = models.CharField(_("city of residence"), max_length=6, blank=True)
    residence_district = models.CharField(_("district of residence"), max_length=9, blank=True)
    ethnicity = models.CharField(_("ethnicity"), max_length=20, blank=True)
    smoking = models.CharField(_("smoking"), max_length=10, choices=choices.Habit.choices, blank=True)
    drinking = models.CharField(_("drinking"), max_length=10, choices=choices.Habit.choices, blank=True)
    self_intro = models.TextField(_("self-introduction"), blank=True)
    past_relationships = models.TextField(_("past relationships"), blank=True, help_text=_("Visible to staff only."))

    phone = models.CharField(
        _("mobile phone"), max_length=11, validators=[mobile_phone_validator], help_text=_("11-digit mobile number.")
    )
    wechat = models.CharField(_("WeChat"), max_length=50, blank=True)
    email = models.EmailField(_("email"), blank=True)
    id_number = EncryptedCharField(_("ID number"), max_length=18, blank=True, help_text=_("Stored encrypted."))

    tag_ids = ArrayField(models.BigIntegerField(), default=list, blank=True, verbose_name=_("tags"))

    status = models.CharField(_("status"), max_length=12, choices=choices.Status.choices, default=Status.LEAD)
    service_status = models.CharField(
        _("service status"), max_length=10, choices=choices.ServiceStatus.choices, default=choices.ServiceStatus.NONE
    )
    source = models.CharField(_("source"), max_length=20, choices=choices.Source.choices, default=Source.MANUAL)
    # The member agreed to show an anonymous card (masked name, age, city, education, introduction)
    # to other logged-in members in the portal, who may then ask to meet them (F-F6).
    published = models.BooleanField(
        _("card shown to portal members"), default=False,
        help_text=_("Only with the member's consent: other members see a card without name or contacts."),
    )  # fmt: skip
    presale_owner = _owner_field(_("presale matchmaker"))
    aftersale_owner = _owner_field(_("after-sale matchmaker"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", db_index=False, editable=False
    )
    # Kept by the follow-up service (a later issue) so lists can bucket members by follow-up count.
    followup_count = models.PositiveIntegerField(_("follow-ups"), default=0, editable=False)
    last_followup_at = models.DateTimeField(_("last follow-up"), null=True, blank=True, editable=False)
    next_followup_at = models.DateTimeField(_("next follow-up"), null=True, blank=True, editable=False)
    abandon_reason = models.CharField(_("reason for abandoning"), max_length=200, blank=True, editable=False)
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
            models.Index(fields=["agency", "-created_at"], name="members_created_idx"),
            models.Index(fields=["agency", "status"], name="members_status_idx"),
            # Covering: the list's commonest count (gender + age + education, owners for visibility)
            # is answered from the index alone (55 ms → 15 ms on 200,000 members).
            models.Index(
                fields=["agency", "gender", "birth_date"],
                include=["education", "presale_owner", "aftersale_owner", "id"],
                name="members_gender_birth_idx",
            ),
            models.Index(fields=["agency", "residence_city"], name="members_city_idx"),
            models.Index(fields=["agency", "birth_md"], name="members_birthday_idx"),
            models.Index(fields=["agency", "presale_owner", "next_followup_at"], name="members_presale_due_idx"),
            models.Index(fields=["agency", "aftersale_owner", "next_followup_at"], name="members_aftersale_due_idx"),
            # GIN on the array alone: leading with agency_id needs the btree_gin extension, which the
            # embedded PostgreSQL of `make run` does not ship; PostgreSQL ANDs it with an agency index.
            GinIndex(fields=["tag_ids"], name="members_tags_gin"),
        ]

    def __str__(self):
        return f"{self.name} ({self.member_no})"

    def age_on(self, day: datetime.date) -> int | None:
        if self.birth_date is None:
            return None
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday

    @cached_property
    def zodiac(self) -> str:
        return "" if self.birth_date is None else str(choices.CHINESE_ZODIAC[(self.birth_date.year - 4) % 12])


class PartnerPreference(TenantModel):
    """What the member looks for (F-C2). Hard criteria are columns and arrays the match engine
    compares in SQL from both sides; nice-to-have tags feed the match score."""

    # One per member (unique with the agency); a foreign key because a one-to-one's own unique
    # index on member_id alone would not start with agency_id.
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="preferences", db_index=False)
    age_min = models.PositiveSmallIntegerField(
        _("age from"), null=True, blank=True, validators=[MinValueValidator(18), MaxValueValidator(99)]
    )
    age_max = models.PositiveSmallIntegerField(
        _("age to"), null=True, blank=True, validators=[MinValueValidator(18), MaxValueValidator(99)]
    )
    height_min = models.PositiveSmallIntegerField(
        _("height from (cm)"), null=True, blank=True, validators=[MinValueValidator(120), MaxValueValidator(230)]
    )
    height_max = models.PositiveSmallIntegerField(
        _("height to (cm)"), null=True, blank=True, validators=[MinValueValidator(120), MaxValueValidator(230)]
    )
    education_min = models.PositiveSmallIntegerField(
        _("minimum education"), choices=choices.Education.choices, null=True, blank=True
    )
    income_min = models.PositiveSmallIntegerField(
        _("minimum monthly income"), choices=choices.Income.choices, null=True, blank=True
    )
    marital_statuses = ArrayField(
        models.CharField(max_length=20, choices=choices.MaritalStatus.choices),
        default=list,
        blank=True,
        verbose_name=_("accepted marital statuses"),
        help_text=_("Leave empty to accept any."),
    )
    city_codes = ArrayField(
        models.CharField(max_length=6), default=list, blank=True, verbose_name=_("cities"),
        help_text=_("Where the partner should live; leave empty for anywhere."),
    )  # fmt: skip
    must_tag_ids = ArrayField(models.BigIntegerField(), default=list, blank=True, verbose_name=_("must-have tags"))
    nice_tag_ids = ArrayField(models.BigIntegerField(), default=list, blank=True, verbose_name=_("nice-to-have tags"))
    accepts_children = models.BooleanField(_("accepts a partner with children"), default=True)
    notes = models.TextField(_("other wishes"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("partner preferences")
        verbose_name_plural = _("partner preferences")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "member"], name="members_preference_member_uniq"),
            models.CheckConstraint(
                condition=models.Q(age_min__isnull=True) | models.Q(age_max__isnull=True)
                | models.Q(age_min__lte=models.F("age_max")),
                name="members_preference_age_range",
                violation_error_message=_("The lowest age must not be above the highest."),
            ),
            models.CheckConstraint(
                condition=models.Q(height_min__isnull=True) | models.Q(height_max__isnull=True)
                | models.Q(height_min__lte=models.F("height_max")),
                name="members_preference_height_range",
                violation_error_message=_("The lowest height must not be above the highest."),
            ),
        ]  # fmt: skip
        indexes = [GinIndex(fields=["must_tag_ids"], name="members_pref_must_tags_gin")]

    def __str__(self):
        return f"{self.member}"


def photo_upload_to(instance, filename):
    return random_upload_name(f"agencies/{instance.agency_id}/members/{instance.member_id}", filename)


class MemberPhoto(TenantModel):
    """A profile photo; shown to staff who may see the member now, to matched members later."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="photos", db_index=False)
    # Private like the documents: a member's photo is shown only to staff who may see the member
    # (and, later, to matched members), never from a public URL.
    image = models.ImageField(
        _("photo"), upload_to=photo_upload_to, storage=private_storage, validators=[validate_image_upload]
    )
    caption = models.CharField(_("caption"), max_length=100, blank=True)
    is_primary = models.BooleanField(_("main photo"), default=False)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["-is_primary", "id"]
        indexes = [models.Index(fields=["agency", "member"], name="members_photo_member_idx")]

    def __str__(self):
        return self.caption or self.image.name


def attachment_upload_to(instance, filename):
    return random_upload_name(f"agencies/{instance.agency_id}/members/{instance.member_id}", filename)


class MemberAttachment(TenantModel):
    """A private document (ID card, diploma, …): never public, served only through a checked view."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="attachments", db_index=False)
    kind = models.CharField(_("document"), max_length=10, choices=choices.AttachmentKind.choices)
    file = models.FileField(_("file"), upload_to=attachment_upload_to, storage=private_storage)
    original_name = models.CharField(max_length=200, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", db_index=False
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["kind", "id"]
        indexes = [models.Index(fields=["agency", "member"], name="members_attachment_member_idx")]

    def __str__(self):
        return self.original_name


class FamilyMember(TenantModel):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="family", db_index=False)
    relation = models.CharField(_("relation"), max_length=10, choices=choices.FamilyRelation.choices)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50, blank=True)
    birth_year = models.PositiveSmallIntegerField(
        _("year of birth"), null=True, blank=True, validators=[MinValueValidator(1900), MaxValueValidator(2100)]
    )
    occupation = models.CharField(_("occupation"), max_length=50, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("family member")
        verbose_name_plural = _("family members")
        ordering = ["id"]
        indexes = [models.Index(fields=["agency", "member"], name="members_family_member_idx")]

    def __str__(self):
        return f"{self.get_relation_display()} {self.name}"


class ContactReveal(TenantModel):
    """Who saw a member's full contact details, when and from where (F-C7)."""

    class Field(models.TextChoices):
        PHONE = "phone", _("mobile phone")
        WECHAT = "wechat", _("WeChat")
        ID_NUMBER = "id_number", _("ID number")
        ATTACHMENT = "attachment", _("private document")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    field = models.CharField(max_length=10, choices=Field.choices)
    ip_address = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=300, blank=True)
    revealed_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["-revealed_at"]
        indexes = [
            models.Index(fields=["agency", "member", "-revealed_at"], name="members_reveal_member_idx"),
            models.Index(fields=["agency", "user", "-revealed_at"], name="members_reveal_user_idx"),
        ]

    def __str__(self):
        return f"{self.user_id} → {self.member_id}.{self.field}"


class MemberExport(TenantModel):
    """Every export of member data: who, when, how many rows and with which filters (F-C8)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    row_count = models.PositiveIntegerField()
    filters = models.JSONField(default=dict)
    revealed = models.BooleanField(default=False)
    ip_address = models.GenericIPAddressField(null=True)
    exported_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["-exported_at"]
        indexes = [models.Index(fields=["agency", "-exported_at"], name="members_export_time_idx")]

    def __str__(self):
        return f"{self.user_id}: {self.row_count}"


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
