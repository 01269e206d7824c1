"""The match library (F-F4): recommending a candidate and recording each side's answer.

A recommendation consumes one of the member's contract recommendations (apps.finance), only for a
pair that passes both sides' hard criteria. Declines keep their reason: it is what the matchmaker
and later matching learn from.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.finance.services import entitlement_consume
from apps.followups.services import stage_enter
from apps.matchmakers.models import User
from apps.members.models import Member
from apps.members.selectors import member_visible_list

from . import engine
from .models import MatchSettings, Recommendation

Status = Recommendation.Status


def _require(actor: User, perm: str, message: str) -> None:
    if not actor.has_perm(f"matchmakers.{perm}"):
        raise PermissionDenied(message)


def _sees(actor: User, member: Member) -> bool:
    return member_visible_list(user=actor).filter(pk=member.pk).exists()


def _count(agency, member_ids, *, column: str) -> None:
    """Add one to a statistic of each member: one upsert statement, whatever the number of members."""
    assert column in ("matched_count", "recommended_count")  # noqa: S101 - fixed by the callers
    matched_at = ", last_matched_at = EXCLUDED.last_matched_at" if column == "matched_count" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO matching_matchstats
                       (agency_id, member_id, matched_count, recommended_count, last_matched_at)
                SELECT %(agency)s, id, %(matched)s, %(recommended)s, %(now)s FROM unnest(%(ids)s::bigint[]) AS id
                ORDER BY id
                ON CONFLICT (agency_id, member_id)
                DO UPDATE SET {column} = matching_matchstats.{column} + 1{matched_at}""",  # noqa: S608 - fixed names
            {"agency": agency.pk, "ids": sorted(set(member_ids)), "now": timezone.now(),
             "matched": int(column == "matched_count"), "recommended": int(column == "recommended_count")},
        )  # fmt: skip


def candidates_shown(*, agency, member_ids) -> None:
    """The engine showed these members as candidates: count it (manual §2.5.3, 被匹配的次数)."""
    if member_ids:
        _count(agency, member_ids, column="matched_count")


@transaction.atomic
def recommend(*, agency, actor: User, member: Member, candidate: Member, reason: str) -> Recommendation:
    """Recommend `candidate` to `member` with a written reason (F-F4)."""
    _require(actor, "add_matches", _("Your role does not allow recommending matches."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Write why you recommend this candidate; the member reads it.")})
    if member.agency_id != agency.pk or candidate.agency_id != agency.pk:
        raise PermissionDenied(_("These members belong to another agency."))
    if not _sees(actor, member):
        raise PermissionDenied(_("You cannot see this member."))
    # One pair at a time, whoever asks first: lock both members in id order.
    list(Member.objects.filter(pk__in=[member.pk, candidate.pk]).order_by("pk").select_for_update())
    if Recommendation.objects.filter(member__in=[member, candidate], candidate__in=[member, candidate]).exists():
        raise ValidationError(_("These two have been recommended to each other already."))
    if not engine.is_matchable(member):
        raise ValidationError(_("%(member)s is not in service (paused, finished or abandoned, or without a date "
                                "of birth): nobody is recommended to them now.") % {"member": member.name})  # fmt: skip
    found = engine.pair(agency=agency, member=member, candidate=candidate)
    if found is None:
        # Said without the candidate's name: the user may not be allowed to know who that is.
        raise ValidationError(_("This candidate does not meet %(member)s's criteria, or the other way round.")
                              % {"member": member.name})  # fmt: skip
    entitlement_consume(agency=agency, member=member, kind="recommendation")
    recommendation = Recommendation.objects.create(
        agency=agency, member=member, candidate=candidate, score=found.score, reason=reason, recommended_by=actor
    )
    _count(agency, [member.pk, candidate.pk], column="recommended_count")
    # The member's service moves on to "first recommendation" (F-F9).
    stage_enter(agency=agency, member=member, stage="first_recommendation", actor=actor)
    return recommendation


TRANSITIONS = {
    # (side, accepted): (allowed from, to)
    ("member", True): ((Status.PROPOSED,), Status.MEMBER_ACCEPTED),
    ("member", False): ((Status.PROPOSED,), Status.MEMBER_DECLINED),
    ("candidate", True): ((Status.MEMBER_ACCEPTED,), Status.ACCEPTED),
    ("candidate", False): ((Status.MEMBER_ACCEPTED,), Status.CANDIDATE_DECLINED),
}


@transaction.atomic
def respond(*, agency, actor: User, recommendation: Recommendation, side: str, accepted: bool,
            reason: str = "") -> Recommendation:  # fmt: skip
    """Record the member's answer, then the candidate side's; a decline needs its reason."""
    _require(actor, "edit_matches", _("Your role does not allow recording answers to recommendations."))
    if (side, accepted) not in TRANSITIONS:
        raise ValidationError(_("Unknown answer."))
    locked = (
        Recommendation.objects.select_for_update()
        .select_related("member", "candidate")
        .get(pk=recommendation.pk, agency=agency)
    )
    whose = locked.member if side == "member" else locked.candidate
    if not _sees(actor, whose):
        raise PermissionDenied(_("Only that member's matchmakers record their answer."))
    return _answer(locked, side, accepted, reason)


def _answer(locked: Recommendation, side: str, accepted: bool, reason: str) -> Recommendation:
    allowed, to = TRANSITIONS[(side, accepted)]
    if locked.status not in allowed:
        raise ValidationError(_("This recommendation is %(status)s; that answer does not fit now.")
                              % {"status": locked.get_status_display()})  # fmt: skip
    reason = (reason or "").strip()
    if not accepted and not reason:
        raise ValidationError({"reason": _("Say why it was declined; it helps the next match.")})
    locked.status, locked.decline_reason = to, reason[:200] if not accepted else ""
    locked.save(update_fields=["status", "decline_reason", "updated_at"])
    return locked


@transaction.atomic
def member_answer(*, agency, member: Member, recommendation: Recommendation, accepted: bool,
                  reason: str = "") -> Recommendation:  # fmt: skip
    """A member answers in the portal for their own side: as the member a candidate was recommended
    to, or as the candidate once that member accepted. The same states as a matchmaker's answer."""
    locked = (
        Recommendation.objects.select_for_update()
        .select_related("member", "candidate")
        .filter(pk=recommendation.pk, agency=agency)
        .filter(Q(member=member) | Q(candidate=member))
        .first()
    )
    if locked is None:
        raise Http404
    side = "member" if locked.member_id == member.pk else "candidate"
    return _answer(locked, side, accepted, reason)


@transaction.atomic
def settings_save(*, agency, actor: User, settings) -> None:
    """Save the agency's score weights; at least one must count."""
    _require(actor, "edit_settings", _("Your role does not allow changing settings."))
    if not any(getattr(settings, name) for name in MatchSettings.WEIGHTS):
        raise ValidationError(_("Give at least one part of the score a weight above 0."))
    settings.agency = agency
    settings.full_clean(exclude=["agency"])
    settings.save()
