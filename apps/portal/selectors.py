"""Reads of the member portal. Every portal read starts from the member the portal serves, so no id
in a URL can reach another member's rows; staff reads are scoped by the role tree."""

from django.db.models import Q, QuerySet

from apps.appointments.models import Appointment
from apps.appointments.selectors import published_cards
from apps.matching.models import Recommendation
from apps.members.models import Member
from apps.members.selectors import member_visible_list

from .models import Impersonation, MemberAccount, MemberInvitation, ProfileChangeRequest

Status = Recommendation.Status

# The candidate's side hears of a recommendation only once the member it was made to said yes.
CANDIDATE_SEES = (Status.MEMBER_ACCEPTED, Status.ACCEPTED, Status.CANDIDATE_DECLINED, Status.APPOINTMENT)


def recommendations_of(*, member: Member) -> QuerySet[Recommendation]:
    """Recommendations the member takes part in: made to them, or of them once the other side accepted."""
    return (
        Recommendation.objects.filter(agency=member.agency_id)
        .filter(Q(member=member) | Q(candidate=member, status__in=CANDIDATE_SEES))
        .select_related("member", "candidate")
        .order_by("-updated_at", "-id")
    )


def recommendations_awaiting_answer(*, member: Member) -> QuerySet[Recommendation]:
    return Recommendation.objects.filter(agency=member.agency_id).filter(
        Q(member=member, status=Status.PROPOSED) | Q(candidate=member, status=Status.MEMBER_ACCEPTED)
    )


def recommendation_of(*, member: Member, pk: int) -> Recommendation | None:
    return recommendations_of(member=member).filter(pk=pk).first()


def appointments_of(*, member: Member) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(agency=member.agency_id)
        .filter(Q(member_a=member) | Q(member_b=member))
        .select_related("member_a", "member_b", "matchmaker_a", "matchmaker_b")
        .prefetch_related("feedback")
        .order_by("-starts_at", "-id")
    )


def appointment_of(*, member: Member, pk: int) -> Appointment | None:
    return appointments_of(member=member).filter(pk=pk).first()


def may_see_person(*, member: Member, other_id: int) -> bool:
    """Whether the portal may show `other`'s card and photo to `member`: someone recommended to them
    (or who accepted them), someone they have an appointment with, or a card in their gallery."""
    if other_id == member.pk:
        return True
    return (
        recommendations_of(member=member).filter(Q(member_id=other_id) | Q(candidate_id=other_id)).exists()
        or appointments_of(member=member).filter(Q(member_a_id=other_id) | Q(member_b_id=other_id)).exists()
        or published_cards(member=member).filter(pk=other_id).exists()
    )


def my_matchmaker(*, member: Member):
    """Who serves the member: the after-sale matchmaker once signed, else the presale one."""
    return member.aftersale_owner or member.presale_owner


def pending_change(*, member: Member) -> ProfileChangeRequest | None:
    return ProfileChangeRequest.objects.filter(
        agency=member.agency_id, member=member, status=ProfileChangeRequest.Status.PENDING
    ).first()


def changes_of(*, member: Member) -> QuerySet[ProfileChangeRequest]:
    return ProfileChangeRequest.objects.filter(agency=member.agency_id, member=member).order_by("-submitted_at")


# --- staff ---------------------------------------------------------------------------------------


def change_request_list(*, user, status: str | None = ProfileChangeRequest.Status.PENDING):
    """Profile change requests of members the user may see, newest first."""
    requests = ProfileChangeRequest.objects.filter(
        agency=user.agency_id, member__in=member_visible_list(user=user).values("pk")
    ).select_related("member", "decided_by", "submitted_by_staff")
    if status:
        requests = requests.filter(status=status)
    return requests.order_by("-submitted_at", "-id")


def change_request_get(*, user, pk: int) -> ProfileChangeRequest | None:
    return change_request_list(user=user, status=None).filter(pk=pk).first()


def portal_state(*, member: Member) -> dict:
    """The member page's portal card: the account and the last invitation."""
    return {
        "account": MemberAccount.objects.filter(agency=member.agency_id, member=member).first(),
        "invitation": MemberInvitation.objects.filter(agency=member.agency_id, member=member)
        .select_related("sent_by")
        .first(),
        "pending_change": pending_change(member=member),
    }


def impersonation_list(*, user) -> QuerySet[Impersonation]:
    """Log-ins as member of the members the user may see (the audit follows the role tree)."""
    return (
        Impersonation.objects.filter(agency=user.agency_id, member__in=member_visible_list(user=user).values("pk"))
        .select_related("user", "member")
        .order_by("-started_at", "-id")
    )
