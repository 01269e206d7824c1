"""State changes of the member portal: invitations, log-in, reset codes, profile change requests and
staff logging in as a member (F-F3).

Portal services take the `member` the portal serves (apps.portal.auth) instead of a staff actor: a
member can only ever act on themselves. Staff services take the acting user and check their role
and the member's visibility like every other back-office service.
"""

import datetime
import hashlib
import secrets
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import ratelimit
from apps.core.validators import normalize_mobile
from apps.matchmakers.models import User
from apps.members.models import Member, PartnerPreference
from apps.members.selectors import member_get_or_404
from apps.members.services import member_update
from apps.messaging.models import Kind, Notification
from apps.messaging.services import notify_member

from .models import Impersonation, MemberAccount, MemberInvitation, ProfileChangeRequest, ResetCode

# --- invitations ---------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@transaction.atomic
def invitation_send(*, agency, actor: User, member: Member, channel: str,
                    link_for: Callable[[str], str]) -> MemberInvitation:  # fmt: skip
    """Send the member a one-time link to set their portal password, by SMS or email.

    `link_for(token)` builds the absolute URL of the link. Earlier unused invitations stop working.
    The token itself is never stored, only its hash.
    """
    if not actor.has_perm("matchmakers.add_messages"):
        raise PermissionDenied(_("Your role does not allow sending messages."))
    member = member_get_or_404(user=actor, pk=member.pk)
    if channel not in MemberInvitation.Channel.values:
        raise ValidationError({"channel": _("Choose SMS or email.")})
    now = timezone.now()
    MemberInvitation.objects.filter(
        agency=agency, member=member, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    days = settings.PORTAL_INVITATION_DAYS
    invitation = MemberInvitation.objects.create(
        agency=agency, member=member, token_hash=_token_hash(token), channel=channel, sent_by=actor,
        expires_at=now + datetime.timedelta(days=days),
    )  # fmt: skip
    # Raises ValidationError (no email address …) and so rolls the invitation back with it.
    notify_member(
        agency=agency, member=member, kind=Kind.INVITATION, channel=channel, sender=actor,
        values={"days": days}, secrets={"link": link_for(token)},
    )  # fmt: skip
    return invitation


def invitation_for_token(*, agency, token: str) -> MemberInvitation | None:
    """The invitation behind a link if it can still be used (not used, replaced or expired)."""
    invitation = (
        MemberInvitation.objects.select_related("member")
        .filter(agency=agency, token_hash=_token_hash(token or ""))
        .first()
    )
    return invitation if invitation is not None and invitation.is_usable else None


def _check_new_password(password1: str, password2: str, member: Member) -> None:
    if password1 != password2:
        raise ValidationError({"password2": _("The two passwords differ.")})
    # Django's validators compare against attributes of the user-like object; the member's name
    # and phone are what a guesser would try first.
    try:
        validate_password(password1, user=_PasswordSubject(member))
    except ValidationError as error:
        raise ValidationError({"password1": error.messages}) from None


class _PasswordSubject:
    """What UserAttributeSimilarityValidator compares a member's new password with."""

    def __init__(self, member: Member):
        self.username = member.phone
        self.first_name = member.name
        self.email = member.email


class InvitationExpired(Exception):
    """The invitation link was used, replaced by a newer one, or is past its date."""


@transaction.atomic
def invitation_accept(*, agency, token: str, password1: str, password2: str) -> MemberAccount:
    """Set the password from an invitation link and open (or reopen) the member's account.

    The invitation row is locked, so two submissions of one link cannot both succeed: a link works
    once. Raises InvitationExpired when the link is used, replaced or past its date.
    """
    invitation = (
        MemberInvitation.objects.select_for_update()
        .filter(agency=agency, token_hash=_token_hash(token or ""))
        .first()
    )
    if invitation is None or not invitation.is_usable:
        raise InvitationExpired
    member = Member.objects.get(agency=agency, pk=invitation.member_id)
    _check_new_password(password1, password2, member)
    account = MemberAccount.objects.filter(agency=agency, member=member).first()
    if account is None:
        account = MemberAccount(agency=agency, member=member)
    account.is_active = True
    account.set_password(password1)
    account.save()
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])
    return account


# --- log-in and password reset ------------------------------------------------------------------

# (attempts, window in seconds)
LOGIN_LIMIT = (5, 15 * 60)  # failed log-ins per phone, then wait
LOGIN_IP_LIMIT = (30, 15 * 60)  # failed log-ins per IP address
RESET_PHONE_LIMIT = (3, 60 * 60)  # codes sent per phone number
RESET_IP_LIMIT = (10, 60 * 60)  # codes requested per IP address
RESET_CODE_ATTEMPTS = 5  # wrong guesses before a code stops working


class RateLimited(Exception):
    def __init__(self, minutes: int):
        super().__init__(minutes)
        self.minutes = minutes


def _over_limit(key: str, limit: tuple[int, int]) -> int:
    """Count one attempt first, then compare: parallel requests cannot all slip under the limit.
    Minutes to wait when over it, else 0."""
    attempts, window = limit
    return window // 60 if ratelimit.hit(key, window) > attempts else 0


def member_authenticate(*, agency, phone: str, password: str, ip: str | None) -> MemberAccount | None:
    """The active account for this phone and password, or None. Raises RateLimited after repeated
    attempts for the phone or from the address (counted whether or not the phone has an account;
    a successful log-in clears the phone's count)."""
    phone = normalize_mobile(phone or "")
    phone_key = ratelimit.rate_key("portal-login", agency.pk, "phone", phone)
    ip_key = ratelimit.rate_key("portal-login", agency.pk, "ip", ip or "")
    minutes = _over_limit(phone_key, LOGIN_LIMIT) or _over_limit(ip_key, LOGIN_IP_LIMIT)
    if minutes:
        raise RateLimited(minutes)
    account = (
        MemberAccount.objects.select_related("member")
        .filter(agency=agency, member__phone=phone, is_active=True)
        .first()
    )
    if account is None:
        make_password(password)  # spend the time a real check would: timing must not reveal accounts
        return None
    if account.check_password(password):
        ratelimit.reset(phone_key)
        return account
    return None


@transaction.atomic
def reset_code_request(*, agency, phone: str, ip: str | None) -> None:
    """Text a six-digit code to the phone if it has an account. The caller says the same thing
    whether it has or not, and both paths hash a code, so neither the answer nor its timing reveals
    who is a member; the limits count either way. Raises RateLimited when the phone or address
    asked too often."""
    phone = normalize_mobile(phone or "")
    phone_key = ratelimit.rate_key("portal-reset", agency.pk, "phone", phone)
    ip_key = ratelimit.rate_key("portal-reset", agency.pk, "ip", ip or "")
    minutes = _over_limit(phone_key, RESET_PHONE_LIMIT) or _over_limit(ip_key, RESET_IP_LIMIT)
    if minutes:
        raise RateLimited(minutes)
    code = f"{secrets.randbelow(1_000_000):06d}"
    code_hash = make_password(code)
    account = MemberAccount.objects.select_related("member").filter(
        agency=agency, member__phone=phone, is_active=True
    ).first()
    if account is None:
        return
    minutes_valid = settings.PORTAL_RESET_CODE_MINUTES
    now = timezone.now()
    # Only the newest code works.
    ResetCode.objects.filter(agency=agency, member=account.member, used_at__isnull=True).update(used_at=now)
    ResetCode.objects.create(
        agency=agency, member=account.member, code_hash=code_hash, ip_address=ip,
        expires_at=now + datetime.timedelta(minutes=minutes_valid),
    )  # fmt: skip
    notify_member(
        agency=agency, member=account.member, kind=Kind.RESET_CODE, channel=Notification.Channel.SMS,
        values={"minutes": minutes_valid}, secrets={"code": code},
    )  # fmt: skip


def reset_code_confirm(*, agency, phone: str, code: str, password1: str, password2: str) -> MemberAccount:
    """Set a new password with the texted code. A wrong code counts against it (RESET_CODE_ATTEMPTS);
    an expired, used or exhausted code is refused. Raises ValidationError with a clear message.

    The code's row stays locked from the check to its use, so one code sets one password even when
    two requests bring it at once.
    """
    invalid = ValidationError({"code": _("The code is wrong or has expired. Ask for a new one.")})
    code = (code or "").strip()
    with transaction.atomic():
        account = MemberAccount.objects.select_related("member").filter(
            agency=agency, member__phone=normalize_mobile(phone or ""), is_active=True
        ).first()
        reset = None
        if account is not None:
            reset = (
                ResetCode.objects.select_for_update()
                .filter(agency=agency, member=account.member, used_at__isnull=True, expires_at__gt=timezone.now())
                .order_by("-created_at")
                .first()
            )
        if reset is None or reset.attempts >= RESET_CODE_ATTEMPTS:
            make_password(code)  # the time a real check takes: timing must not reveal accounts
            raise invalid
        if check_password(code, reset.code_hash):
            _check_new_password(password1, password2, account.member)  # a bad password keeps the code
            reset.used_at = timezone.now()
            reset.save(update_fields=["used_at"])
            account.set_password(password1)
            account.save(update_fields=["password", "password_changed_at"])
            return account
        reset.attempts += 1
        reset.save(update_fields=["attempts"])
    raise invalid  # after the commit: the wrong attempt stays counted


@transaction.atomic
def password_change(*, member: Member, old_password: str, password1: str, password2: str) -> MemberAccount:
    account = MemberAccount.objects.select_for_update().get(agency=member.agency_id, member=member)
    if not account.check_password(old_password or ""):
        raise ValidationError({"old_password": _("Your current password is wrong.")})
    _check_new_password(password1, password2, member)
    account.set_password(password1)
    account.save(update_fields=["password", "password_changed_at"])
    return account


# --- profile change requests ---------------------------------------------------------------------

# What a member may change themselves; name, gender, date of birth and phone are identity facts
# the matchmaker checks and changes.
PROFILE_FIELDS = (
    "wechat", "email", "height_cm", "weight_kg", "education", "occupation", "industry", "income",
    "marital_status", "children", "housing", "has_car", "residence_province", "residence_city",
    "residence_district", "smoking", "drinking", "self_intro",
)  # fmt: skip
PREFERENCE_FIELDS = (
    "age_min", "age_max", "height_min", "height_max", "education_min", "income_min", "marital_statuses",
    "accepts_children", "notes",
)  # fmt: skip


def _preference_of(member: Member) -> PartnerPreference:
    return PartnerPreference.objects.filter(agency=member.agency_id, member=member).first() or PartnerPreference()


def _diff(current, wanted: dict, fields) -> dict:
    changes = {}
    for field in fields:
        if field not in wanted:
            continue
        old, new = getattr(current, field), wanted[field]
        if isinstance(old, list) or isinstance(new, list):
            old, new = sorted(old or []), sorted(new or [])
        if old != new:
            changes[field] = {"old": old, "new": new}
    return changes


@transaction.atomic
def profile_change_submit(*, member: Member, profile: dict, preference: dict,
                          impersonator: User | None = None) -> ProfileChangeRequest | None:  # fmt: skip
    """Submit the member's edits for review; returns None when nothing differs from the profile.

    Values are checked now as the back office would (so a member learns of a mistake at once), but
    nothing on the profile changes until a matchmaker approves. A new submission replaces a pending one.
    """
    # Serialise submissions of one member (two tabs): the one-pending rule then never trips.
    member = Member.objects.select_for_update().get(agency=member.agency_id, pk=member.pk)
    changes = {}
    profile_changes = _diff(member, profile, PROFILE_FIELDS)
    preference_changes = _diff(_preference_of(member), preference, PREFERENCE_FIELDS)
    if profile_changes:
        changes["profile"] = profile_changes
    if preference_changes:
        changes["preference"] = preference_changes
    if not changes:
        return None
    _validate_changes(member, changes)
    ProfileChangeRequest.objects.filter(
        agency=member.agency_id, member=member, status=ProfileChangeRequest.Status.PENDING
    ).update(status=ProfileChangeRequest.Status.WITHDRAWN, decided_at=timezone.now())
    return ProfileChangeRequest.objects.create(
        agency_id=member.agency_id, member=member, changes=changes, submitted_by_staff=impersonator
    )


def _validate_changes(member: Member, changes: dict) -> None:
    """Full model validation on unsaved copies, so a bad value is refused at submission."""
    from apps.members import divisions  # noqa: PLC0415 - members.services imports heavy modules

    copy = Member.objects.get(pk=member.pk)
    for field, change in changes.get("profile", {}).items():
        setattr(copy, field, change["new"])
    divisions.validate_location(
        copy.residence_province, copy.residence_city, copy.residence_district, prefix="residence_"
    )
    copy.full_clean(exclude=["presale_owner", "aftersale_owner", "created_by", "agency"], validate_constraints=False)
    preference = _preference_of(member)
    for field, change in changes.get("preference", {}).items():
        setattr(preference, field, change["new"])
    preference.agency_id, preference.member = member.agency_id, member
    preference.full_clean(exclude=["agency", "member"])


@transaction.atomic
def profile_change_withdraw(*, member: Member, change: ProfileChangeRequest) -> None:
    updated = ProfileChangeRequest.objects.filter(
        agency=member.agency_id, member=member, pk=change.pk, status=ProfileChangeRequest.Status.PENDING
    ).update(status=ProfileChangeRequest.Status.WITHDRAWN, decided_at=timezone.now())
    if not updated:
        raise ValidationError(_("This request was already decided."))


def _locked_change(agency, actor: User, change: ProfileChangeRequest) -> ProfileChangeRequest:
    if not actor.has_perm("matchmakers.edit_members"):
        raise PermissionDenied(_("Your role does not allow editing members."))
    locked = ProfileChangeRequest.objects.select_for_update().filter(agency=agency, pk=change.pk).first()
    if locked is None:
        raise Http404
    locked.member = member_get_or_404(user=actor, pk=locked.member_id)
    if locked.status != ProfileChangeRequest.Status.PENDING:
        raise ValidationError(_("This request is %(status)s already.") % {"status": locked.get_status_display()})
    return locked


def _moved_on(change: ProfileChangeRequest) -> list[str]:
    """Labels of the fields whose value on the profile is no longer what the member saw."""
    current = {"profile": change.member, "preference": _preference_of(change.member)}
    moved = []
    for section, model in (("profile", Member), ("preference", PartnerPreference)):
        for field, values in change.changes.get(section, {}).items():
            now = getattr(current[section], field)
            if isinstance(now, list):
                now = sorted(now)
            if now != values["old"]:
                moved.append(str(model._meta.get_field(field).verbose_name))
    return moved


@transaction.atomic
def profile_change_approve(*, agency, actor: User, change: ProfileChangeRequest,
                           overwrite: bool = False) -> ProfileChangeRequest:  # fmt: skip
    """Apply the requested values to the profile (through the members service, so every rule of a
    staff edit holds) and record who approved.

    When a field changed on the profile since the member sent the request (a colleague edited it),
    approval is refused unless `overwrite` says the reviewer saw that and wants the member's value.
    """
    locked = _locked_change(agency, actor, change)
    Member.objects.select_for_update().filter(agency=agency, pk=locked.member_id).first()
    moved = _moved_on(locked)
    if moved and not overwrite:
        raise ValidationError(
            _("%(fields)s changed on the profile since the member sent this request. Tick “apply anyway” to "
              "replace them with the member's values, or reject the request.") % {"fields": ", ".join(moved)}
        )  # fmt: skip
    fields = {field: value["new"] for field, value in locked.changes.get("profile", {}).items()}
    preference = {field: value["new"] for field, value in locked.changes.get("preference", {}).items()}
    member_update(agency=agency, actor=actor, member=locked.member, preference=preference or None, **fields)
    locked.status, locked.decided_by, locked.decided_at = ProfileChangeRequest.Status.APPROVED, actor, timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    return locked


@transaction.atomic
def profile_change_reject(*, agency, actor: User, change: ProfileChangeRequest, reason: str) -> ProfileChangeRequest:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Tell the member why; they read it in the portal.")})
    locked = _locked_change(agency, actor, change)
    locked.status, locked.decided_by, locked.decided_at = ProfileChangeRequest.Status.REJECTED, actor, timezone.now()
    locked.reason = reason[:300]
    locked.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    return locked


# --- log in as member (F-F3) ---------------------------------------------------------------------


@transaction.atomic
def impersonation_start(*, agency, actor: User, member: Member, ip: str | None = None,
                        user_agent: str = "") -> Impersonation:  # fmt: skip
    """Open the portal as `member`. Refused without the permission or for a member outside the
    user's view (both raise before anything is recorded); every start is recorded."""
    if not actor.has_perm("matchmakers.login_as_member"):
        raise PermissionDenied(_("Your role does not allow logging in as a member."))
    member = member_get_or_404(user=actor, pk=member.pk)
    now = timezone.now()
    Impersonation.objects.filter(agency=agency, user=actor, ended_at__isnull=True).update(
        ended_at=now, end_reason=Impersonation.EndReason.REPLACED
    )
    return Impersonation.objects.create(
        agency=agency, user=actor, member=member, ip_address=ip, user_agent=(user_agent or "")[:300]
    )


def impersonation_close(impersonation: Impersonation, *, reason: str) -> None:
    """Record the end of a log-in-as-member (exit, staff log-out, or access revoked)."""
    Impersonation.objects.filter(pk=impersonation.pk, ended_at__isnull=True).update(
        ended_at=timezone.now(), end_reason=reason
    )


def impersonations_close_stale(*, agency) -> int:
    """Close log-ins as member whose staff session can no longer be alive (older than a session
    lasts): the browser was closed without exiting. Returns how many."""
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return Impersonation.objects.filter(agency=agency, ended_at__isnull=True, started_at__lt=cutoff).update(
        ended_at=timezone.now(), end_reason=Impersonation.EndReason.EXPIRED
    )
