"""Sales reports (F-G5): the report page and its .xlsx export."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from apps.matchmakers.decorators import staff_permission_required

from . import reports

VIEW_REPORTS = "matchmakers.view_reports"
EXPORT = "matchmakers.export_data"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _unknown_period(request, period: str):
    message = _("There is no report period “%(period)s”. Choose one of: %(periods)s.") % {
        "period": period, "periods": ", ".join(str(choice.label) for choice in reports.PERIODS.values())}  # fmt: skip
    context = {"periods": reports.PERIODS, "period": None, "report": None, "error": message}
    return render(request, "finance/sales_report.html", context, status=400)


@require_GET
@staff_permission_required(VIEW_REPORTS)
def sales_report(request):
    period = request.GET.get("period") or reports.DEFAULT_PERIOD
    if period not in reports.PERIODS:
        return _unknown_period(request, period)
    report = reports.sales_report(user=request.user, period=period)
    context = {"periods": reports.PERIODS, "period": period, "report": report}
    return render(request, "finance/sales_report.html", context)


@require_GET
@staff_permission_required(VIEW_REPORTS, EXPORT)
def sales_report_export(request):
    period = request.GET.get("period") or reports.DEFAULT_PERIOD
    if period not in reports.PERIODS:
        return _unknown_period(request, period)
    report = reports.sales_report(user=request.user, period=period)
    response = HttpResponse(content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="sales-{period}-{report.end:%Y%m%d}.xlsx"'
    reports.sales_report_workbook(report).save(response)
    return response
