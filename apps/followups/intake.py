"""What the agency's public site takes in (F-E5, F-E6, F-A3): consultations and registrations.

Public visitors write through `consultation_submit` and `registration_submit`, always without an
actor; staff work the consultations inbox through `consultation_assign`, `consultation_convert` and
`consultation_close`. A phone the agency already has never becomes a second member: a repeat
registration lands on the existing member as a follow-up for its owner, and a consultation is
linked to the existing member.

The public forms are rate limited per IP address and per phone, per agency, with counters in the
Django cache (Redis).
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.agencies.sequences import sequence_next
from apps.core import ratelimit
from apps.core.validators import normalize_mobile
from apps.matchmakers.models import User
from apps.matchmakers.selectors import owner_ids_visible_to
from apps.members import divisions
from apps.members.models import Member
from apps.members.selectors import member_visible_list
from apps.members.services import member_create

from .models import Consultation, FollowUp
from .services import assignable_targets, followup_add, members_assign

logger = logging.getLogger(__name__)

# Profile fields a registration may fill; everything else keeps its default.
REGISTRATION_FIELDS = (
    "name", "gender", "phone", "birth_date", "height_cm", "education", "income", "marital_status",
    "residence_city", "occupation", "wechat", "email", "self_intro",
)  # fmt: skip

# --- rate limits ---------------------------------------------------------------------------------

# (submissions allowed, window in seconds)
IP_LIMIT = (5, 10 * 60)
PHONE_LIMIT = (3, 60 * 60)


def _rate_key(agency, form: str, kind: str, value: str) -> str:
    return ratelimit.rate_key("intake", agency.pk, form, kind, value)


def intake_blocked_minutes(*, agency, form: str, ip: str) -> int:
    """Minutes to wait when this IP address has used up its submissions, else 0 (nothing counted)."""
    limit, window = IP_LIMIT
    return window // 60 if ratelimit.count(_rate_key(agency, form, "ip", ip)) >= limit else 0


def intake_consume(*, agency, form: str, ip: str, phone: str) -> int:
    """Count one accepted submission; minutes to wait when it is over a limit (then write nothing), else 0."""
    ip_limit, ip_window = IP_LIMIT
    phone_limit, phone_window = PHONE_LIMIT
    over_phone = ratelimit.hit(_rate_key(agency, form, "phone", phone), phone_window) > phone_limit
    over_ip = ratelimit.hit(_rate_key(agency, form, "ip", ip), ip_window) > ip_limit
    if over_phone:
        return phone_window // 60
    return ip_window // 60 if over_ip else 0


# --- public submissions --------------------------------------------------------------------------


def consultation_submit(*, agency, name: str, phone: str, message: str, ip_address: str | None = None):
    """A question from the public site; linked to the member when the agency already has the phone."""
    phone = normalize_mobile(phone)
    existing = Member.objects.filter(agency=agency, phone=phone).first()
    consultation = Consultation(
        agency=agency, name=name.strip(), phone=phone, message=message.strip(), member=existing,
        ip_address=ip_address,
    )  # fmt: skip
    consultation.full_clean(exclude=["agency", "member", "assigned_to", "handled_by"])
    consultation.save()
    return consultation


def _agency_language():
    """Text the system writes into the agency's records is in the agency's language, not the visitor's."""
    return translation.override(settings.LANGUAGE_CODE)


def _registration_summary(member: Member) -> str:
    """The details of a repeat registration, one "label: value" line each, for the owner to compare."""
    lines = [_("Registered again on the public site with these details:")]
    for field in REGISTRATION_FIELDS:
        value = getattr(member, field)
        if value in (None, ""):
            continue
        model_field = Member._meta.get_field(field)
        if model_field.choices:
            value = getattr(member, f"get_{field}_display")()
        elif field == "residence_city":
            value = divisions.full_name(member.residence_province, member.residence_city)
        label = str(model_field.verbose_name)
        lines.append(f"{label[:1].upper()}{label[1:]}: {value}")
    return "\n".join(lines)


def _repeat_registration(agency, existing: Member, submitted: Member) -> Member:
    with _agency_language():
        content = _registration_summary(submitted)
    followup_add(
        agency=agency, actor=None, member=existing, channel=FollowUp.Channel.SITE, content=content,
        next_followup_at=timezone.now(),
    )  # fmt: skip
    return existing


@transaction.atomic
def registration_submit(*, agency, data: dict) -> tuple[Member, bool]:
    """A member registering on the public site: a lead without owner, in the unassigned pool.

    Returns (member, created). A phone the agency already has adds a follow-up to that member for
    its owner, due now, and changes nothing else: the public cannot edit an existing profile.
    """
    member = Member(agency=agency, source=Member.Source.SITE_REGISTRATION)
    for field in REGISTRATION_FIELDS:
        if field in data and data[field] is not None:
            setattr(member, field, data[field])
    member.phone = normalize_mobile(member.phone)
    member.residence_province = divisions.parent_of(member.residence_city) if member.residence_city else ""
    divisions.validate_location(member.residence_province, member.residence_city, prefix="residence_")
    member.full_clean(exclude=["agency", "presale_owner", "aftersale_owner", "created_by"], validate_constraints=False)

    existing = Member.objects.filter(agency=agency, phone=member.phone).first()
    if existing is not None:
        return _repeat_registration(agency, existing, member), False
    try:
        with transaction.atomic():
            member.member_no = f"M{sequence_next(agency=agency, name='member'):06d}"
            member.save()
    except IntegrityError:
        # The same phone registered concurrently: treat this one as the repeat.
        existing = Member.objects.filter(agency=agency, phone=member.phone).first()
        if existing is None:
            raise
        return _repeat_registration(agency, existing, member), False
    return member, True


# --- the consultations inbox ---------------------------------------------------------------------


def consultation_visible_list(*, user: User) -> QuerySet[Consultation]:
    """Consultations assigned to the user or to staff below their role; unassigned ones too for
    those who may assign (they dispatch them). Another agency's rows never appear (tenant scope)."""
    condition = Q(assigned_to__in=owner_ids_visible_to(user))
    if user.has_perm("matchmakers.assign_members"):
        condition |= Q(assigned_to__isnull=True)
    return Consultation.objects.filter(condition, agency_id=user.agency_id)


def consultation_inbox(*, user: User, status: str | None = None) -> QuerySet[Consultation]:
    """The inbox's rows with what it shows of assignees and members, newest first."""
    consultations = (
        consultation_visible_list(user=user)
        .select_related("assigned_to", "member", "handled_by")
        .annotate(member_visible=Exists(member_visible_list(user=user).filter(pk=OuterRef("member_id"))))
    )
    if status == "open":
        consultations = consultations.filter(status__in=Consultation.OPEN_STATUSES)
    elif status in Consultation.Status.values:
        consultations = consultations.filter(status=status)
    return consultations.order_by("-created_at", "-id")


def consultation_get(*, user: User, pk: int) -> Consultation | None:
    return consultation_visible_list(user=user).filter(pk=pk).first()


def _lock_open(actor: User, consultation: Consultation) -> Consultation:
    locked = consultation_visible_list(user=actor).filter(pk=consultation.pk).select_for_update(of=("self",)).first()
    if locked is None:
        raise PermissionDenied(_("You cannot see this consultation."))
    if not locked.is_open:
        raise ValidationError(_("This consultation has already been handled."))
    return locked


def can_handle(actor: User, consultation: Consultation) -> bool:
    """Its assignee handles a consultation; so does anyone who may assign it."""
    return consultation.assigned_to_id == actor.pk or actor.has_perm("matchmakers.assign_members")


def _require_handler(actor: User, consultation: Consultation) -> None:
    if not can_handle(actor, consultation):
        raise PermissionDenied(_("Only the matchmaker it is assigned to, or a dispatcher, can handle it."))


@transaction.atomic
def consultation_assign(*, agency, actor: User, consultation: Consultation, to_user: User) -> Consultation:
    """Give an open consultation to the actor or to staff of the actor's branch."""
    if not actor.has_perm("matchmakers.assign_members"):
        raise PermissionDenied(_("Your role does not allow assigning members."))
    if not assignable_targets(actor).filter(pk=to_user.pk).exists():
        raise PermissionDenied(_("You can only assign members to staff of your own branch."))
    consultation = _lock_open(actor, consultation)
    consultation.assigned_to = to_user
    consultation.status = Consultation.Status.ASSIGNED
    consultation.save(update_fields=["assigned_to", "status"])
    return consultation


@transaction.atomic
def consultation_convert(*, agency, actor: User, consultation: Consultation, gender: str, name: str = "") -> Member:
    """Turn a consultation into a member in one step; its message becomes the first follow-up.

    The new member belongs to the consultation's assignee (or the actor when unassigned). When the
    agency already has the phone, the message is added to that member instead, as a follow-up due
    now for its owner when the actor cannot see the member.
    """
    consultation = _lock_open(actor, consultation)
    _require_handler(actor, consultation)
    existing = Member.objects.filter(agency=agency, phone=consultation.phone).first()
    if existing is None and not gender:
        raise ValidationError({"gender": _("Choose the member's gender.")})
    if existing is None:
        member = member_create(
            agency=agency, actor=actor, source=Member.Source.CONSULTATION, name=(name or consultation.name).strip(),
            gender=gender, phone=consultation.phone,
        )  # fmt: skip
        followup_add(
            agency=agency, actor=actor, member=member, channel=FollowUp.Channel.SITE, content=consultation.message
        )
        assignee = consultation.assigned_to
        if assignee is not None and assignee.pk != actor.pk:
            members_assign(
                agency=agency, actor=actor, member_ids=[member.pk], to_user=assignee,
                reason=_("Converted from a consultation"),
            )  # fmt: skip
    else:
        member = existing
        if member_visible_list(user=actor).filter(pk=member.pk).exists():
            followup_add(
                agency=agency, actor=actor, member=member, channel=FollowUp.Channel.SITE,
                content=consultation.message,
            )  # fmt: skip
        else:
            followup_add(
                agency=agency, actor=None, member=member, channel=FollowUp.Channel.SITE,
                content=consultation.message, next_followup_at=timezone.now(),
            )  # fmt: skip
    consultation.status = Consultation.Status.CONVERTED
    consultation.member = member
    consultation.assigned_to = consultation.assigned_to or actor
    consultation.handled_by = actor
    consultation.handled_at = timezone.now()
    consultation.save(update_fields=["status", "member", "assigned_to", "handled_by", "handled_at"])
    return member


@transaction.atomic
def consultation_close(*, agency, actor: User, consultation: Consultation, reason: str = "") -> Consultation:
    """Close a consultation that leads nowhere (spam, a wrong number, not interested)."""
    consultation = _lock_open(actor, consultation)
    _require_handler(actor, consultation)
    consultation.status = Consultation.Status.CLOSED
    consultation.close_reason = reason.strip()[:200]
    consultation.handled_by = actor
    consultation.handled_at = timezone.now()
    consultation.save(update_fields=["status", "close_reason", "handled_by", "handled_at"])
    return consultation
