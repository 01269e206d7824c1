from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.core.forms import errors_sentence
from apps.matchmakers.decorators import staff_permission_required
from apps.members.filters import MemberFilter
from apps.members.selectors import member_get, member_list, tag_choices

from . import services
from .filters import AftersaleFilter
from .forms import AbandonForm, AssignForm, FollowUpForm
from .models import FollowUp
from .selectors import (
    Pool,
    aftersale_categories,
    aftersale_category_counts,
    aftersale_list,
    due_followups,
    pool_members,
    presale_list,
)  # fmt: skip

PAGE_SIZE = 25
POOL_TITLES = {
    Pool.UNASSIGNED: gettext_lazy("Unassigned leads"),
    Pool.DEALT: gettext_lazy("Signed, awaiting an after-sale matchmaker"),
    Pool.ABANDONED: gettext_lazy("Abandoned, awaiting reassignment"),
}
REASSIGN_CATEGORIES = {
    "not_followed": ({"followup_count": 0}, gettext_lazy("Not followed up")),
    "followed": ({"followup_count__gt": 0}, gettext_lazy("Followed up")),
    "not_dealt": ({"status__in": ["lead", "following"]}, gettext_lazy("Not dealt")),
    "dealt": ({"status__in": ["signed", "in_service"]}, gettext_lazy("Dealt")),
}


def _filtered_page(request, queryset):
    filterset = MemberFilter(
        request.GET,
        queryset=queryset,
        tag_choices=tag_choices(agency=request.agency),
        reveal_contacts=request.user.has_perm("matchmakers.reveal_contact"),
    )
    return filterset, Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _assign(request, queryset, *, role):
    """Bulk assignment from a pool or the reassignment list; only members of that list can be sent."""
    submitted = [int(value) for value in request.POST.getlist("members") if value.isascii() and value.isdigit()]
    allowed = list(queryset.filter(pk__in=submitted).values_list("pk", flat=True))
    form = AssignForm(request.POST, targets=services.assignable_targets(request.user), member_ids=allowed)
    if not form.is_valid():
        messages.error(request, errors_sentence(form))
        return False
    try:
        count = services.members_assign(
            agency=request.agency, actor=request.user, member_ids=form.cleaned_data["members"],
            to_user=form.cleaned_data["to_user"], role=role, reason=form.cleaned_data["reason"],
        )  # fmt: skip
    except PermissionDenied as error:
        messages.error(request, str(error))
        return False
    messages.success(
        request, _("%(count)s member(s) assigned to %(name)s.") % {"count": count, "name": form.cleaned_data["to_user"]}
    )
    return True


@staff_permission_required("matchmakers.view_assignment")
def pools(request):
    """Assignment pools (F-D1) with the registration-window filters and bulk assignment."""
    pool = request.GET.get("pool", Pool.UNASSIGNED)
    if pool not in Pool.ALL:
        pool = Pool.UNASSIGNED
    queryset = pool_members(agency=request.agency, pool=pool)
    role = "aftersale" if pool == Pool.DEALT else "presale"
    status = 200
    if request.method == "POST":
        if not request.user.has_perm("matchmakers.assign_members"):
            raise PermissionDenied
        if _assign(request, queryset, role=role):
            return redirect(request.get_full_path())
        status = 400
    filterset, page = _filtered_page(request, queryset)
    context = {
        "pool": pool, "pools": POOL_TITLES, "filter": filterset, "page": page,
        "assign_form": AssignForm(targets=services.assignable_targets(request.user)),
        "title": POOL_TITLES[pool],
    }  # fmt: skip
    return render(request, "followups/pools.html", context, status=status)


@staff_permission_required("matchmakers.view_members", "matchmakers.assign_members")
def reassign(request):
    """Reassignment (F-D2) of members of the user's branch, by category."""
    category = request.GET.get("category", "not_followed")
    if category not in REASSIGN_CATEGORIES:
        category = "not_followed"
    lookup, title = REASSIGN_CATEGORIES[category]
    queryset = member_list(user=request.user).filter(**lookup)
    status = 200
    if request.method == "POST":
        role = "aftersale" if request.POST.get("role") == "aftersale" else "presale"
        if _assign(request, queryset, role=role):
            return redirect(request.get_full_path())
        status = 400
    filterset, page = _filtered_page(request, queryset)
    context = {
        "category": category, "categories": {key: label for key, (_lookup, label) in REASSIGN_CATEGORIES.items()},
        "filter": filterset, "page": page, "title": title,
        "assign_form": AssignForm(targets=services.assignable_targets(request.user)),
    }  # fmt: skip
    return render(request, "followups/reassign.html", context, status=status)


@staff_permission_required("matchmakers.view_members")
def presale(request):
    """The presale list (F-E1): own and delegated members, by registration window and follow-ups."""
    filterset, page = _filtered_page(request, presale_list(user=request.user))
    return render(request, "followups/presale.html", {"filter": filterset, "page": page})


@staff_permission_required("matchmakers.view_members", "matchmakers.view_followups")
def aftersale(request):
    """The after-sale list (F-F1): members served by the user or their team, by follow-up category."""
    categories = aftersale_categories()
    category = request.GET.get("category", "all")
    if category not in categories:
        category = "all"
    filterset = AftersaleFilter(
        request.GET,
        queryset=aftersale_list(user=request.user),
        tag_choices=tag_choices(agency=request.agency),
        reveal_contacts=request.user.has_perm("matchmakers.reveal_contact"),
    )
    members = filterset.qs
    counts = aftersale_category_counts(members, categories)
    page = Paginator(members.filter(categories[category][1]), PAGE_SIZE).get_page(request.GET.get("page"))
    tabs = [(key, label, counts[key]) for key, (label, _condition) in categories.items()]
    return render(request, "followups/aftersale.html", {
        "filter": filterset, "page": page, "category": category, "tabs": tabs, "now": timezone.now(),
    })  # fmt: skip


@staff_permission_required("matchmakers.view_followups")
def due(request):
    """Follow-ups due today or overdue, for the logged-in matchmaker."""
    members = due_followups(user=request.user)[:200]
    return render(request, "followups/due.html", {"members": members, "now": timezone.now()})


@require_POST
@staff_permission_required("matchmakers.view_members", "matchmakers.add_followups")
def followup_create(request, pk):
    member = member_get(user=request.user, pk=pk)
    if member is None:
        raise Http404
    form = FollowUpForm(request.POST)
    if form.is_valid():
        try:
            followup = services.followup_add(
                agency=request.agency, actor=request.user, member=member, **form.cleaned_data
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            if followup.kind == FollowUp.Kind.SERVICE_NOTE:
                messages.success(request, _("The service note has been recorded."))
            else:
                messages.success(request, _("The follow-up has been recorded."))
    else:
        messages.error(request, _("The follow-up was not recorded: %(errors)s")
                       % {"errors": errors_sentence(form)})  # fmt: skip
    return redirect("members:detail", pk=member.pk)


@require_POST
@staff_permission_required("matchmakers.view_members", "matchmakers.edit_members")
def abandon(request, pk):
    member = member_get(user=request.user, pk=pk)
    if member is None:
        raise Http404
    form = AbandonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the member is abandoned."))
        return redirect("members:detail", pk=member.pk)
    services.member_abandon(
        agency=request.agency, actor=request.user, member=member, reason=form.cleaned_data["reason"]
    )
    messages.success(request, _("%(member)s has been moved to the abandoned pool.") % {"member": member})
    return redirect("followups:presale")
