"""The member portal (issue 8): log-in, invitation, password reset, and the member's own pages.

Every page reads through the member the portal serves (`current_member`), never through an id the
browser sends alone: a member changing a number in a URL reaches a 404, not someone else's data.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.appointments import services as appointment_services
from apps.core.forms import apply_service_errors
from apps.core.http import client_ip, next_url, private_file_response
from apps.finance.services import agency_today
from apps.matching import services as matching_services
from apps.members import divisions
from apps.members.models import MemberPhoto, PartnerPreference
from apps.messaging.selectors import member_unread_count

from . import auth, selectors, services
from .forms import (
    LoginForm,
    MemberFeedbackForm,
    PasswordChangeForm,
    PreferenceForm,
    ProfileForm,
    ResetConfirmForm,
    ResetRequestForm,
    SetPasswordForm,
)
from .models import Impersonation
from .shortcuts import portal_render


def _portal_home_or(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # Only portal pages: a member has nothing to do on a staff URL.
    portal_prefix = reverse("portal:home")
    if target.startswith(portal_prefix):
        return next_url(request, fallback) if request.method == "POST" else target
    return fallback


# --- log-in, invitation, reset ---------------------------------------------------------------------


def login(request):
    if auth.current_member(request) is not None and auth.current_impersonation(request) is None:
        return redirect("portal:home")
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                account = services.member_authenticate(
                    agency=request.agency, phone=form.cleaned_data["phone"], password=form.cleaned_data["password"],
                    ip=client_ip(request),
                )  # fmt: skip
            except services.RateLimited as limited:
                form.add_error(None, _("Too many failed attempts. Try again in %(minutes)s minutes or reset your "
                                       "password.") % {"minutes": limited.minutes})  # fmt: skip
                status = 429
            else:
                if account is not None:
                    auth.member_login(request, account)
                    return redirect(_portal_home_or(request, reverse("portal:home")))
                form.add_error(None, _("The mobile number or the password is wrong."))
    context = {"form": form, "next": request.GET.get("next", "")}
    return portal_render(request, "portal/login.html", context, status=status)


@require_POST
def logout(request):
    if auth.current_impersonation(request) is not None:
        return impersonation_exit(request)  # staff leave the member view; their own log-in stays
    auth.member_logout(request)
    messages.info(request, _("You have logged out."))
    return redirect("portal:login")


def invitation(request, token):
    """The link from the invitation: choose a password, once, before it expires."""
    invitation = services.invitation_for_token(agency=request.agency, token=token)
    if invitation is None:
        return portal_render(request, "portal/invitation_expired.html", status=410)
    form = SetPasswordForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                account = services.invitation_accept(agency=request.agency, token=token, **form.cleaned_data)
            except services.InvitationExpired:
                return portal_render(request, "portal/invitation_expired.html", status=410)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                auth.member_login(request, account)
                messages.success(request, _("Welcome! Your password is set; log in with your mobile number next time."))
                return redirect("portal:home")
    return portal_render(request, "portal/invitation.html", {"form": form, "member": invitation.member}, status=status)


def reset_request(request):
    form = ResetRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            phone = form.cleaned_data["phone"]
            try:
                services.reset_code_request(agency=request.agency, phone=phone, ip=client_ip(request))
            except services.RateLimited as limited:
                form.add_error(None, _("Too many codes were requested. Try again in %(minutes)s minutes.")
                               % {"minutes": limited.minutes})  # fmt: skip
                status = 429
            else:
                messages.info(request, _("If this number has a portal account, a code is on its way by SMS."))
                return redirect(f"{reverse('portal:reset_confirm')}?{urlencode({'phone': phone})}")
    return portal_render(request, "portal/reset_request.html", {"form": form}, status=status)


def reset_confirm(request):
    form = ResetConfirmForm(request.POST or None, initial={"phone": request.GET.get("phone", "")})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                account = services.reset_code_confirm(agency=request.agency, **form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                auth.member_login(request, account)
                messages.success(request, _("Your new password is set."))
                return redirect("portal:home")
    return portal_render(request, "portal/reset_confirm.html", {"form": form}, status=status)


# --- the member's pages ----------------------------------------------------------------------------


@auth.member_required
def home(request):
    member = auth.current_member(request)
    upcoming = [a for a in selectors.appointments_of(member=member)[:10] if a.status == a.Status.PLANNED]
    context = {
        "member": member,
        "awaiting": selectors.recommendations_awaiting_answer(member=member).count(),
        "unread": member_unread_count(member=member),
        "upcoming": sorted(upcoming, key=lambda appointment: appointment.starts_at)[:3],
        "matchmaker": selectors.my_matchmaker(member=member),
        "pending_change": selectors.pending_change(member=member),
    }
    return portal_render(request, "portal/home.html", context)


@auth.member_required
def password_change(request):
    member = auth.current_member(request)
    if auth.current_impersonation(request) is not None:
        messages.error(request, _("A member's password is theirs alone: it cannot be changed while logged in as them."))
        return redirect("portal:home")
    form = PasswordChangeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                account = services.password_change(member=member, **form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                auth.member_session_refresh(request, account)
                messages.success(request, _("Your password is changed."))
                return redirect("portal:home")
    return portal_render(request, "portal/password.html", {"form": form}, status=status)


def _preference(member):
    return PartnerPreference.objects.filter(agency=member.agency_id, member=member).first() or PartnerPreference()


@auth.member_required
def profile(request):
    """The member's profile; edits become a change request the matchmaker approves."""
    member = auth.current_member(request)
    preference = _preference(member)
    profile_form = ProfileForm(request.POST or None, instance=member)
    preference_form = PreferenceForm(request.POST or None, instance=preference)
    status = 200
    if request.method == "POST":
        status = 400
        if profile_form.is_valid() and preference_form.is_valid():
            impersonation = auth.current_impersonation(request)
            try:
                change = services.profile_change_submit(
                    member=member, profile=profile_form.wanted(), preference=preference_form.cleaned_data,
                    impersonator=impersonation.user if impersonation else None,
                )  # fmt: skip
            except ValidationError as error:
                apply_service_errors(profile_form, error)
            else:
                if change is None:
                    messages.info(request, _("Nothing was changed."))
                else:
                    messages.success(request, _("Your changes were sent to your matchmaker. They apply once approved."))
                return redirect("portal:profile")
        # The forms keep the member's typed values; the unsaved instance must not leak into the page.
        member.refresh_from_db()
    context = {
        "member": member,
        "profile_form": profile_form,
        "preference_form": preference_form,
        "pending_change": selectors.pending_change(member=member),
        "history": selectors.changes_of(member=member)[:10],
    }
    return portal_render(request, "portal/profile.html", context, status=status)


@require_POST
@auth.member_required
def profile_change_withdraw(request, pk):
    member = auth.current_member(request)
    change = selectors.changes_of(member=member).filter(pk=pk).first()
    if change is None:
        raise Http404
    try:
        services.profile_change_withdraw(member=member, change=change)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.info(request, _("Your change request is withdrawn."))
    return redirect("portal:profile")


@auth.member_required
def recommendations(request):
    member = auth.current_member(request)
    rows = list(selectors.recommendations_of(member=member)[:50])
    today = agency_today(request.agency)
    people = {row.member_id for row in rows} | {row.candidate_id for row in rows}
    with_photo = set(
        MemberPhoto.objects.filter(agency=request.agency, is_primary=True, member_id__in=people)
        .values_list("member_id", flat=True)
    )
    for row in rows:
        row.other = row.candidate if row.member_id == member.pk else row.member
        row.age = row.other.age_on(today)
        row.city = divisions.name_of(row.other.residence_city)
        row.has_photo = row.other.pk in with_photo
        row.my_side = "member" if row.member_id == member.pk else "candidate"
        row.awaiting_me = (row.my_side == "member" and row.status == row.Status.PROPOSED) or (
            row.my_side == "candidate" and row.status == row.Status.MEMBER_ACCEPTED
        )
    return portal_render(request, "portal/recommendations.html", {"member": member, "rows": rows})


@require_POST
@auth.member_required
@auth.members_own_decision
def recommendation_answer(request, pk):
    member = auth.current_member(request)
    recommendation = selectors.recommendation_of(member=member, pk=pk)
    if recommendation is None:
        raise Http404
    accepted = request.POST.get("answer") == "accept"
    if request.POST.get("answer") not in ("accept", "decline"):
        messages.error(request, _("Choose whether you want to meet."))
        return redirect("portal:recommendations")
    try:
        matching_services.member_answer(
            agency=request.agency, member=member, recommendation=recommendation, accepted=accepted,
            reason=request.POST.get("reason", ""),
        )  # fmt: skip
    except ValidationError as error:
        messages.error(request, _("Your answer was not saved: %(errors)s") % {"errors": " ".join(error.messages)})
    else:
        if accepted:
            messages.success(request, _("Thank you! Your matchmaker will be in touch about meeting."))
        else:
            messages.info(request, _("Understood; your answer helps your matchmaker find a better match."))
    return redirect("portal:recommendations")


@auth.member_required
def appointments(request):
    member = auth.current_member(request)
    rows = list(selectors.appointments_of(member=member)[:50])
    for row in rows:
        side = row.side_of(member.pk)
        row.other = row.other_member(member.pk)
        row.confirmed_at = getattr(row, f"confirmed_{side}_at")
        row.my_feedback = next((f for f in row.feedback.all() if f.member_id == member.pk), None)
    return portal_render(request, "portal/appointments.html", {"member": member, "rows": rows})


@require_POST
@auth.member_required
@auth.members_own_decision
def appointment_confirm(request, pk):
    member = auth.current_member(request)
    appointment = selectors.appointment_of(member=member, pk=pk)
    if appointment is None:
        raise Http404
    try:
        appointment_services.appointment_confirm_by_member(
            agency=request.agency, member=member, appointment=appointment
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Thank you for confirming. See you there!"))
    return redirect("portal:appointments")


@auth.member_required
@auth.members_own_decision
def appointment_feedback(request, pk):
    member = auth.current_member(request)
    appointment = selectors.appointment_of(member=member, pk=pk)
    if appointment is None:
        raise Http404
    existing = next((f for f in appointment.feedback.all() if f.member_id == member.pk), None)
    initial = {"rating": existing.rating, "text": existing.text, "wants_to_continue": existing.wants_to_continue} \
        if existing else {}  # fmt: skip
    form = MemberFeedbackForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                appointment_services.feedback_by_member(
                    agency=request.agency, member=member, appointment=appointment,
                    rating=form.cleaned_data["rating"], text=form.cleaned_data["text"],
                    wants_to_continue=form.cleaned_data["wants_to_continue"],
                )  # fmt: skip
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Thank you for your feedback."))
                return redirect("portal:appointments")
    context = {"appointment": appointment, "other": appointment.other_member(member.pk), "form": form}
    return portal_render(request, "portal/appointment_feedback.html", context, status=status)


@auth.member_required
def matchmaker(request):
    member = auth.current_member(request)
    return portal_render(request, "portal/matchmaker.html", {"matchmaker": selectors.my_matchmaker(member=member)})


@auth.member_required
def person_photo(request, pk):
    """The main photo of someone the member may see (a recommendation, an appointment, a published card)."""
    member = auth.current_member(request)
    if not selectors.may_see_person(member=member, other_id=pk):
        raise Http404
    photo = MemberPhoto.objects.filter(agency=request.agency, member_id=pk, is_primary=True).first()
    if photo is None:
        raise Http404
    return private_file_response(photo.image)


@require_POST
def impersonation_exit(request):
    impersonation = auth.current_impersonation(request)
    if impersonation is None:
        return redirect("portal:login")
    services.impersonation_close(impersonation, reason=Impersonation.EndReason.EXIT)
    request.session.pop(auth.IMPERSONATION_KEY, None)
    messages.info(request, _("You left the member view of %(name)s.") % {"name": impersonation.member.name})
    return redirect("members:detail", pk=impersonation.member_id)


