"""Follow-ups (F-E3) and assignment of members to matchmakers (F-D1, F-D2).

Counters on the member are updated with F() expressions in the same transaction as the row they
count, so concurrent follow-ups never lose an increment.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.matchmakers.models import User
from apps.matchmakers.selectors import staff_below
from apps.members.models import Member
from apps.members.selectors import member_visible_list

from .models import Assignment, FollowUp


@transaction.atomic
def followup_add(
    *, agency, actor: User | None, member: Member, channel: str, content: str, result: str = "",
    next_followup_at=None,
) -> FollowUp:  # fmt: skip
    """Record a follow-up. actor None is the system (e.g. a repeat registration on the public site)."""
    if actor is not None:
        if not actor.has_perm("matchmakers.add_followups"):
            raise PermissionDenied(_("Your role does not allow recording follow-ups."))
        if not member_visible_list(user=actor).filter(pk=member.pk).exists():
            raise PermissionDenied(_("You cannot see this member."))
    if next_followup_at is not None and next_followup_at < timezone.now() - timezone.timedelta(minutes=1):
        raise ValidationError({"next_followup_at": _("The next follow-up cannot be in the past.")})
    followup = FollowUp(
        agency=agency, member=member, author=actor, channel=channel, content=content, result=result,
        next_followup_at=next_followup_at,
    )  # fmt: skip
    followup.full_clean(exclude=["agency", "member", "author"])
    followup.save()
    updates = {"followup_count": F("followup_count") + 1, "last_followup_at": followup.created_at,
               "next_followup_at": next_followup_at}  # fmt: skip
    if actor is not None:
        # A lead that has been spoken to is being followed up.
        Member.objects.filter(pk=member.pk, status=Member.Status.LEAD).update(status=Member.Status.FOLLOWING)
    Member.objects.filter(pk=member.pk).update(**updates)
    return followup


POOL_STATUSES = {
    Assignment.Role.PRESALE: [Member.Status.LEAD, Member.Status.FOLLOWING, Member.Status.ABANDONED],
    Assignment.Role.AFTERSALE: [Member.Status.SIGNED],
}


def assignable_targets(actor: User):
    """Whom the actor may give members to: themselves and the staff below their role."""
    return (staff_below(user=actor) | User.objects.filter(pk=actor.pk)).filter(is_active=True)


@transaction.atomic
def members_assign(
    *, agency, actor: User, member_ids, to_user: User, role: str = Assignment.Role.PRESALE, reason: str = ""
) -> int:
    """Give members to a matchmaker (F-D1/F-D2) and record each change once in the history.

    The actor may only hand members to, and take them from, staff of their own branch.
    """
    if not actor.has_perm("matchmakers.assign_members"):
        raise PermissionDenied(_("Your role does not allow assigning members."))
    if not assignable_targets(actor).filter(pk=to_user.pk).exists():
        raise PermissionDenied(_("You can only assign members to staff of your own branch."))
    if role not in Assignment.Role.values:
        raise ValidationError(_("Unknown assignment role."))
    owner_field = "presale_owner" if role == Assignment.Role.PRESALE else "aftersale_owner"
    branch = staff_below(user=actor).values("pk")
    # Owner-less members only from the matching pool; owned ones only inside the actor's branch.
    members = list(
        Member.objects.filter(pk__in=list(member_ids))
        .filter(
            Q(**{f"{owner_field}__isnull": True}, status__in=POOL_STATUSES[role])
            | Q(**{f"{owner_field}__in": branch})
            | Q(**{owner_field: actor})
        )
        .select_for_update()
    )
    if len(members) != len(set(member_ids)):
        raise PermissionDenied(_("Some of these members belong to staff outside your branch."))
    history = []
    for member in members:
        from_id = getattr(member, f"{owner_field}_id")
        if from_id == to_user.pk:
            continue
        history.append(
            Assignment(
                agency=agency,
                member=member,
                role=role,
                from_user_id=from_id,
                to_user=to_user,
                assigned_by=actor,
                reason=reason,
            )
        )
    changed = [entry.member_id for entry in history]
    Member.objects.filter(pk__in=changed).update(**{owner_field: to_user})
    if role == Assignment.Role.PRESALE:
        # Reassigning an abandoned lead brings it back to follow-up.
        Member.objects.filter(pk__in=changed, status=Member.Status.ABANDONED).update(
            status=Member.Status.FOLLOWING, abandon_reason=""
        )
    Assignment.objects.bulk_create(history)
    return len(history)


@transaction.atomic
def member_abandon(*, agency, actor: User, member: Member, reason: str) -> Member:
    """Give up on a lead, with a reason: it moves to the abandoned pool for reassignment (F-E3)."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the member is abandoned.")})
    if not actor.has_perm("matchmakers.edit_members"):
        raise PermissionDenied(_("Your role does not allow editing members."))
    member = member_visible_list(user=actor).filter(pk=member.pk).select_for_update(of=("self",)).first()
    if member is None:
        raise PermissionDenied(_("You cannot see this member."))
    Assignment.objects.create(
        agency=agency, member=member, role=Assignment.Role.PRESALE, from_user_id=member.presale_owner_id,
        to_user=None, assigned_by=actor, reason=reason.strip(),
    )  # fmt: skip
    Member.objects.filter(pk=member.pk).update(
        status=Member.Status.ABANDONED, abandon_reason=reason.strip()[:200], presale_owner=None, next_followup_at=None
    )
    member.refresh_from_db()
    return member
