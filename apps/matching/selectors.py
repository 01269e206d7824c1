"""Reads for the match library: a member's candidates with what the user may see of them."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from apps.members.models import Member, MemberPhoto
from apps.members.selectors import member_visible_list

from . import engine
from .models import MatchProfile, MatchStats, Recommendation
from .reasons import pair_reasons, tag_names_for

PAGE = 20


@dataclass
class Suggestion:
    member: Member  # the candidate, with owners and primary photo prefetched
    score: int
    reasons: list[str]
    visible: bool  # the user may see the candidate's record (else: summary, masked contacts, their matchmaker)

    @property
    def matchmaker(self):
        return self.member.aftersale_owner or self.member.presale_owner


def match_library(*, user, member: Member, page: int = 1) -> list[Suggestion]:
    """The member's best candidates from the whole agency, with reasons, in a fixed number of queries."""
    today = timezone.localdate()
    found = engine.top_candidates(agency=member.agency, member=member, limit=PAGE, offset=(page - 1) * PAGE,
                                  today=today)  # fmt: skip
    if not found:
        return []
    ids = [candidate.member_id for candidate in found]
    members = (
        Member.objects.filter(pk__in=ids)
        .select_related("aftersale_owner", "presale_owner")
        .prefetch_related(
            Prefetch("photos", queryset=MemberPhoto.objects.filter(is_primary=True), to_attr="primary_photos")
        )
    )
    by_id = {candidate.pk: candidate for candidate in members}
    visible = set(member_visible_list(user=user).filter(pk__in=ids).values_list("pk", flat=True))
    mine = engine._wishes(MatchProfile.objects.filter(member_id=member.pk).values(*engine._PROFILE_FIELDS).first())
    names = tag_names_for(agency=member.agency, profiles=[mine, *(c.profile for c in found)])
    return [
        Suggestion(
            by_id[c.member_id],
            c.score,
            pair_reasons(mine, c.profile, today=today, tag_names=names),
            c.member_id in visible,
        )
        for c in found
        if c.member_id in by_id
    ]


def recommendations_of(*, member: Member) -> QuerySet[Recommendation]:
    """Recommendations the member received or was proposed in, newest first."""
    return (
        Recommendation.objects.filter(Q(member=member) | Q(candidate=member))
        .select_related(
            "member", "candidate", "recommended_by", "member__aftersale_owner", "candidate__aftersale_owner"
        )
        .order_by("-created_at", "-id")
    )


def with_sides(*, user, recommendations):
    """Mark which sides of each recommendation the user serves (one query): only they record that side's
    answer and see that member's full name; `recommendations` is evaluated (a list or a page)."""
    recommendations = list(recommendations)
    ids = {rec.member_id for rec in recommendations} | {rec.candidate_id for rec in recommendations}
    mine = set(member_visible_list(user=user).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    for rec in recommendations:
        rec.serves_member, rec.serves_candidate = rec.member_id in mine, rec.candidate_id in mine
    return recommendations


def recommendation_list(*, user) -> QuerySet[Recommendation]:
    """Recommendations involving a member the user may see."""
    visible = member_visible_list(user=user).values("pk")
    return (
        Recommendation.objects.filter(Q(member__in=visible) | Q(candidate__in=visible))
        .select_related("member", "candidate", "recommended_by")
        .order_by("-updated_at", "-id")
    )


def stats_of(*, member: Member) -> dict:
    stats = MatchStats.objects.filter(member=member).first()
    counts = Recommendation.objects.filter(Q(member=member) | Q(candidate=member)).aggregate(
        received=Count("pk", filter=Q(member=member)), proposed=Count("pk", filter=Q(candidate=member))
    )
    return {"matched": stats.matched_count if stats else 0, "last_matched_at": stats.last_matched_at if stats else None,
            **counts}  # fmt: skip
