"""Entrust requests (委托红娘, F-F6): a member asks their matchmaker to arrange a meeting.

A logged-in member asks from a published card ("I want to meet this person") or from a published
success story ("someone like this"). Staff who may see the member handle it: assign it to a
colleague, recommend, or decline with a reason the member reads in the portal; the member may
withdraw it while it is undecided.

Recommending goes through the match library's own service (apps.matching.services.recommend): the
contract's recommendation is counted, both sides' criteria are checked and the member's service
moves on, exactly as from the match library. A target request recommends the person asked for; a
story request has no person, so the matchmaker names the candidate (by member number).

Permissions: handling a request is match work, so assigning and declining need
`matchmakers.edit_matches` (as recording answers to recommendations does); recommending needs it
too, and `recommend` itself asks for `matchmakers.add_matches`. Every state change locks the
members' rows first (in id order, as `recommend` does), then the request's row.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.matching import services as matching_services
from apps.matchmakers.models import User
from apps.members.models import Member
from apps.members.selectors import member_visible_list

from .models import EntrustRequest, SuccessStory
from .selectors import UNDECIDED, entrust_visible_list, published_cards

Status = EntrustRequest.Status
HANDLE_PERM = "matchmakers.edit_matches"
NOTE_MAX_LENGTH = 1000
REASON_MAX_LENGTH = EntrustRequest._meta.get_field("decline_reason").max_length


def _lock_members(*member_ids: int) -> None:
    list(Member.objects.filter(pk__in=member_ids).order_by("pk").select_for_update().values_list("pk", flat=True))


def _handled(agency, actor: User, request: EntrustRequest, *, lock_also=()) -> EntrustRequest:
    """The request's row, locked and read again, if the actor may handle it and it is undecided."""
    if not actor.has_perm(HANDLE_PERM):
        raise PermissionDenied(_("Your role does not allow handling entrust requests."))
    _lock_members(request.member_id, *lock_also)
    locked = (
        entrust_visible_list(user=actor)
        .filter(pk=request.pk, agency=agency)
        .select_related("member", "target")
        .select_for_update(of=("self",))
        .first()
    )
    if locked is None:
        raise PermissionDenied(_("You cannot see the member who made this request."))
    if locked.status not in UNDECIDED:
        raise ValidationError(
            _("This request is decided already (%(status)s).") % {"status": locked.get_status_display()}
        )
    return locked


def _decided(locked: EntrustRequest, actor: User, status: str, **fields) -> EntrustRequest:
    locked.status, locked.decided_by, locked.decided_at = status, actor, timezone.now()
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save(update_fields=["status", "decided_by", "decided_at", *fields])
    return locked


@transaction.atomic
def entrust_request(*, agency, member: Member, target: Member | None = None, story: SuccessStory | None = None,
                    note: str = "") -> EntrustRequest:  # fmt: skip
    """The member asks to meet `target` (a card they may see) or someone like the couple of `story`.

    Asking again about the same person or story while the first request is undecided is refused
    with a ValidationError (code "duplicate"): it is one request, already with the matchmaker.
    """
    if member.agency_id != agency.pk:
        raise Http404
    if (target is None) == (story is None):
        raise ValueError("entrust_request needs a target or a story, not both")
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError({"note": _("Keep the message under %(max)s characters.") % {"max": NOTE_MAX_LENGTH}})
    # Two clicks or two tabs of one member queue here, so the duplicate check below holds.
    _lock_members(member.pk)
    undecided = EntrustRequest.objects.filter(agency=agency, member=member, status__in=UNDECIDED)
    if target is not None:
        if not published_cards(member=member).filter(pk=target.pk).exists():
            raise ValidationError(_("This member's card is no longer shown; choose another card."), code="unavailable")
        if undecided.filter(target=target).exists():
            raise ValidationError(_("You have asked to meet this person already; your matchmaker is on it."),
                                  code="duplicate")  # fmt: skip
    else:
        if not SuccessStory.objects.filter(agency=agency, pk=story.pk, is_published=True).exists():
            raise ValidationError(_("This success story is no longer published."), code="unavailable")
        if undecided.filter(story=story, target__isnull=True).exists():
            raise ValidationError(_("You have asked about this story already; your matchmaker is on it."),
                                  code="duplicate")  # fmt: skip
    try:
        with transaction.atomic():
            return EntrustRequest.objects.create(agency=agency, member=member, target=target, story=story, note=note)
    except IntegrityError as error:  # the database's one-open-request rule, should a writer bypass the lock
        raise ValidationError(_("You have asked to meet this person already; your matchmaker is on it."),
                              code="duplicate") from error  # fmt: skip


@transaction.atomic
def entrust_assign(*, agency, actor: User, request: EntrustRequest, to_user: User) -> EntrustRequest:
    """Hand the request to a matchmaker who may see the member and handle requests (again, if assigned)."""
    locked = _handled(agency, actor, request)
    if to_user.agency_id != agency.pk or not to_user.is_active:
        raise ValidationError({"to_user": _("Choose an active matchmaker of the agency.")})
    if not to_user.has_perm(HANDLE_PERM):
        raise ValidationError({"to_user": _("%(user)s's role does not allow handling entrust requests; choose "
                                            "someone else.") % {"user": to_user}})  # fmt: skip
    if not member_visible_list(user=to_user).filter(pk=locked.member_id).exists():
        raise ValidationError({"to_user": _("%(user)s cannot see %(member)s; choose a matchmaker of the member's "
                                            "branch.") % {"user": to_user, "member": locked.member.name}})  # fmt: skip
    locked.status, locked.assigned_to = Status.ASSIGNED, to_user
    locked.save(update_fields=["status", "assigned_to"])
    return locked


@transaction.atomic
def entrust_recommend(*, agency, actor: User, request: EntrustRequest, reason: str,
                      candidate: Member | None = None) -> EntrustRequest:  # fmt: skip
    """Recommend through the match library and close the request as recommended.

    A target request recommends its target (`candidate` must be None or the target); a story request
    needs the `candidate` the matchmaker chose. Whatever `recommend` refuses (no effective contract,
    recommendations used up, a pair that fails either side's criteria, a pair recommended before)
    leaves the request as it was.
    """
    if request.target_id is not None:
        if candidate is not None and candidate.pk != request.target_id:
            raise ValidationError({"candidate": _("This request is about one person: recommend them, or decline.")})
        candidate_id = request.target_id
    elif candidate is None:
        raise ValidationError({"candidate": _("Name the member you recommend (their member number).")})
    else:
        candidate_id = candidate.pk
    locked = _handled(agency, actor, request, lock_also=(candidate_id,))
    candidate = locked.target if locked.target_id is not None else candidate
    if candidate.agency_id != agency.pk:
        raise ValidationError({"candidate": _("No member of the agency has this number.")})
    if candidate.pk == locked.member_id:
        raise ValidationError({"candidate": _("A member cannot be recommended to themselves.")})
    recommendation = matching_services.recommend(agency=agency, actor=actor, member=locked.member,
                                                 candidate=candidate, reason=reason)  # fmt: skip
    return _decided(locked, actor, Status.RECOMMENDED, recommendation=recommendation,
                    assigned_to=locked.assigned_to or actor)  # fmt: skip


@transaction.atomic
def entrust_decline(*, agency, actor: User, request: EntrustRequest, reason: str) -> EntrustRequest:
    """Decline with a reason; the member reads it in the portal, so write it to them."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why, in words for the member: they read it in the portal.")})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": _("Keep the reason under %(max)s characters.") % {"max": REASON_MAX_LENGTH}})
    locked = _handled(agency, actor, request)
    return _decided(locked, actor, Status.DECLINED, decline_reason=reason, assigned_to=locked.assigned_to or actor)


@transaction.atomic
def entrust_withdraw(*, member: Member, request: EntrustRequest) -> None:
    """The member takes back an undecided request. Nothing was done on it yet, so it is deleted: the
    model has no "withdrawn" state, and "declined" would tell the matchmaker something untrue."""
    _lock_members(member.pk)
    locked = (
        EntrustRequest.objects.filter(agency_id=member.agency_id, member=member, pk=request.pk)
        .select_for_update()
        .first()
    )
    if locked is None:
        raise Http404
    if locked.status not in UNDECIDED:
        raise ValidationError(_("Your matchmaker has answered this request already; it can no longer be withdrawn."))
    locked.delete()
