"""Reads of appointments and success stories, scoped by agency and by the members the user may see.

An appointment or a story concerns two members, often of two matchmakers' branches: a user sees
it when they may see at least one of the two (F-B3). Whoever may publish stories sees every story
of the agency, as finance sees every contract: they decide on all of them.
"""

import datetime

from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, ExtractYear

from apps.matching.models import MatchProfile, Recommendation
from apps.members.models import Member, MemberPhoto
from apps.members.selectors import member_list, member_visible_list

from .models import Appointment, AppointmentEvent, AppointmentFeedback, EntrustRequest, StoryPhoto, SuccessStory

Status = Appointment.Status

# Members the agency is serving: an appointment is what they paid for.
IN_SERVICE_STATUSES = (Member.Status.IN_SERVICE, Member.Status.SIGNED)

# The appointment list's tabs: statuses shown and their order.
TABS = {
    "planned": ((Status.PLANNED,), ("starts_at", "id")),
    "done": ((Status.DONE,), ("-starts_at", "-id")),
    "closed": (Appointment.CLOSED_STATUSES, ("-starts_at", "-id")),
}


def _either_member(member_ids) -> Q:
    return Q(member_a__in=member_ids) | Q(member_b__in=member_ids)


def appointment_visible_list(*, user) -> QuerySet[Appointment]:
    visible = member_visible_list(user=user).values("pk")
    return Appointment.objects.filter(_either_member(visible), agency_id=user.agency_id)


def appointment_list(*, user, tab: str = "planned") -> QuerySet[Appointment]:
    statuses, order = TABS[tab]
    return (
        appointment_visible_list(user=user)
        .filter(status__in=statuses)
        .select_related("member_a", "member_b", "matchmaker_a", "matchmaker_b", "arranged_by")
        .order_by(*order)
    )


def appointment_tab_counts(*, user) -> dict[str, int]:
    """How many appointments each tab holds, in one query."""
    counts = dict(appointment_visible_list(user=user).values_list("status").annotate(n=Count("id")).order_by())
    return {tab: sum(counts.get(status, 0) for status in statuses) for tab, (statuses, _order) in TABS.items()}


def appointment_detail(*, user, pk: int) -> Appointment | None:
    return (
        appointment_visible_list(user=user)
        .select_related(
            "member_a", "member_b", "matchmaker_a", "matchmaker_b", "arranged_by", "closed_by", "recommendation",
            "contract_a", "contract_b",
        )
        .prefetch_related(
            Prefetch("events", queryset=AppointmentEvent.objects.select_related("actor").order_by("at", "id")),
            Prefetch("feedback", queryset=AppointmentFeedback.objects.select_related("recorded_by")),
        )
        .filter(pk=pk)
        .first()
    )  # fmt: skip


def members_not_arranged(*, user) -> QuerySet[Member]:
    """Members in service whom the user may see and who have no planned appointment (未安排).

    Each carries `appointment_count` (appointments that took place or were missed, cancellations
    do not count) and `last_appointment_at`, in the same query; those waiting longest come first.
    """
    of_member = Appointment.objects.filter(Q(member_a=OuterRef("pk")) | Q(member_b=OuterRef("pk")))
    # Grouped by the agency, the one value every row of the subquery shares: one row of totals.
    held = of_member.exclude(status=Status.CANCELLED).order_by().values("agency")
    return (
        member_list(user=user)
        .filter(status__in=IN_SERVICE_STATUSES)
        .filter(~Exists(of_member.filter(status=Status.PLANNED)))
        .annotate(
            appointment_count=Coalesce(Subquery(held.annotate(n=Count("pk")).values("n")[:1]), 0),
            last_appointment_at=Subquery(held.annotate(last=Max("starts_at")).values("last")[:1]),
        )
        .order_by(F("last_appointment_at").asc(nulls_first=True), "member_no")
    )


def member_appointments(*, member: Member, limit: int = 5) -> dict:
    """The member page's panel: how many, the next planned one, the latest few (three queries)."""
    of_member = Appointment.objects.filter(Q(member_a=member) | Q(member_b=member))
    related = ("member_a", "member_b")
    return {
        "count": of_member.exclude(status=Status.CANCELLED).count(),
        "next": of_member.filter(status=Status.PLANNED).select_related(*related).order_by("starts_at", "id").first(),
        "latest": list(of_member.select_related(*related).order_by("-starts_at", "-id")[:limit]),
    }


def appointment_overlapping(*, member_ids, starts_at: datetime.datetime, window: datetime.timedelta,
                            exclude_pk=None) -> Appointment | None:  # fmt: skip
    """A planned appointment of one of the members less than `window` before or after `starts_at`."""
    return (
        Appointment.objects.filter(
            _either_member(member_ids), status=Status.PLANNED, starts_at__gt=starts_at - window,
            starts_at__lt=starts_at + window,
        )
        .exclude(pk=exclude_pk)
        .select_related("member_a", "member_b")
        .order_by("starts_at")
        .first()
    )  # fmt: skip


def recommendation_to_book(*, user, pk: int) -> Recommendation | None:
    """A recommendation an appointment may be booked from: one whose either side the user may see."""
    visible = member_visible_list(user=user).values("pk")
    return (
        Recommendation.objects.filter(Q(member__in=visible) | Q(candidate__in=visible), pk=pk, agency_id=user.agency_id)
        .select_related("member", "candidate")
        .first()
    )


def member_by_number(*, agency, number: str) -> Member | None:
    """A member of the agency by member number (the pair of an appointment may span two branches)."""
    number = (number or "").strip()
    if not number:
        return None
    return Member.objects.filter(agency=agency, member_no__iexact=number).first()


# --- success stories -------------------------------------------------------------------------------


def sees_all_stories(user) -> bool:
    return user.has_perm("matchmakers.audit_stories")


def story_visible_list(*, user) -> QuerySet[SuccessStory]:
    stories = SuccessStory.objects.filter(agency_id=user.agency_id)
    if sees_all_stories(user):
        return stories
    return stories.filter(_either_member(member_visible_list(user=user).values("pk")))


def story_list(*, user) -> QuerySet[SuccessStory]:
    return (
        story_visible_list(user=user)
        .select_related("member_a", "member_b", "created_by", "published_by")
        .annotate(photo_count=Count("photos"))
        .order_by("-story_date", "-id")
    )


def story_detail(*, user, pk: int) -> SuccessStory | None:
    return (
        story_visible_list(user=user)
        .select_related("member_a", "member_b", "created_by", "published_by", "consent_a_by", "consent_b_by")
        .prefetch_related(Prefetch("photos", queryset=StoryPhoto.objects.order_by("id")))
        .filter(pk=pk)
        .first()
    )


def story_years(*, user) -> list[int]:
    """The years stories happened in, for the list's year filter (one DISTINCT query)."""
    years = story_visible_list(user=user).annotate(year=ExtractYear("story_date")).values_list("year", flat=True)
    return list(years.distinct().order_by("-year"))


def public_story_list(*, agency) -> QuerySet[SuccessStory]:
    """Published stories of one agency, with only what the public pages show: no member's contact
    details are even read. Photos appear once re-encoded (their EXIF/GPS data stripped)."""
    return (
        SuccessStory.objects.filter(agency=agency, is_published=True)
        .select_related("member_a", "member_b")
        .only("title", "text", "story_date", "published_at", "member_a__name", "member_b__name")
        .prefetch_related(Prefetch("photos", queryset=StoryPhoto.objects.filter(optimized=True).order_by("id")))
        .order_by("-story_date", "-id")
    )


# --- entrust requests and published cards (委托红娘, F-F6) --------------------------------------------
#
# A published card is a member who agreed to show an anonymous card to other logged-in members: of
# the other gender, looking at all (the match engine's eligibility: a known birth date, not paused,
# a success or abandoned), never the viewer. Cards read only what a card shows: no contact detail
# is even loaded. Staff see a request when they may see the member who asked (F-B3).

# Requests still waiting for a decision: one per (member, person asked for), as the model's constraint says.
UNDECIDED = (EntrustRequest.Status.OPEN, EntrustRequest.Status.ASSIGNED)
# What a card shows, and nothing more (the name only to mask it: 张**).
CARD_FIELDS = ("name", "gender", "birth_date", "height_cm", "education", "residence_city", "self_intro")


def _opposite(gender: str) -> str:
    return Member.Gender.FEMALE if gender == Member.Gender.MALE else Member.Gender.MALE


def published_cards(*, member: Member) -> QuerySet[Member]:
    """Cards `member` may browse in the portal, newest first; each carries `has_photo`."""
    eligible = MatchProfile.objects.filter(agency_id=member.agency_id, member_id=OuterRef("pk"), eligible=True)
    photo = MemberPhoto.objects.filter(agency_id=member.agency_id, member_id=OuterRef("pk"), is_primary=True)
    return (
        Member.objects.filter(agency_id=member.agency_id, published=True, gender=_opposite(member.gender))
        .exclude(pk=member.pk)
        .filter(Exists(eligible))
        .only(*CARD_FIELDS)
        .annotate(has_photo=Exists(photo))
        .order_by("-created_at", "-id")
    )


def published_card(*, member: Member, pk: int) -> Member | None:
    return published_cards(member=member).filter(pk=pk).first()


def card_cities(*, member: Member) -> list[str]:
    """The city codes the member's cards live in, for the gallery's city filter (one query)."""
    cities = published_cards(member=member).exclude(residence_city="").order_by().values_list("residence_city")
    return sorted(code for (code,) in cities.distinct())


def entrust_requests_of(*, member: Member) -> QuerySet[EntrustRequest]:
    """The member's own requests, newest first (the portal's "My requests")."""
    return (
        EntrustRequest.objects.filter(agency_id=member.agency_id, member=member)
        .select_related("target", "story")
        .only("status", "note", "decline_reason", "created_at", "decided_at", "target_id", "target__name",
              "story_id", "story__title", "story__is_published", "member_id")
        .order_by("-created_at", "-id")
    )  # fmt: skip


def entrust_request_of(*, member: Member, pk: int) -> EntrustRequest | None:
    return entrust_requests_of(member=member).filter(pk=pk).first()


def entrust_open_for(*, member: Member, target_id: int) -> EntrustRequest | None:
    """The member's undecided request to meet this person, if any (the card says it was asked)."""
    return EntrustRequest.objects.filter(
        agency_id=member.agency_id, member=member, target_id=target_id, status__in=UNDECIDED
    ).first()


def entrust_visible_list(*, user) -> QuerySet[EntrustRequest]:
    return EntrustRequest.objects.filter(
        agency_id=user.agency_id, member__in=member_visible_list(user=user).values("pk")
    )


def entrust_list(*, user) -> QuerySet[EntrustRequest]:
    """Requests of members the user may see, newest first. `target_visible` says whether the user may
    also see the member asked for (else the page masks that name), in the same query."""
    target_visible = member_visible_list(user=user).filter(pk=OuterRef("target_id"))
    return (
        entrust_visible_list(user=user)
        .select_related("member", "target", "story", "assigned_to", "decided_by", "recommendation")
        .annotate(target_visible=Exists(target_visible))
        .order_by("-created_at", "-id")
    )


def entrust_detail(*, user, pk: int) -> EntrustRequest | None:
    return entrust_list(user=user).filter(pk=pk).first()
