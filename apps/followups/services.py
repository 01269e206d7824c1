"""Follow-ups and service notes (F-E3, F-F2), assignment of members to matchmakers (F-D1, F-D2),
and the after-sale service workflow with its deadlines (F-F9).

Counters on the member are updated with F() expressions in the same transaction as the row they
count, so concurrent follow-ups never lose an increment.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.matchmakers.models import User
from apps.matchmakers.selectors import staff_below
from apps.members.choices import ServiceStatus
from apps.members.models import Member
from apps.members.selectors import member_visible_list

from .models import (
    AFTERSALE_STATUSES,
    Assignment,
    FollowUp,
    ServiceStage,
    ServiceStageChange,
    ServiceWorkflowSettings,
)  # fmt: skip


@transaction.atomic
def followup_add(
    *, agency, actor: User | None, member: Member, channel: str, content: str, result: str = "",
    next_followup_at=None, kind: str = FollowUp.Kind.FOLLOWUP,
) -> FollowUp:  # fmt: skip
    """Record a follow-up or, for a member in after-sale service, a service note (F-F2).

    actor None is the system (e.g. a repeat registration on the public site).
    """
    if actor is not None:
        if not actor.has_perm("matchmakers.add_followups"):
            raise PermissionDenied(_("Your role does not allow recording follow-ups."))
        if not member_visible_list(user=actor).filter(pk=member.pk).exists():
            raise PermissionDenied(_("You cannot see this member."))
    if kind == FollowUp.Kind.SERVICE_NOTE and member.status not in AFTERSALE_STATUSES:
        raise ValidationError({"kind": _("Service notes are for members in after-sale service only.")})
    if next_followup_at is not None and next_followup_at < timezone.now() - timezone.timedelta(minutes=1):
        raise ValidationError({"next_followup_at": _("The next follow-up cannot be in the past.")})
    followup = FollowUp(
        agency=agency, member=member, author=actor, kind=kind, channel=channel, content=content, result=result,
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
    if role == Assignment.Role.AFTERSALE:
        # A signed member given an after-sale matchmaker is in service from now on, starting at the
        # first stage of the service workflow (F-F9).
        Member.objects.filter(pk__in=changed, status=Member.Status.SIGNED).update(
            status=Member.Status.IN_SERVICE, service_status=ServiceStatus.ACTIVE
        )
        for member in Member.objects.filter(pk__in=changed).order_by("pk"):
            stage_enter(agency=agency, member=member, stage="consulted", actor=actor)
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


# --- the service workflow (F-F9) -------------------------------------------------------------------
#
# Rules, kept simple on purpose:
# - Only members in after-sale service (signed, in service or paused, with an after-sale matchmaker)
#   have a stage. The first stage may be any; after that, moves go forward in Stage order (skipping
#   ahead is allowed: a later step implies the earlier ones happened), and "continuing → meeting
#   arranged" starts another round of meetings.
# - A person moves a member with stage_advance: they need edit_followups and must see the member.
#   Moving back (including out of success) is a correction and needs audit_members, the manager's
#   right: edit_members would not do, every matchmaker holds it.
# - Other apps move members with stage_enter when the event happens (matching: first
#   recommendation; appointments: meeting arranged, feedback). It is idempotent and never moves a
#   member back; it does nothing for members not in after-sale service.
# - due_at = when the stage was entered + the agency's deadline for it; success has none. Overdue is
#   read at request time (due_at < now), so there is no job to run.

Stage = ServiceStage.Stage
STAGE_ORDER = list(Stage.values)
STAGE_LOOPS = {(Stage.CONTINUING, Stage.MEETING_ARRANGED)}


def stage_is_forward(from_stage: str | None, to_stage: str) -> bool:
    """Whether moving from `from_stage` (None: no stage yet) to `to_stage` follows the workflow."""
    if from_stage is None:
        return True
    if (from_stage, to_stage) in STAGE_LOOPS:
        return True
    return STAGE_ORDER.index(to_stage) > STAGE_ORDER.index(from_stage)


def stages_allowed(actor: User, from_stage: str | None) -> list[str]:
    """The stages `actor` may move a member at `from_stage` to, in workflow order."""
    may_go_back = actor.has_perm("matchmakers.audit_members")
    return [
        stage for stage in STAGE_ORDER
        if stage != from_stage and (may_go_back or stage_is_forward(from_stage, stage))
    ]  # fmt: skip


def workflow_settings_for(agency) -> ServiceWorkflowSettings:
    """The agency's stage deadlines; the defaults (unsaved) until the agency changes them."""
    return ServiceWorkflowSettings.objects.filter(agency=agency).first() or ServiceWorkflowSettings(agency=agency)


@transaction.atomic
def workflow_settings_save(*, agency, actor: User, settings: ServiceWorkflowSettings) -> ServiceWorkflowSettings:
    """Save the stage deadlines. Stages already entered keep the due time they were given."""
    if not actor.has_perm("matchmakers.edit_settings"):
        raise PermissionDenied(_("Your role does not allow changing settings."))
    settings.agency = agency
    settings.full_clean(exclude=["agency"])
    settings.save()
    return settings


def member_in_aftersale(member: Member) -> bool:
    """Whether the member is in after-sale service: signed, in service or paused, with an after-sale matchmaker."""
    return (
        member.status in AFTERSALE_STATUSES
        and member.aftersale_owner_id is not None
        # A contract refunded, completed or expired ends the service: nothing is due any more.
        and member.service_status not in (ServiceStatus.FINISHED, ServiceStatus.EXPIRED)
    )


def _stage_move(
    agency, member: Member, current: ServiceStage | None, to_stage: str, *, actor, note: str
) -> ServiceStage:
    now = timezone.now()
    hours = workflow_settings_for(agency).deadline_hours(to_stage)
    due_at = None if hours is None else now + datetime.timedelta(hours=hours)
    from_stage = current.stage if current is not None else ""
    if current is None:
        current = ServiceStage(agency=agency, member=member)
    current.stage, current.entered_at, current.due_at = to_stage, now, due_at
    current.save()
    ServiceStageChange.objects.create(
        agency=agency, member=member, from_stage=from_stage, to_stage=to_stage, due_at=due_at, note=note[:200],
        changed_by=actor,
    )  # fmt: skip
    return current


def _locked_stage(member: Member) -> ServiceStage | None:
    return ServiceStage.objects.filter(member=member).select_for_update().first()


@transaction.atomic
def stage_advance(*, agency, actor: User, member: Member, to_stage: str, note: str = "") -> ServiceStage:
    """A matchmaker moves a member in after-sale service to another stage (see the rules above)."""
    if to_stage not in STAGE_ORDER:
        raise ValidationError({"stage": _("Unknown service stage.")})
    if not actor.has_perm("matchmakers.edit_followups"):
        raise PermissionDenied(_("Your role does not allow changing service stages."))
    # The member's row lock serialises every stage change of the member, manual and automatic.
    locked = member_visible_list(user=actor).filter(pk=member.pk, agency=agency).select_for_update(of=("self",)).first()
    if locked is None:
        raise PermissionDenied(_("You cannot see this member."))
    if not member_in_aftersale(locked):
        raise ValidationError(_("Only members in after-sale service, with an after-sale matchmaker, have a stage."))
    current = _locked_stage(locked)
    from_stage = current.stage if current is not None else None
    if from_stage == to_stage:
        raise ValidationError({"stage": _("The member is already at this stage.")})
    if not stage_is_forward(from_stage, to_stage) and not actor.has_perm("matchmakers.audit_members"):
        raise PermissionDenied(_("Only a role that may audit members can move a member back to an earlier stage."))
    return _stage_move(agency, locked, current, to_stage, actor=actor, note=note.strip())


@transaction.atomic
def stage_enter(*, agency, member: Member, stage: str, actor: User | None = None) -> ServiceStage | None:
    """Record that `member` reached `stage` because something happened elsewhere (a recommendation,
    a booked or finished meeting). For other apps' services, which have checked their own rights.

    Idempotent, and never moves a member back: at this stage or beyond it, nothing changes. Members
    not in after-sale service get no stage (None).
    """
    if stage not in STAGE_ORDER:
        raise ValueError(f"unknown service stage {stage!r}")
    locked = Member.objects.select_for_update(of=("self",)).get(pk=member.pk, agency=agency)
    if not member_in_aftersale(locked):
        return None
    current = _locked_stage(locked)
    if current is not None and (current.stage == stage or not stage_is_forward(current.stage, stage)):
        return current
    return _stage_move(agency, locked, current, stage, actor=actor, note="")
