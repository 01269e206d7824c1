from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from apps.finance.services import agency_today
from apps.matchmakers.decorators import staff_permission_required

from . import dashboards, selectors, tables
from .forms import DashboardFilterForm

VIEW_REPORTS = "matchmakers.view_reports"
EXPORT = "matchmakers.export_data"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
def workbench(request):
    """Where staff land after logging in: today's work and what awaits them, each block a link (F-I1)."""
    return render(request, "reports/workbench.html", {"blocks": selectors.workbench(user=request.user)})


def _filtered(request):
    """(form, dashboard or None): the dashboards of the range and branch asked for, if the filter is valid."""
    start, end = dashboards.default_range(request.agency)
    data = request.GET.copy()
    if not data:
        data.update({"start": start.isoformat(), "end": end.isoformat()})
    elif not data.get("end"):
        data["end"] = end.isoformat()  # shown in the form: the range is always visible as it is counted
    form = DashboardFilterForm(data, user=request.user)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    board = dashboards.dashboard(user=request.user, start=data["start"], end=data["end"], branch=data.get("branch"))
    return form, board


@require_GET
@staff_permission_required(VIEW_REPORTS)
def dashboard(request):
    """Growth, funnel, leaderboard, match success and sales over a date range, for the user's branch (F-I2)."""
    form, board = _filtered(request)
    context = {
        "form": form, "board": board, "tables": tables.tables(board) if board else [],
        "presets": DashboardFilterForm.presets(agency_today(request.agency)),
    }  # fmt: skip
    return render(request, "reports/dashboard.html", context, status=200 if board else 400)


@require_GET
@staff_permission_required(VIEW_REPORTS, EXPORT)
def dashboard_export(request, chart: str):
    """One chart's table as .xlsx, for the same range and branch as the page."""
    if chart not in tables.CHARTS:
        raise Http404
    form, board = _filtered(request)
    if board is None:
        errors = "; ".join(str(error) for errors in form.errors.values() for error in errors)
        return HttpResponse(_("The filter is not valid: %(errors)s") % {"errors": errors}, status=400,
                            content_type="text/plain; charset=utf-8")  # fmt: skip
    table = tables.BUILDERS[chart](board)
    branch = form.cleaned_data.get("branch")
    caption = _("%(start)s – %(end)s, %(branch)s") % {
        "start": board.start.isoformat(), "end": board.end.isoformat(),
        "branch": branch.name if branch else _("everything I may see"),
    }  # fmt: skip
    response = HttpResponse(content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{chart}-{board.start:%Y%m%d}-{board.end:%Y%m%d}.xlsx"'
    tables.workbook(table, caption).save(response)
    return response
