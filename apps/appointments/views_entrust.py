"""Entrust requests (委托红娘, F-F6) in the back office: the list of requests of members the user may
see, and one request's page to assign, recommend through the match library, or decline."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.core.forms import apply_service_errors
from apps.matching import engine
from apps.matchmakers.decorators import staff_permission_required
from apps.matchmakers.selectors import staff_list

from . import entrust, selectors
from .forms_entrust import EntrustAssignForm, EntrustDeclineForm, EntrustFilter, EntrustRecommendForm

PAGE_SIZE = 25
VIEW = ("matchmakers.view_members", "matchmakers.view_matches")
HANDLE = entrust.HANDLE_PERM


@staff_permission_required(*VIEW)
def entrust_list(request):
    filterset = EntrustFilter(request.GET, queryset=selectors.entrust_list(user=request.user), user=request.user)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    template = "appointments/entrust_list.html#rows" if request.htmx else "appointments/entrust_list.html"
    return render(request, template, {"filter": filterset, "page": page})


def _request_or_404(request, pk):
    # Another agency's request, or one of a member the user cannot see, does not exist here.
    found = selectors.entrust_detail(user=request.user, pk=pk)
    if found is None:
        raise Http404
    return found


def _assignable(request):
    return staff_list(user=request.user).filter(is_active=True)


def _match(agency, entrust_request) -> dict:
    """What the engine says of the pair a target request asks for: whether the member is looking at all,
    and the score when the pair passes both sides' criteria (None when it does not)."""
    if entrust_request.target_id is None or entrust_request.status in entrust_request.CLOSED:
        return {}
    matchable = engine.is_matchable(entrust_request.member)
    found = engine.pair(agency=agency, member=entrust_request.member,
                        candidate=entrust_request.target) if matchable else None  # fmt: skip
    return {"matchable": matchable, "pair": found}


def _page(request, entrust_request, *, status=200, **forms):
    needs_candidate = entrust_request.target_id is None
    initial = {"to_user": entrust_request.assigned_to_id or request.user.pk}
    context = {
        "entrust": entrust_request,
        "undecided": entrust_request.status in selectors.UNDECIDED,
        "assign_form": forms.get("assign_form") or EntrustAssignForm(staff=_assignable(request), initial=initial),
        "recommend_form": forms.get("recommend_form") or EntrustRecommendForm(needs_candidate=needs_candidate),
        "decline_form": forms.get("decline_form") or EntrustDeclineForm(),
        **_match(request.agency, entrust_request),
    }
    return render(request, "appointments/entrust_detail.html", context, status=status)


@staff_permission_required(*VIEW)
def entrust_detail(request, pk):
    return _page(request, _request_or_404(request, pk))


DONE_MESSAGES = {
    "assign": gettext_lazy("The request is assigned."),
    "recommend": gettext_lazy("The recommendation is made; the member sees it in the portal."),
    "decline": gettext_lazy("The request is declined; the member reads your reason in the portal."),
}


def _form(request, entrust_request, action: str):
    if action == "assign":
        return EntrustAssignForm(request.POST, staff=_assignable(request))
    if action == "recommend":
        return EntrustRecommendForm(request.POST, needs_candidate=entrust_request.target_id is None)
    return EntrustDeclineForm(request.POST)


def _run(request, entrust_request, action: str, form) -> None:
    agency, actor, data = request.agency, request.user, form.cleaned_data
    if action == "assign":
        entrust.entrust_assign(agency=agency, actor=actor, request=entrust_request, to_user=data["to_user"])
    elif action == "recommend":
        candidate = None
        if data.get("candidate"):
            candidate = selectors.member_by_number(agency=agency, number=data["candidate"])
            if candidate is None:
                raise ValidationError({"candidate": _("No member of the agency has this number; check it on the "
                                                         "member's page.")})  # fmt: skip
        entrust.entrust_recommend(agency=agency, actor=actor, request=entrust_request, reason=data["reason"],
                                  candidate=candidate)  # fmt: skip
    else:
        entrust.entrust_decline(agency=agency, actor=actor, request=entrust_request, reason=data["reason"])


@require_POST
@staff_permission_required(*VIEW, HANDLE)
def entrust_action(request, pk, action):
    """assign, recommend, decline. Refused input answers 400 with the page, the reason, and nothing changed."""
    if action not in DONE_MESSAGES:
        raise Http404
    entrust_request = _request_or_404(request, pk)
    form = _form(request, entrust_request, action)
    if form.is_valid():
        try:
            _run(request, entrust_request, action, form)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, DONE_MESSAGES[action])
            return redirect("appointments:entrust", pk=entrust_request.pk)
    messages.error(request, _("Nothing was changed: %(errors)s") % {
        "errors": " ".join(str(e) for errors in form.errors.values() for e in errors)})  # fmt: skip
    return _page(request, _request_or_404(request, pk), status=400, **{f"{action}_form": form})
