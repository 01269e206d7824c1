"""The after-sale service workflow (F-F9): moving a member's stage, the overdue lists, the deadlines."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.forms import apply_service_errors, form_page
from apps.matchmakers.decorators import staff_permission_required
from apps.members.selectors import member_get

from . import services
from .forms import StageMoveForm, WorkflowSettingsForm
from .selectors import member_stage, overdue_stages_escalated, overdue_stages_mine

OVERDUE_LIMIT = 200


@staff_permission_required("matchmakers.view_members", "matchmakers.view_followups")
def stage_move(request, pk):
    """The member's service stage on a page of its own; its form posts here from the member page too."""
    if request.method == "POST" and not request.user.has_perm("matchmakers.edit_followups"):
        raise PermissionDenied
    member = member_get(user=request.user, pk=pk)
    if member is None:
        raise Http404
    form, status = None, 200
    if request.method == "POST":
        current = member_stage(member=member)
        form = StageMoveForm(
            request.POST, stages=services.stages_allowed(request.user, current.stage if current else None)
        )
        if form.is_valid():
            try:
                services.stage_advance(
                    agency=request.agency, actor=request.user, member=member, to_stage=form.cleaned_data["stage"],
                    note=form.cleaned_data["note"],
                )  # fmt: skip
            except ValidationError as error:
                apply_service_errors(form, error)
            except PermissionDenied as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("%(member)s has moved on in the service workflow.") % {"member": member})
                return redirect("members:detail", pk=member.pk)
        status = 400
    return render(request, "followups/service_stage.html", {"member": member, "form": form}, status=status)


@staff_permission_required("matchmakers.view_members", "matchmakers.view_followups")
def overdue_service(request):
    """Overdue service steps: the user's own, and those escalated from the staff below them."""
    mine = overdue_stages_mine(user=request.user)
    team = overdue_stages_escalated(user=request.user)
    return render(request, "followups/overdue_service.html", {
        "mine": mine[:OVERDUE_LIMIT], "team": team[:OVERDUE_LIMIT], "limit": OVERDUE_LIMIT, "now": timezone.now(),
    })  # fmt: skip


@staff_permission_required("matchmakers.edit_settings")
def workflow_settings(request):
    """The agency's deadline for each service stage."""
    settings = services.workflow_settings_for(request.agency)
    form = WorkflowSettingsForm(request.POST or None, instance=settings)

    def saved():
        messages.success(request, _("The service deadlines have been saved."))
        return redirect("followups:workflow_settings")

    return form_page(
        request,
        form,
        template="followups/workflow_settings.html",
        on_saved=saved,
        save=lambda: services.workflow_settings_save(agency=request.agency, actor=request.user, settings=form.instance),
    )
