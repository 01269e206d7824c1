"""Who the portal is serving: a member logged in with their own password, or a staff user who opened
the portal as that member (F-F3).

Members are not staff users: their log-in is a key of its own in the session, checked against a
hash of their password (a password change ends their other sessions), and never sets
`request.user`, so no back-office view lets a member in. Logging in as a member logs any staff user
out of that browser, and a staff log-in forgets the member (apps.portal.signals).

`PortalMiddleware` sets `request.member` (the Member, or None) lazily, and `request.impersonation`
(the open Impersonation when staff act as the member, else None).
"""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout as staff_logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from apps.members.selectors import member_visible_list

from .models import Impersonation, MemberAccount

MEMBER_KEY = "_portal_member_id"
HASH_KEY = "_portal_member_hash"
IMPERSONATION_KEY = "_portal_impersonation_id"


def _session_hash(account: MemberAccount) -> str:
    return salted_hmac("apps.portal.auth", account.password, algorithm="sha256").hexdigest()


def member_login(request, account: MemberAccount) -> None:
    """Log the member in: a fresh session (no staff log-in, no fixation), and note the log-in time."""
    if request.user.is_authenticated:
        staff_logout(request)  # flushes the session, which also ends any log-in-as-member
    else:
        request.session.cycle_key()
    request.session[MEMBER_KEY] = account.member_id
    request.session[HASH_KEY] = _session_hash(account)
    MemberAccount.objects.filter(pk=account.pk).update(last_login=timezone.now())
    request._portal_cache = (account.member, None)


def member_session_refresh(request, account: MemberAccount) -> None:
    """Keep this session after the member changed their password (others end)."""
    request.session.cycle_key()
    request.session[HASH_KEY] = _session_hash(account)


def member_logout(request) -> None:
    request.session.flush()
    request._portal_cache = (None, None)


def forget_member(request) -> None:
    """Drop a member log-in from the session (a staff user logs in on the same browser)."""
    for key in (MEMBER_KEY, HASH_KEY):
        request.session.pop(key, None)
    request._portal_cache = None


def _account_member(request):
    member_id = request.session.get(MEMBER_KEY)
    agency = getattr(request, "agency", None)
    if member_id is None or agency is None:
        return None
    account = (
        MemberAccount.objects.select_related("member")
        .filter(agency=agency, member_id=member_id, is_active=True)
        .first()
    )
    if account is None or not constant_time_compare(request.session.get(HASH_KEY, ""), _session_hash(account)):
        forget_member(request)
        return None
    return account.member


def _impersonated_member(request):
    """The member a staff user opened the portal as, while they still may; else end the log-in-as."""
    impersonation_id = request.session.get(IMPERSONATION_KEY)
    if impersonation_id is None:
        return None, None
    user = request.user
    impersonation = None
    if user.is_authenticated and getattr(user, "agency_id", None) == getattr(request.agency, "pk", None):
        impersonation = (
            Impersonation.objects.select_related("member")
            .filter(agency=request.agency, pk=impersonation_id, user=user, ended_at__isnull=True)
            .first()
        )
    if impersonation is None:
        # The staff user logged out elsewhere, was deactivated or the session now holds someone
        # else: the log-in-as is over, and the record says so.
        from .services import impersonation_close  # noqa: PLC0415 - services imports this module

        stale = Impersonation.objects.filter(agency=request.agency, pk=impersonation_id, ended_at__isnull=True).first()
        if stale is not None:
            impersonation_close(stale, reason=Impersonation.EndReason.REVOKED)
        request.session.pop(IMPERSONATION_KEY, None)
        return None, None
    allowed = user.has_perm("matchmakers.login_as_member") and (
        member_visible_list(user=user).filter(pk=impersonation.member_id).exists()
    )
    if not allowed:
        # The role changed or the member moved out of the user's branch since it started.
        from .services import impersonation_close  # noqa: PLC0415 - services imports this module

        impersonation_close(impersonation, reason=Impersonation.EndReason.REVOKED)
        request.session.pop(IMPERSONATION_KEY, None)
        return None, None
    return impersonation.member, impersonation


def _resolve(request):
    cached = getattr(request, "_portal_cache", None)
    if cached is None:
        member, impersonation = _impersonated_member(request)
        if member is None:
            member = _account_member(request)
        cached = request._portal_cache = (member, impersonation)
    return cached


class PortalMiddleware:
    """Sets request.member and request.impersonation (both resolved on first use)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request._portal_cache = None
        request.member = SimpleLazyObject(lambda: _resolve(request)[0])
        request.impersonation = SimpleLazyObject(lambda: _resolve(request)[1])
        return self.get_response(request)


def current_member(request):
    """The Member the portal serves in this request, or None (unwrapped from the lazy object)."""
    return _resolve(request)[0]


def current_impersonation(request):
    return _resolve(request)[1]


def member_required(view):
    """Portal views: a logged-in member (or staff logged in as one); else the portal log-in page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if current_member(request) is None:
            return redirect(f"{reverse('portal:login')}?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return wrapper


def impersonation_end_for_logout(request, user) -> None:
    impersonation_id = request.session.get(IMPERSONATION_KEY)
    if impersonation_id is None:
        return
    impersonation = Impersonation.objects.filter(pk=impersonation_id, user=user, ended_at__isnull=True).first()
    if impersonation is not None:
        from .services import impersonation_close  # noqa: PLC0415 - services imports this module

        impersonation_close(impersonation, reason=Impersonation.EndReason.LOGOUT)


def members_own_decision(view):
    """For answers only the member may give (yes or no to a match, coming to a meeting, feedback,
    asking to meet someone): refused while staff are logged in as the member, who may read and
    write messages and submit profile changes (those record who wrote them), but not decide for them."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST" and current_impersonation(request) is not None:
            messages.error(request, _("Only the member can give this answer, not staff logged in as them."))
            back = request.META.get("HTTP_REFERER", "")
            safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
            return redirect(back if back and safe else reverse("portal:home"))
        return view(request, *args, **kwargs)

    return wrapper
