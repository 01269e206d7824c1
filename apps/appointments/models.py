"""Appointments between two members (F-F5 约见库) and success stories (F-F8).

An appointment is planned → done, cancelled or no-show. Booking it counts one appointment against
each member's effective contract (the contract is kept on the appointment so that a cancellation
gives it back to the same contract); every change writes an AppointmentEvent, which both members'
timelines show. A success story may only be published once both members consented; a check
constraint stands behind the service's rule.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.agencies.models import TenantModel
from apps.core.fields import user_field
from apps.core.uploads import random_upload_name, validate_image_upload
from apps.finance.models import Contract
from apps.matching.models import Recommendation
from apps.members.models import Member


def _member_field(verbose_name, related_name):
    return models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name=related_name, db_index=False, verbose_name=verbose_name
    )


class Appointment(TenantModel):
    """Two members meet at a time and place the matchmakers arranged."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("No-show")

    class Absent(models.TextChoices):
        MEMBER_A = "member_a", _("The first member")
        MEMBER_B = "member_b", _("The second member")
        BOTH = "both", _("Both members")

    class Outcome(models.TextChoices):
        CONTINUE = "continue", _("Continue dating")
        STOPPED = "stopped", _("Stopped")
        RELATIONSHIP = "relationship", _("In a relationship")
        ENGAGED = "engaged", _("Engaged")
        MARRIED = "married", _("Married")

    CLOSED_STATUSES = (Status.CANCELLED, Status.NO_SHOW)

    member_a = _member_field(_("first member"), "appointments_as_a")
    member_b = _member_field(_("second member"), "appointments_as_b")
    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.SET_NULL, null=True, blank=True, related_name="appointments",
        db_index=False, verbose_name=_("recommendation"),
    )  # fmt: skip
    starts_at = models.DateTimeField(_("date and time"))
    place = models.CharField(_("place"), max_length=200)
    note = models.TextField(_("note"), blank=True)
    # The after-sale matchmakers of the two members when it was booked: later hand-overs do not
    # rewrite who arranged a past meeting.
    matchmaker_a = user_field(_("matchmaker of the first member"), null=True, blank=True)
    matchmaker_b = user_field(_("matchmaker of the second member"), null=True, blank=True)
    arranged_by = user_field(_("arranged by"))
    # The contracts the booking counted against; a cancellation gives the appointment back to them.
    contract_a = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="+", db_index=False)
    contract_b = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="+", db_index=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PLANNED)
    absent = models.CharField(_("who did not come"), max_length=10, choices=Absent.choices, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    created_at = models.DateTimeField(_("booked at"), auto_now_add=True)
    # Each member confirms in the portal that they will come (F-F5); empty until they do.
    confirmed_a_at = models.DateTimeField(_("first member confirmed at"), null=True, blank=True)
    confirmed_b_at = models.DateTimeField(_("second member confirmed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = user_field(_("closed by"), null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["-starts_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(condition=~Q(member_a=F("member_b")), name="appointments_two_members"),
            models.CheckConstraint(
                condition=Q(status="no_show", absent__in=["member_a", "member_b", "both"])
                | (~Q(status="no_show") & Q(absent="")),
                name="appointments_absent_only_on_no_show",
            ),
            models.CheckConstraint(condition=Q(outcome="") | Q(status="done"), name="appointments_outcome_when_done"),
        ]
        indexes = [
            models.Index(fields=["agency", "status", "starts_at"], name="appointments_status_idx"),
            models.Index(fields=["agency", "member_a", "starts_at"], name="appointments_member_a_idx"),
            models.Index(fields=["agency", "member_b", "starts_at"], name="appointments_member_b_idx"),
            models.Index(fields=["agency", "recommendation"], name="appointments_rec_idx"),
            models.Index(fields=["agency", "contract_a"], name="appointments_contract_a_idx"),
            models.Index(fields=["agency", "contract_b"], name="appointments_contract_b_idx"),
            # The dashboards count today's bookings and closings live (apps.reports.rollups).
            models.Index(fields=["agency", "created_at"], name="appointments_created_idx"),
            models.Index(fields=["agency", "closed_at"], name="appointments_closed_idx"),
        ]

    def __str__(self):
        return f"{self.member_a} × {self.member_b} {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"

    def side_of(self, member_id: int) -> str:
        return "a" if member_id == self.member_a_id else "b"

    def other_member(self, member_id: int) -> Member:
        return self.member_b if member_id == self.member_a_id else self.member_a


class AppointmentFeedback(TenantModel):
    """What one member said after the meeting: recorded by the matchmaker, or by the member in the portal
    (then `recorded_by` is empty and `by_member` set)."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="feedback", db_index=False)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False,
                               verbose_name=_("member"))  # fmt: skip
    rating = models.PositiveSmallIntegerField(
        _("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)], help_text=_("1 (poor) to 5 (very good).")
    )
    text = models.TextField(_("what they said"), blank=True)
    wants_to_continue = models.BooleanField(_("wants to continue"))
    recorded_by = user_field(_("recorded by"), null=True, blank=True)
    by_member = models.BooleanField(_("given by the member in the portal"), default=False)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("appointment feedback")
        verbose_name_plural = _("appointment feedback")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "appointment", "member"], name="appointments_feedback_uniq"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="appointments_feedback_rating"),
            models.CheckConstraint(
                condition=Q(by_member=True) | Q(recorded_by__isnull=False), name="appointments_feedback_recorder"
            ),
        ]

    def __str__(self):
        return f"{self.appointment_id}/{self.member_id}: {self.rating}"


class AppointmentEvent(TenantModel):
    """The history of an appointment: every change, who made it and when."""

    class Kind(models.TextChoices):
        BOOKED = "booked", _("Booked")
        RESCHEDULED = "rescheduled", _("Changed")
        DONE = "done", _("Took place")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("No-show")
        FEEDBACK = "feedback", _("Feedback recorded")
        OUTCOME = "outcome", _("Outcome recorded")
        CONFIRMED = "confirmed", _("Confirmed by the member")

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(_("what"), max_length=12, choices=Kind.choices)
    actor = user_field(_("by"), null=True, blank=True)  # empty: the member, in the portal
    at = models.DateTimeField(_("when"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("appointment event")
        verbose_name_plural = _("appointment events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["agency", "appointment", "at"], name="appointments_event_idx")]

    def __str__(self):
        return f"{self.appointment_id} {self.kind}"


class SuccessStory(TenantModel):
    """A couple the agency brought together, published on its public site with both members' consent."""

    member_a = _member_field(_("first member"), "success_stories_as_a")
    member_b = _member_field(_("second member"), "success_stories_as_b")
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("story"), help_text=_("Shown on the public site. Do not write contact details here."))
    story_date = models.DateField(_("date"), help_text=_("The day they got engaged or married."))
    consent_a = models.BooleanField(_("the first member agreed to publication"), default=False)
    consent_a_by = user_field(_("consent recorded by"), null=True, blank=True)
    consent_a_at = models.DateTimeField(_("consent recorded at"), null=True, blank=True)
    consent_b = models.BooleanField(_("the second member agreed to publication"), default=False)
    consent_b_by = user_field(_("consent recorded by"), null=True, blank=True)
    consent_b_at = models.DateTimeField(_("consent recorded at"), null=True, blank=True)
    is_published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = user_field(_("published by"), null=True, blank=True)
    created_by = user_field(_("written by"))
    created_at = models.DateTimeField(_("written at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("success story")
        verbose_name_plural = _("success stories")
        ordering = ["-story_date", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(condition=~Q(member_a=F("member_b")), name="appointments_story_two_members"),
            models.CheckConstraint(
                condition=Q(is_published=False) | Q(consent_a=True, consent_b=True),
                name="appointments_story_published_with_consent",
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "is_published", "-story_date"], name="appointments_story_pub_idx"),
            models.Index(fields=["agency", "member_a"], name="appointments_story_a_idx"),
            models.Index(fields=["agency", "member_b"], name="appointments_story_b_idx"),
        ]

    def __str__(self):
        return self.title

    @property
    def may_publish(self) -> bool:
        return self.consent_a and self.consent_b


def story_photo_upload_to(instance, filename):
    return random_upload_name(f"agencies/{instance.agency_id}/stories", filename)


class StoryPhoto(TenantModel):
    """A public photo of a success story; re-encoded (no EXIF/GPS) before the public site shows it."""

    story = models.ForeignKey(SuccessStory, on_delete=models.CASCADE, related_name="photos", db_index=False)
    image = models.ImageField(
        _("photo"), upload_to=story_photo_upload_to, validators=[validate_image_upload],
        help_text=_("JPEG, PNG, GIF or WebP, at most 5 MB each."),
    )  # fmt: skip
    caption = models.CharField(_("caption"), max_length=100, blank=True)
    optimized = models.BooleanField(default=False, editable=False)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("story photo")
        verbose_name_plural = _("story photos")
        ordering = ["id"]
        indexes = [models.Index(fields=["agency", "story"], name="appointments_photo_story_idx")]

    def __str__(self):
        return self.caption or self.image.name


class EntrustRequest(TenantModel):
    """委托红娘 (F-F6): a member asks their matchmaker to arrange a meeting with a published member, or
    to find someone like a couple in a success story.

    open → assigned → recommended (a Recommendation was made from it) or declined (with a reason
    the member reads in the portal).
    """

    class Status(models.TextChoices):
        OPEN = "open", _("New")
        ASSIGNED = "assigned", _("Assigned")
        RECOMMENDED = "recommended", _("Recommended")
        DECLINED = "declined", _("Declined")

    CLOSED = (Status.RECOMMENDED, Status.DECLINED)

    member = _member_field(_("asked by"), "entrust_requests")
    target = models.ForeignKey(
        Member, on_delete=models.CASCADE, null=True, blank=True, related_name="entrusted_by", db_index=False,
        verbose_name=_("wants to meet"),
    )  # fmt: skip
    story = models.ForeignKey(
        SuccessStory, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False,
        verbose_name=_("success story"),
    )  # fmt: skip
    note = models.TextField(_("message to the matchmaker"), blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    assigned_to = user_field(_("handled by"), null=True, blank=True)
    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False,
        verbose_name=_("recommendation"),
    )  # fmt: skip
    decline_reason = models.CharField(_("reason"), max_length=300, blank=True,
                                      help_text=_("The member reads this in the portal."))  # fmt: skip
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    decided_by = user_field(_("decided by"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("entrust request")
        verbose_name_plural = _("entrust requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(condition=~Q(member=F("target")), name="appointments_entrust_not_self"),
            models.CheckConstraint(
                condition=Q(target__isnull=False) | Q(story__isnull=False), name="appointments_entrust_has_subject"
            ),
            # Asking twice to meet the same person while the first request is open is one request.
            models.UniqueConstraint(
                fields=["agency", "member", "target"], condition=Q(status__in=["open", "assigned"]),
                name="appointments_entrust_one_open",
            ),
            models.CheckConstraint(
                condition=~Q(status="declined") | ~Q(decline_reason=""), name="appointments_entrust_decline_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "status", "-created_at"], name="appt_entrust_status_idx"),
            models.Index(fields=["agency", "member", "-created_at"], name="appt_entrust_member_idx"),
            models.Index(fields=["agency", "target"], name="appt_entrust_target_idx"),
        ]

    def __str__(self):
        return f"{self.member_id} → {self.target_id or self.story_id}"
