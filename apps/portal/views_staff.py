"""Back-office side of the portal: invitations, log in as member (F-F3) and profile change review."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.forms import errors_sentence
from apps.core.http import client_ip
from apps.matchmakers.decorators import staff_permission_required
from apps.members.selectors import member_get_or_404

from . import auth, selectors, services
from .diff import change_rows
from .forms import InvitationForm, RejectForm
from .models import ProfileChangeRequest

VIEW_MEMBERS = "matchmakers.view_members"
EDIT_MEMBERS = "matchmakers.edit_members"


@require_POST
@staff_permission_required(VIEW_MEMBERS, "matchmakers.add_messages")
def invite(request, pk):
    """Send the member a one-time link to the portal, by SMS or email."""
    member = member_get_or_404(user=request.user, pk=pk)
    form = InvitationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("No invitation was sent: %(errors)s") % {"errors": errors_sentence(form)})
        return redirect("members:detail", pk=member.pk)
    try:
        invitation = services.invitation_send(
            agency=request.agency, actor=request.user, member=member, channel=form.cleaned_data["channel"],
            link_for=lambda token: request.build_absolute_uri(reverse("portal:invitation", args=[token])),
        )  # fmt: skip
    except ValidationError as error:
        messages.error(request, _("No invitation was sent: %(errors)s") % {"errors": " ".join(error.messages)})
    else:
        messages.success(
            request,
            _("The portal invitation to %(name)s is on its way by %(channel)s; the link works once, for %(days)s days.")
            % {"name": member.name, "channel": invitation.get_channel_display(),
               "days": (invitation.expires_at - invitation.created_at).days},
        )  # fmt: skip
    return redirect("members:detail", pk=member.pk)


@require_POST
@staff_permission_required(VIEW_MEMBERS, "matchmakers.login_as_member")
def login_as(request, pk):
    """Open the portal as the member (audited); the banner there leads back."""
    member = member_get_or_404(user=request.user, pk=pk)
    impersonation = services.impersonation_start(
        agency=request.agency, actor=request.user, member=member, ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )  # fmt: skip
    # Drop a member log-in this browser may hold: while staff act as a member, the portal serves
    # exactly the member they chose.
    auth.forget_member(request)
    request.session[auth.IMPERSONATION_KEY] = impersonation.pk
    return redirect("portal:home")


@staff_permission_required(VIEW_MEMBERS)
def change_list(request):
    status = request.GET.get("status", ProfileChangeRequest.Status.PENDING)
    if status not in ProfileChangeRequest.Status.values and status != "all":
        status = ProfileChangeRequest.Status.PENDING
    rows = selectors.change_request_list(user=request.user, status=None if status == "all" else status)
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    context = {"page": page, "status": status, "statuses": ProfileChangeRequest.Status.choices}
    return render(request, "portal/staff/change_list.html", context)


@staff_permission_required(VIEW_MEMBERS)
def change_detail(request, pk):
    change = selectors.change_request_get(user=request.user, pk=pk)
    if change is None:
        raise Http404
    rows = change_rows(change)
    context = {"change": change, "rows": rows, "moved_on": any(row["moved_on"] for row in rows),
               "reject_form": RejectForm()}  # fmt: skip
    return render(request, "portal/staff/change_detail.html", context)


@require_POST
@staff_permission_required(VIEW_MEMBERS, EDIT_MEMBERS)
def change_approve(request, pk):
    change = selectors.change_request_get(user=request.user, pk=pk)
    if change is None:
        raise Http404
    try:
        services.profile_change_approve(
            agency=request.agency, actor=request.user, change=change, overwrite=request.POST.get("overwrite") == "on"
        )
    except ValidationError as error:
        messages.error(request, _("Nothing was changed: %(errors)s") % {"errors": " ".join(error.messages)})
        return redirect("portal_staff:change_detail", pk=change.pk)
    messages.success(request, _("The changes are applied to %(name)s's profile.") % {"name": change.member.name})
    return redirect("portal_staff:changes")


@require_POST
@staff_permission_required(VIEW_MEMBERS, EDIT_MEMBERS)
def change_reject(request, pk):
    change = selectors.change_request_get(user=request.user, pk=pk)
    if change is None:
        raise Http404
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Nothing was changed: %(errors)s") % {"errors": errors_sentence(form)})
        return redirect("portal_staff:change_detail", pk=change.pk)
    try:
        services.profile_change_reject(
            agency=request.agency, actor=request.user, change=change, reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        messages.error(request, _("Nothing was changed: %(errors)s") % {"errors": " ".join(error.messages)})
        return redirect("portal_staff:change_detail", pk=change.pk)
    messages.info(request, _("The request is rejected; %(name)s sees your reason.") % {"name": change.member.name})
    return redirect("portal_staff:changes")


@staff_permission_required("matchmakers.view_staff")
def impersonation_log(request):
    """Every log-in as a member: who, whom, when, from where, how it ended."""
    page = Paginator(selectors.impersonation_list(user=request.user), 50).get_page(request.GET.get("page"))
    return render(request, "portal/staff/impersonation_list.html", {"page": page})
