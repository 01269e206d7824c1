"""The OElove sync (F-H2): where an agency's OElove site is, what each run did, and what it brought in.

Members themselves live in apps.members; this app keeps the link from an OElove user id to the
member (with a hash of the mapped profile, so an unchanged profile costs nothing), the member's
site activity for the member analysis (F-C6), VIP history, the (time, id) watermark of every
append-only table, and what a person has to decide (duplicates that match more than one member).
"""

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.agencies.models import Agency, TenantModel
from apps.core.fields import EncryptedCharField, user_field
from apps.members.models import Member

# Interpolated into SQL as part of table names, so it is validated strictly everywhere it is used.
TABLE_PREFIX_RE = r"^[A-Za-z0-9_]{0,20}$"
table_prefix_validator = RegexValidator(
    TABLE_PREFIX_RE, _("Use at most 20 letters, digits or underscores, such as oepre_.")
)
host_validator = RegexValidator(
    r"^[A-Za-z0-9.:\-]{1,253}$", _("Enter a host name or IP address, such as db.example.com or 10.0.0.5.")
)


class OeloveSource(TenantModel):
    """The OElove site database of an agency: one per agency, read through a read-only account."""

    agency = models.OneToOneField(
        Agency, on_delete=models.CASCADE, related_name="oelove_source", editable=False, verbose_name=_("agency")
    )
    host = models.CharField(
        _("database host"), max_length=253, validators=[host_validator],
        help_text=_("Host name or IP address of the OElove site's MySQL/MariaDB server, ideally a replica."),
    )  # fmt: skip
    port = models.PositiveIntegerField(
        _("port"), default=3306, validators=[MinValueValidator(1), MaxValueValidator(65535)],
        help_text=_("Usually 3306."),
    )  # fmt: skip
    database = models.CharField(
        _("database name"), max_length=64, help_text=_("The database OElove was installed into.")
    )
    user = models.CharField(_("user name"), max_length=80, help_text=_("A read-only account is enough and is safest."))
    password = EncryptedCharField(
        _("password"), max_length=128, blank=True,
        help_text=_("Stored encrypted. Leave empty to keep the saved password."),
    )  # fmt: skip
    table_prefix = models.CharField(
        _("table prefix"), max_length=20, default="oepre_", blank=True, validators=[table_prefix_validator],
        help_text=_("The prefix chosen when OElove was installed; oepre_ by default."),
    )  # fmt: skip
    enabled = models.BooleanField(
        _("sync automatically"), default=False, help_text=_("Include this site in the scheduled sync.")
    )
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True, editable=False)
    last_run_status = models.CharField(_("last run status"), max_length=10, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("OElove site")
        verbose_name_plural = _("OElove sites")

    def __str__(self):
        return f"{self.user}@{self.host}:{self.port}/{self.database}"


class SyncRun(TenantModel):
    """One pass of the sync: when, how it ended, counts per table, and where a crashed pass stopped."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    source = models.ForeignKey(OeloveSource, on_delete=models.CASCADE, related_name="runs", db_index=False)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    phase = models.CharField(_("phase"), max_length=30, blank=True)
    # {table: {"read": n, "created": n, "updated": n, "unchanged": n, "skipped": n, ...}}
    counts = models.JSONField(_("counts"), default=dict)
    # Where the pass stands, saved with every committed batch: {"phase": …, "after_userid": …}.
    checkpoint = models.JSONField(default=dict, editable=False)
    resumed_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    skip_count = models.PositiveIntegerField(_("skipped rows"), default=0)
    error = models.TextField(_("error"), blank=True)
    requested_by = user_field(_("requested by"), null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["agency", "source", "-started_at"], name="integ_run_source_idx")]

    def __str__(self):
        return f"{self.source_id} {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class SyncSkip(TenantModel):
    """A source row (or one value of it) a run could not take, and why. Capped per run."""

    class Severity(models.TextChoices):
        ROW = "row", _("Row skipped")
        VALUE = "value", _("Value left empty")

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="skips", db_index=False)
    table = models.CharField(_("table"), max_length=30)
    source_id = models.CharField(_("source id"), max_length=64)
    severity = models.CharField(_("severity"), max_length=5, choices=Severity.choices, default=Severity.ROW)
    reason = models.CharField(_("reason"), max_length=300)

    class Meta(TenantModel.Meta):
        verbose_name = _("skipped row")
        verbose_name_plural = _("skipped rows")
        ordering = ["id"]
        indexes = [models.Index(fields=["agency", "run", "id"], name="integ_skip_run_idx")]

    def __str__(self):
        return f"{self.table}#{self.source_id}: {self.reason}"


class OeloveLink(TenantModel):
    """An OElove user imported as (or merged into) a member, with what the site knows beyond the profile.

    `row_hash` covers the mapped profile and partner criteria: equal hash, nothing to write.
    `status_hash` covers the site-only facts kept here (VIP, verification, log-ins), so a log-in does
    not rewrite the member. `last_seen_on` moves at most once a day, so a re-run the same day writes nothing.
    """

    oelove_userid = models.BigIntegerField(_("OElove user id"))
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    username = models.CharField(_("OElove user name"), max_length=100, blank=True)
    row_hash = models.CharField(max_length=32, blank=True)
    status_hash = models.CharField(max_length=32, blank=True)
    vip_level = models.PositiveSmallIntegerField(_("VIP level"), default=0)
    vip_start = models.DateTimeField(_("VIP since"), null=True, blank=True)
    vip_end = models.DateTimeField(_("VIP until"), null=True, blank=True)
    mobile_verified = models.BooleanField(_("mobile verified"), default=False)
    id_verified = models.BooleanField(_("ID verified"), default=False)
    video_verified = models.BooleanField(_("video verified"), default=False)
    login_count = models.PositiveIntegerField(_("log-ins"), default=0)
    last_login_at = models.DateTimeField(_("last log-in"), null=True, blank=True)
    profile_views = models.PositiveIntegerField(_("profile views received"), default=0)
    registered_at = models.DateTimeField(_("registered on the site"), null=True, blank=True)
    merged = models.BooleanField(_("merged into an existing member"), default=False)
    last_seen_on = models.DateField(_("last seen"))

    class Meta(TenantModel.Meta):
        verbose_name = _("OElove link")
        verbose_name_plural = _("OElove links")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "oelove_userid"], name="integrations_link_userid_uniq"),
        ]
        indexes = [models.Index(fields=["agency", "member"], name="integ_link_member_idx")]

    def __str__(self):
        return f"OElove {self.oelove_userid} → {self.member_id}"


class MemberActivity(TenantModel):
    """One thing a member did or received on the OElove site (F-C6), upserted by the source row's id.

    One narrow table rather than one per kind: the member analysis asks "counts per kind over a
    period" for one member, which is one index range here, and every kind has the same shape.
    """

    class Kind(models.TextChoices):
        LOGIN = "login", _("Log-in")
        VIEW_GIVEN = "view_given", _("Viewed a profile")
        VIEW_RECEIVED = "view_received", _("Profile viewed")
        MESSAGE_SENT = "message_sent", _("Message sent")
        MESSAGE_RECEIVED = "message_received", _("Message received")
        GREETING_SENT = "greeting_sent", _("Greeting sent")
        GREETING_RECEIVED = "greeting_received", _("Greeting received")
        PAYMENT = "payment", _("Payment")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    at = models.DateTimeField(_("time"))
    # No database constraint: one referential check per imported row doubled the commit time of a
    # big import; Django still joins through it and nulls it when the member is deleted.
    counterpart_member = models.ForeignKey(
        Member,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    counterpart_oelove_id = models.BigIntegerField(null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, null=True, blank=True)
    source_id = models.CharField(max_length=64)

    class Meta(TenantModel.Meta):
        verbose_name = _("member activity")
        verbose_name_plural = _("member activities")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "kind", "source_id"], name="integrations_activity_source_uniq"),
        ]
        indexes = [models.Index(fields=["agency", "member", "kind", "at"], name="integ_activity_member_idx")]

    def __str__(self):
        return f"{self.member_id} {self.kind} {self.at:%Y-%m-%d}"


class VipRecord(TenantModel):
    """A VIP membership bought on the OElove site (user_viprecord)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    level = models.PositiveSmallIntegerField(_("VIP level"))
    start = models.DateTimeField(_("start"), null=True, blank=True)
    end = models.DateTimeField(_("end"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, default=0)
    source_id = models.CharField(max_length=64)

    class Meta(TenantModel.Meta):
        verbose_name = _("VIP record")
        verbose_name_plural = _("VIP records")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "source_id"], name="integrations_vip_source_uniq"),
        ]
        indexes = [models.Index(fields=["agency", "member"], name="integ_vip_member_idx")]

    def __str__(self):
        return f"{self.member_id} VIP{self.level}"


class Watermark(TenantModel):
    """How far an append-only table has been read: the last (time, id) taken. Reads restart a little
    before it (the overlap) because MyISAM rows can appear late and ids are not in time order."""

    source = models.ForeignKey(OeloveSource, on_delete=models.CASCADE, related_name="watermarks", db_index=False)
    table = models.CharField(max_length=30)
    last_time = models.BigIntegerField(default=0)
    last_id = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "source", "table"], name="integrations_watermark_uniq"),
        ]

    def __str__(self):
        return f"{self.table} @ ({self.last_time}, {self.last_id})"


class SyncConflict(TenantModel):
    """An OElove user whose phone or email matches more than one member: a person decides."""

    class Status(models.TextChoices):
        OPEN = "open", _("To decide")
        LINKED = "linked", _("Linked")
        IGNORED = "ignored", _("Ignored")

    source = models.ForeignKey(OeloveSource, on_delete=models.CASCADE, related_name="+", db_index=False)
    oelove_userid = models.BigIntegerField(_("OElove user id"))
    username = models.CharField(_("OElove user name"), max_length=100, blank=True)
    phone = models.CharField(_("mobile phone"), max_length=11, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    candidate_ids = models.JSONField(_("matching members"), default=list)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    member = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                               db_index=False)  # fmt: skip
    resolved_by = user_field(_("decided by"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("sync conflict")
        verbose_name_plural = _("sync conflicts")
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "oelove_userid"], name="integrations_conflict_userid_uniq"),
        ]
        indexes = [models.Index(fields=["agency", "status", "-created_at"], name="integ_conflict_open_idx")]

    def __str__(self):
        return f"OElove {self.oelove_userid}: {self.status}"
