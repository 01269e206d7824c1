"""What the periodic jobs did (F-H1): one JobRun per agency and run, the reminders they left for
staff, and the keys that make every job idempotent."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.agencies.models import TenantModel
from apps.core.fields import user_field
from apps.members.models import Member


class JobRun(TenantModel):
    """One run of one job for one agency: when, how it ended, what it counted."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    job = models.CharField(_("job"), max_length=40)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["agency", "-started_at"], name="jobs_run_recent_idx"),
            models.Index(fields=["agency", "job", "-started_at"], name="jobs_run_job_idx"),
        ]

    def __str__(self):
        return f"{self.job} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 2)


class Reminder(TenantModel):
    """Something a job wants a staff user to do: call a member on their birthday, renew a contract,
    catch up on an overdue step, look at new matches. `key` makes each reminder once-only."""

    class Kind(models.TextChoices):
        BIRTHDAY = "birthday", _("Birthday")
        CONTRACT_EXPIRY = "contract_expiry", _("Contract ending")
        OVERDUE_FOLLOWUP = "overdue_followup", _("Overdue follow-up")
        OVERDUE_STAGE = "overdue_stage", _("Overdue service step")
        NEW_MATCHES = "new_matches", _("New matches")
        SILENT = "silent", _("Silent members")

    user = user_field(_("for"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False,
        verbose_name=_("member"),
    )  # fmt: skip
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    due_on = models.DateField(_("due on"))
    key = models.CharField(max_length=200, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["done_at", "due_on", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "key"], name="jobs_reminder_key_uniq"),
        ]
        indexes = [
            models.Index(
                fields=["agency", "user", "due_on"], condition=Q(done_at__isnull=True), name="jobs_reminder_open_idx"
            ),
        ]

    def __str__(self):
        return self.title


class JobMark(TenantModel):
    """A once-only key for what a job did outside its own tables (a greeting sent to a member): a
    second run of the same day finds the key and does nothing."""

    key = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "key"], name="jobs_mark_key_uniq"),
        ]

    def __str__(self):
        return self.key


class JobSettings(TenantModel):
    """What an agency wants its jobs to do beyond reminding staff (F-C9, F-H3, 001 §2.3)."""

    class Channel(models.TextChoices):
        OFF = "", _("Do not send")
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")
        IN_SITE = "in_site", _("In-site message")

    agency = models.OneToOneField(
        "agencies.Agency", on_delete=models.CASCADE, related_name="job_settings", editable=False,
        verbose_name=_("agency"),
    )  # fmt: skip
    birthday_greeting_channel = models.CharField(
        _("birthday greeting to the member"), max_length=10, choices=Channel.choices, blank=True,
        help_text=_("Sent on the morning of the birthday in the agency's wording (message templates)."),
    )  # fmt: skip
    contract_expiry_channel = models.CharField(
        _("contract expiry notice to the member"), max_length=10, choices=Channel.choices, blank=True,
        help_text=_("Sent 30, 7 and 1 days before the service ends."),
    )  # fmt: skip
    discovery_threshold = models.PositiveSmallIntegerField(
        _("new-match score threshold"), default=75,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("New candidates at or above this match score are reported to the member's matchmaker."),
    )  # fmt: skip
    silent_days = models.PositiveSmallIntegerField(
        _("silent after (days)"), default=30, validators=[MinValueValidator(7), MaxValueValidator(365)],
        help_text=_("Members with no follow-up, log-in or activity for this long are listed as silent."),
    )  # fmt: skip
    discovery_ran_at = models.DateTimeField(_("new-match discovery last ran at"), null=True, blank=True,
                                            editable=False)  # fmt: skip
    # With discovery_ran_at, where a capped run stopped: (change time, member id), so members sharing
    # one change time across the cut (a bulk import stamps thousands alike) are not passed over.
    discovery_last_member_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta(TenantModel.Meta):
        verbose_name = _("job settings")
        verbose_name_plural = _("job settings")

    def __str__(self):
        return str(self.agency_id)
