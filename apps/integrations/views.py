"""The OElove sync in the back office (F-H2): the site's settings, the run log, conflicts to decide."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.forms import apply_service_errors
from apps.matchmakers.decorators import staff_permission_required

from . import selectors, services
from .forms import ConflictResolveForm, OeloveSourceForm
from .models import OeloveSource, SyncConflict, SyncRun

PERM = "matchmakers.edit_settings"
PAGE_SIZE = 25
SKIP_PAGE_SIZE = 50


@staff_permission_required(PERM)
def source_settings(request):
    source = selectors.oelove_source_get(agency=request.agency) or OeloveSource(agency=request.agency)
    form = OeloveSourceForm(request.POST or None, instance=source)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            if request.POST.get("action") == "test":
                ok, message = services.oelove_connection_test(
                    agency=request.agency, source=form.instance, password=form.cleaned_data.get("password", "")
                )
                (messages.success if ok else messages.error)(request, message)
                status = 200 if ok else 400
            else:
                try:
                    services.oelove_source_save(agency=request.agency, actor=request.user, source=form.instance,
                                                password=form.cleaned_data.get("password", ""))  # fmt: skip
                except ValidationError as error:
                    apply_service_errors(form, error)
                    status = 400
                else:
                    messages.success(request, _("The OElove site's settings have been saved."))
                    return redirect("integrations:oelove")
        else:
            status = 400
    context = {"form": form, "source": source if source.pk else None,
               "last_runs": selectors.sync_run_list(agency=request.agency)[:5]}  # fmt: skip
    return render(request, "integrations/source_settings.html", context, status=status)


@require_POST
@staff_permission_required(PERM)
def run_now(request):
    try:
        services.oelove_sync_queue(agency=request.agency, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("integrations:oelove")
    messages.success(request, _("The sync has been queued; its run appears below within a minute."))
    return redirect("integrations:runs")


@staff_permission_required(PERM)
def run_list(request):
    page = Paginator(selectors.sync_run_list(agency=request.agency), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "integrations/run_list.html", {"page": page, "runs": page.object_list})


@staff_permission_required(PERM)
def run_detail(request, pk):
    run = get_object_or_404(SyncRun.objects.select_related("requested_by", "resumed_from"), agency=request.agency,
                            pk=pk)  # fmt: skip
    page = Paginator(selectors.sync_skip_list(agency=request.agency, run=run), SKIP_PAGE_SIZE).get_page(
        request.GET.get("page"))  # fmt: skip
    count_columns = ["read", "created", "updated", "merged", "unchanged", "skipped", "values_dropped", "conflicts"]
    tables = [(name, [values.get(column, 0) for column in count_columns]) for name, values in run.counts.items()]
    context = {"run": run, "page": page, "skips": page.object_list, "tables": tables, "count_columns": count_columns}
    return render(request, "integrations/run_detail.html", context)


@staff_permission_required(PERM)
def conflict_list(request):
    page = Paginator(selectors.sync_conflict_list(agency=request.agency), PAGE_SIZE).get_page(request.GET.get("page"))
    conflicts = list(page.object_list)
    members = selectors.conflict_candidates(agency=request.agency, conflicts=conflicts)
    rows = [(conflict, [members[i] for i in conflict.candidate_ids if i in members]) for conflict in conflicts]
    return render(request, "integrations/conflict_list.html", {"page": page, "rows": rows})


@require_POST
@staff_permission_required(PERM)
def conflict_resolve(request, pk):
    conflict = get_object_or_404(SyncConflict, agency=request.agency, pk=pk)
    form = ConflictResolveForm(request.POST)
    if not form.is_valid() or (form.cleaned_data["action"] == "link" and not form.cleaned_data["member"]):
        messages.error(request, _("Choose a member to link, or ignore this OElove user."))
        return redirect("integrations:conflicts")
    member_id = form.cleaned_data["member"] if form.cleaned_data["action"] == "link" else None
    try:
        services.sync_conflict_resolve(agency=request.agency, actor=request.user, conflict=conflict,
                                       member_id=member_id)  # fmt: skip
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Decided: the next sync takes it into account."))
    return redirect("integrations:conflicts")
