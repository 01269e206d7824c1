"""The match engine's data (F-F4): a narrow search profile per member, the agency's score weights,
and the match library of recommendations.

`MatchProfile` is kept by PostgreSQL triggers on members and partner preferences (migration 0002),
so every write path (forms, services, imports, COPY seeds, raw updates) keeps it current. Its one
covering index holds, in (agency, gender, birth date) order, every column both directions of the
hard filter and the score read: the engine answers from an index-only range scan.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.agencies.models import TenantModel
from apps.members.models import Member

# Columns the engine reads, in the order its filter reads them (PostgreSQL deforms an index tuple
# only as far as the last column a condition asks for, so the forward filter's columns come first).
PROFILE_COLUMNS = [
    "member_id", "birth_ymd", "pref_age_min", "pref_age_max", "height_cm", "education", "income", "marital_bit",
    "has_children", "residence_city", "residence_province", "native_city", "pref_height_min", "pref_height_max",
    "pref_education_min", "pref_income_min", "pref_marital_mask", "pref_accepts_children",
    "tag_ids", "pref_city_codes", "pref_must_tag_ids", "pref_nice_tag_ids",
]  # fmt: skip
# Unstated wishes are stored as the widest bounds, not NULL: the filter is then plain comparisons,
# and fixed-width, non-null columns ahead of the arrays let PostgreSQL find them at fixed offsets.
WISH_DEFAULTS = {"pref_age_min": 0, "pref_age_max": 255, "pref_height_min": 0, "pref_height_max": 999,
                 "pref_education_min": 0, "pref_income_min": 0}  # fmt: skip

# Marital statuses as bits, so "accepts divorced or widowed" is one integer AND, not an array search.
MARITAL_BITS = {"never_married": 1, "divorced": 2, "divorced_children": 4, "widowed": 8}


class MatchProfile(TenantModel):
    """What matching needs of one member, in one narrow row (maintained by triggers, never by Python).

    Codes are integers: marital status as a bit (MARITAL_BITS) and the wished ones as a mask (0:
    any), division codes as numbers (3301 for 杭州市), children as a flag; unstated wishes are the
    widest bounds (WISH_DEFAULTS).
    """

    member = models.ForeignKey(Member, on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                               db_constraint=False)  # fmt: skip  # the trigger deletes it with the member
    gender = models.CharField(max_length=6)
    birth_date = models.DateField(null=True)
    # YYYYMMDD as an integer: (today's YYYYMMDD - this) // 10000 is the age, in plain integer arithmetic.
    birth_ymd = models.PositiveIntegerField(null=True)
    # A candidate at all: a known birth date; not paused, a success or abandoned; service not paused or finished.
    eligible = models.BooleanField(default=True)
    height_cm = models.PositiveSmallIntegerField(null=True)
    education = models.PositiveSmallIntegerField(null=True)
    income = models.PositiveSmallIntegerField(null=True)
    marital_bit = models.PositiveSmallIntegerField(default=0)
    has_children = models.BooleanField(null=True)  # None: not known, which meets no wish about it
    residence_province = models.PositiveIntegerField(null=True)
    residence_city = models.PositiveIntegerField(null=True)
    native_city = models.PositiveIntegerField(null=True)
    tag_ids = ArrayField(models.BigIntegerField(), default=list)
    pref_age_min = models.PositiveSmallIntegerField(default=0)
    pref_age_max = models.PositiveSmallIntegerField(default=255)
    pref_height_min = models.PositiveSmallIntegerField(default=0)
    pref_height_max = models.PositiveSmallIntegerField(default=999)
    pref_education_min = models.PositiveSmallIntegerField(default=0)
    pref_income_min = models.PositiveSmallIntegerField(default=0)
    pref_marital_mask = models.PositiveSmallIntegerField(default=0)
    pref_accepts_children = models.BooleanField(default=True)
    pref_city_codes = ArrayField(models.IntegerField(), default=list)
    pref_must_tag_ids = ArrayField(models.BigIntegerField(), default=list)
    pref_nice_tag_ids = ArrayField(models.BigIntegerField(), default=list)

    class Meta(TenantModel.Meta):
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "member"], name="matching_profile_member_uniq"),
        ]
        indexes = [
            # The engine's range: opposite gender, birth dates of the wanted ages; everything else it
            # reads is carried in the index, so PostgreSQL never visits the table (index-only scan).
            models.Index(
                fields=["agency", "gender", "birth_date"], name="matching_profile_search_idx",
                include=PROFILE_COLUMNS, condition=Q(eligible=True),
            ),
        ]  # fmt: skip


class MatchSettings(TenantModel):
    """An agency's weights for the match score (情缘匹配值); each 0-10, the defaults sensible for most."""

    weight_tags = models.PositiveSmallIntegerField(_("shared interests"), default=4, validators=[MaxValueValidator(10)])
    weight_age = models.PositiveSmallIntegerField(_("preferred age"), default=3, validators=[MaxValueValidator(10)])
    weight_height = models.PositiveSmallIntegerField(
        _("preferred height"), default=2, validators=[MaxValueValidator(10)]
    )
    weight_education = models.PositiveSmallIntegerField(_("education"), default=2, validators=[MaxValueValidator(10)])
    weight_income = models.PositiveSmallIntegerField(_("income"), default=2, validators=[MaxValueValidator(10)])
    weight_place = models.PositiveSmallIntegerField(_("same city or home town"), default=3,
                                                    validators=[MaxValueValidator(10)])  # fmt: skip

    WEIGHTS = ("weight_tags", "weight_age", "weight_height", "weight_education", "weight_income", "weight_place")

    class Meta(TenantModel.Meta):
        verbose_name = _("match settings")
        verbose_name_plural = _("match settings")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency"], name="matching_settings_one_per_agency"),
        ]


class Recommendation(TenantModel):
    """One candidate recommended to a member (the match library, F-F4).

    proposed → accepted / declined by the member → accepted / declined by the candidate's side →
    appointment. Contact details of either side stay masked to the other until both accepted.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed to the member")
        MEMBER_ACCEPTED = "member_accepted", _("Member accepted; awaiting the other side")
        MEMBER_DECLINED = "member_declined", _("Declined by the member")
        ACCEPTED = "accepted", _("Both accepted")
        CANDIDATE_DECLINED = "candidate_declined", _("Declined by the other side")
        APPOINTMENT = "appointment", _("Appointment booked")

    DECLINED = (Status.MEMBER_DECLINED, Status.CANDIDATE_DECLINED)
    BOTH_ACCEPTED = (Status.ACCEPTED, Status.APPOINTMENT)

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="recommendations", db_index=False,
                               verbose_name=_("member"))  # fmt: skip
    candidate = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="recommended_to", db_index=False,
                                  verbose_name=_("candidate"))  # fmt: skip
    score = models.PositiveSmallIntegerField(
        _("match score"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    reason = models.TextField(_("why they suit each other"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PROPOSED)
    decline_reason = models.CharField(_("reason for declining"), max_length=200, blank=True)
    recommended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                       db_index=False, verbose_name=_("recommended by"))  # fmt: skip
    created_at = models.DateTimeField(_("recommended at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "member", "candidate"], name="matching_recommendation_pair_uniq"),
            models.CheckConstraint(condition=~Q(member=models.F("candidate")), name="matching_recommendation_not_self"),
        ]
        indexes = [
            models.Index(fields=["agency", "candidate", "member"], name="matching_rec_candidate_idx"),
            models.Index(fields=["agency", "status", "-updated_at"], name="matching_rec_status_idx"),
            models.Index(fields=["agency", "created_at"], name="matching_rec_created_idx"),  # dashboards, live
        ]

    def __str__(self):
        return f"{self.member_id} → {self.candidate_id}"

    @property
    def contacts_released(self) -> bool:
        return self.status in self.BOTH_ACCEPTED


class MatchStats(TenantModel):
    """How often a member turned up in match results and was recommended (manual §2.5.3: 被匹配的次数)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    matched_count = models.PositiveIntegerField(_("times matched"), default=0)
    recommended_count = models.PositiveIntegerField(_("times recommended"), default=0)
    last_matched_at = models.DateTimeField(_("last matched"), null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "member"], name="matching_stats_member_uniq"),
        ]
