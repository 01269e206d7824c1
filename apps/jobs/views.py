"""Back office of the background jobs: what ran (admins), run now, settings, and my reminders."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.forms import form_page
from apps.core.http import next_url
from apps.matchmakers.decorators import staff_permission_required

from . import registry, selectors, services
from .forms import JobSettingsForm
from .models import JobRun
from .tasks import job_run

VIEW_SETTINGS = "matchmakers.view_settings"
EDIT_SETTINGS = "matchmakers.edit_settings"


@staff_permission_required(VIEW_SETTINGS)
def run_list(request):
    """Every job of the agency with its last run, and the run history (start, end, counts, errors)."""
    job = request.GET.get("job", "")
    status = request.GET.get("status", "")
    if job not in {registered.name for registered in registry.jobs()}:
        job = ""
    if status not in JobRun.Status.values:
        status = ""
    page = Paginator(selectors.run_list(agency=request.agency, job=job, status=status), 30).get_page(
        request.GET.get("page")
    )
    last = selectors.last_runs(agency=request.agency)
    jobs = [{"name": item.name, "label": item.label, "last": last.get(item.name)} for item in registry.jobs()]
    for run in page:
        run.label = registry.label_of(run.job)
    context = {"jobs": jobs, "page": page, "job": job, "status": status, "statuses": JobRun.Status.choices}
    return render(request, "jobs/run_list.html", context)


@staff_permission_required(VIEW_SETTINGS)
def run_detail(request, pk):
    run = selectors.run_list(agency=request.agency).filter(pk=pk).first()
    if run is None:
        raise Http404
    run.label = registry.label_of(run.job)
    return render(request, "jobs/run_detail.html", {"run": run})


@require_POST
@staff_permission_required(VIEW_SETTINGS, EDIT_SETTINGS)
def run_now(request):
    name = request.POST.get("job", "")
    if name not in {registered.name for registered in registry.jobs()}:
        messages.error(request, _("Choose a job to run."))
        return redirect("jobs:runs")
    job_run.delay(agency_id=request.agency.pk, job=name)
    messages.success(request, _("%(job)s is queued; its run appears below when it starts.")
                     % {"job": registry.label_of(name)})  # fmt: skip
    return redirect("jobs:runs")


@staff_permission_required(VIEW_SETTINGS)
def job_settings(request):
    settings = services.settings_for(request.agency)
    form = JobSettingsForm(request.POST or None, instance=settings)
    if request.method == "POST" and not request.user.has_perm(EDIT_SETTINGS):
        raise PermissionDenied

    def saved():
        messages.success(request, _("The job settings have been saved."))
        return redirect("jobs:settings")

    return form_page(
        request, form, template="jobs/settings.html", on_saved=saved,
        save=lambda: services.settings_save(agency=request.agency, actor=request.user, settings=form.instance),
    )  # fmt: skip


@staff_permission_required()
def reminder_list(request):
    """The user's own reminders from the jobs: open ones by due date, or those already done."""
    done = request.GET.get("done") == "1"
    page = Paginator(selectors.reminder_list(user=request.user, done=done), 30).get_page(request.GET.get("page"))
    return render(request, "jobs/reminder_list.html", {"page": page, "done": done})


@require_POST
@staff_permission_required()
def reminder_toggle(request, pk):
    services.reminder_done(agency=request.agency, actor=request.user, reminder_id=pk,
                           done=request.POST.get("done", "1") == "1")  # fmt: skip
    return redirect(next_url(request, "jobs:reminders"))
