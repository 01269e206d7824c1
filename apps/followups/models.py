from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.agencies.models import TenantModel
from apps.core.fields import user_field
from apps.core.validators import mobile_phone_validator
from apps.members.models import Member


class FollowUp(TenantModel):
    """One contact with a member or lead (F-E3): how, what was said, what came of it, what next.

    A service note (F-F2) is the after-sale matchmaker's record of serving a signed member; it counts
    as a follow-up on the member like any other.
    """

    class Kind(models.TextChoices):
        FOLLOWUP = "followup", _("Follow-up")
        SERVICE_NOTE = "service_note", _("Service note")

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone call")
        WECHAT = "wechat", _("WeChat")
        VISIT = "visit", _("Visit")
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")
        MESSAGE = "message", _("In-site message")
        SITE = "site", _("Public site")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="followups", db_index=False)
    author = user_field(_("by"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.FOLLOWUP)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    content = models.TextField(_("content"))
    result = models.CharField(_("result"), max_length=200, blank=True)
    next_followup_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["agency", "member", "-created_at"], name="followups_member_time_idx"),
            # The dashboards count today's first follow-ups live (apps.reports.rollups).
            models.Index(fields=["agency", "created_at"], name="followups_created_idx"),
        ]

    def __str__(self):
        return f"{self.member_id} {self.get_channel_display()}"


class Assignment(TenantModel):
    """One change of a member's owner (F-D2): from whom, to whom, by whom, when and why."""

    class Role(models.TextChoices):
        PRESALE = "presale", _("Presale matchmaker")
        AFTERSALE = "aftersale", _("After-sale matchmaker")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="assignments", db_index=False)
    role = models.CharField(_("as"), max_length=10, choices=Role.choices)
    from_user = user_field(_("from"), null=True, blank=True)
    to_user = user_field(_("to"), null=True, blank=True)
    assigned_by = user_field(_("by"))
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
    assigned_to = user_field(_("assigned to"), null=True, blank=True)
    member = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False,
        verbose_name=_("member"),
    )  # fmt: skip
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    close_reason = models.CharField(_("reason for closing"), max_length=200, blank=True)
    handled_by = user_field(_("handled by"), null=True, blank=True)
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


# The member statuses of after-sale service (F-F1): signed and waiting, being served, or paused.
AFTERSALE_STATUSES = (Member.Status.SIGNED, Member.Status.IN_SERVICE, Member.Status.PAUSED)


class ServiceStage(TenantModel):
    """Where a member in after-sale service is in the agency's workflow (F-F9), and until when.

    One row per member. The stage's owner is the member's after-sale matchmaker, read through the
    member rather than copied here, so reassignments and hand-overs never leave a stale owner behind.
    """

    class Stage(models.TextChoices):
        # In workflow order: moves go forward, except continuing → meeting arranged for another meeting.
        CONSULTED = "consulted", _("Consulted")
        FIRST_RECOMMENDATION = "first_recommendation", _("First recommendation")
        MEETING_ARRANGED = "meeting_arranged", _("Meeting arranged")
        FEEDBACK = "feedback", _("Feedback")
        CONTINUING = "continuing", _("Continuing")
        SUCCESS = "success", _("Success")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="service_stages", db_index=False)
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    entered_at = models.DateTimeField(_("since"))
    due_at = models.DateTimeField(_("due"), null=True, blank=True, help_text=_("Empty once the service succeeded."))

    class Meta(TenantModel.Meta):
        verbose_name = _("service stage")
        verbose_name_plural = _("service stages")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "member"], name="followups_stage_member_uniq"),
        ]
        indexes = [
            # The overdue lists: open stages by due time.
            models.Index(
                fields=["agency", "due_at"], condition=~models.Q(stage="success"), name="followups_stage_due_idx"
            ),
        ]

    def __str__(self):
        return f"{self.member_id}: {self.get_stage_display()}"


class ServiceStageChange(TenantModel):
    """One move of a member's service stage: who (nobody for the system), when, from, to, and the new due time."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    from_stage = models.CharField(_("from"), max_length=20, choices=ServiceStage.Stage.choices, blank=True)
    to_stage = models.CharField(_("to"), max_length=20, choices=ServiceStage.Stage.choices)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    changed_by = user_field(_("by"), null=True, blank=True)
    changed_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("service stage change")
        verbose_name_plural = _("service stage changes")
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["agency", "member", "-changed_at"], name="followups_stage_change_idx"),
            models.Index(fields=["agency", "changed_at"], name="followups_stage_changed_idx"),  # dashboards, live
        ]

    def __str__(self):
        return f"{self.member_id}: {self.from_stage or '-'} → {self.to_stage}"


MAX_DEADLINE_HOURS = 24 * 365


def _hours_field(verbose_name, default):
    return models.PositiveIntegerField(
        verbose_name, default=default, validators=[MinValueValidator(1), MaxValueValidator(MAX_DEADLINE_HOURS)],
        help_text=_("Hours from entering the stage until the next step is due (1 to 8760, a year)."),
    )  # fmt: skip


class ServiceWorkflowSettings(TenantModel):
    """The agency's deadline for each service stage, in hours (F-F9). Success has none."""

    consulted_hours = _hours_field(_("consulted"), 72)
    first_recommendation_hours = _hours_field(_("first recommendation"), 168)
    meeting_arranged_hours = _hours_field(_("meeting arranged"), 168)
    feedback_hours = _hours_field(_("feedback"), 24)
    continuing_hours = _hours_field(_("continuing"), 720)

    class Meta(TenantModel.Meta):
        verbose_name = _("service workflow settings")
        verbose_name_plural = _("service workflow settings")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency"], name="followups_workflow_settings_uniq"),
        ]

    def __str__(self):
        return str(self._meta.verbose_name)

    def deadline_hours(self, stage: str) -> int | None:
        """The hours allowed in `stage`; None for success, which ends the workflow."""
        if stage == ServiceStage.Stage.SUCCESS:
            return None
        return getattr(self, f"{stage}_hours")
