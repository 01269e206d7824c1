"""The consultations inbox (F-E5): questions from the public site, assigned, converted or closed."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.core.forms import errors_sentence
from apps.matchmakers.decorators import staff_permission_required
from apps.members.choices import Gender

from . import intake
from .models import Consultation
from .services import assignable_targets

PAGE_SIZE = 25
VIEW = "matchmakers.view_followups"
STATUS_TABS = {
    "open": gettext_lazy("Open"),
    Consultation.Status.PENDING: gettext_lazy("Pending"),
    Consultation.Status.ASSIGNED: gettext_lazy("Assigned"),
    Consultation.Status.CONVERTED: gettext_lazy("Converted"),
    Consultation.Status.CLOSED: gettext_lazy("Closed"),
    "all": gettext_lazy("All"),
}


class ConsultationAssignForm(forms.Form):
    to_user = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Assign to"))

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = targets


class ConsultationConvertForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=50, required=False)
    gender = forms.ChoiceField(label=gettext_lazy("Gender"), choices=Gender.choices, required=False)


class ConsultationCloseForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200, required=False)


def _inbox(request, *, status_code=200):
    status = request.GET.get("status", "open")
    if status not in STATUS_TABS:
        status = "open"
    page = Paginator(intake.consultation_inbox(user=request.user, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    may_assign = request.user.has_perm("matchmakers.assign_members")
    context = {
        "status": status,
        "tabs": STATUS_TABS,
        "page": page,
        "targets": list(assignable_targets(request.user).order_by("name")) if may_assign else [],
        "genders": Gender.choices,
    }
    return render(request, "followups/consultations.html", context, status=status_code)


@staff_permission_required(VIEW)
def consultation_list(request):
    return _inbox(request)


def _consultation_or_404(request, pk) -> Consultation:
    consultation = intake.consultation_get(user=request.user, pk=pk)
    if consultation is None:
        raise Http404
    return consultation


def _back(request):
    """To the inbox tab the action was taken from."""
    status = request.POST.get("next_status", "")
    url = redirect("followups:consultations").url
    return redirect(f"{url}?status={status}" if status in STATUS_TABS else url)


def _act(request, action, success_message: str):
    try:
        result = action()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _inbox(request, status_code=400)
    except PermissionDenied as error:
        messages.error(request, str(error))
        return _inbox(request, status_code=403)
    messages.success(request, success_message % {"result": result})
    return _back(request)


@require_POST
@staff_permission_required(VIEW, "matchmakers.assign_members")
def consultation_assign(request, pk):
    consultation = _consultation_or_404(request, pk)
    form = ConsultationAssignForm(request.POST, targets=assignable_targets(request.user))
    if not form.is_valid():
        messages.error(request, _("Not assigned: %(errors)s") % {"errors": errors_sentence(form)})
        return _inbox(request, status_code=400)
    to_user = form.cleaned_data["to_user"]
    return _act(
        request,
        lambda: (
            intake.consultation_assign(
                agency=request.agency, actor=request.user, consultation=consultation, to_user=to_user
            ).assigned_to
        ),
        _("The consultation has been assigned to %(result)s."),
    )


@require_POST
@staff_permission_required(VIEW, "matchmakers.add_members", "matchmakers.add_followups")
def consultation_convert(request, pk):
    consultation = _consultation_or_404(request, pk)
    form = ConsultationConvertForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Not converted: %(errors)s") % {"errors": errors_sentence(form)})
        return _inbox(request, status_code=400)
    return _act(
        request,
        lambda: intake.consultation_convert(
            agency=request.agency, actor=request.user, consultation=consultation, **form.cleaned_data
        ),
        _("Converted: the message is now a follow-up of %(result)s."),
    )


@require_POST
@staff_permission_required(VIEW)
def consultation_close(request, pk):
    consultation = _consultation_or_404(request, pk)
    form = ConsultationCloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Not closed: %(errors)s") % {"errors": errors_sentence(form)})
        return _inbox(request, status_code=400)
    return _act(
        request,
        lambda: (
            intake.consultation_close(
                agency=request.agency, actor=request.user, consultation=consultation, reason=form.cleaned_data["reason"]
            ).name
        ),
        _("The consultation from %(result)s has been closed."),
    )
