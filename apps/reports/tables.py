"""The dashboards as tables: what the table view shows, what the .xlsx export holds, what the charts draw.

One table per chart, built once from a `dashboards.Dashboard`; the chart's data is derived from the
table, so the picture, the table under it and the spreadsheet can never disagree.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from .dashboards import Dashboard, percent

MONEY_FORMAT = "#,##0.00"
CHARTS = ("growth", "funnel", "leaderboard", "success", "sales")


@dataclass
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    totals: list | None = None
    chart: dict = field(default_factory=dict)  # what static/js/dashboards.js draws

    @property
    def empty(self) -> bool:
        return not self.rows


def period_label(period, bucket: str) -> str:
    if bucket == "month":
        return period.strftime("%Y-%m")
    if bucket == "week":
        return _("Week of %(day)s") % {"day": period.isoformat()}
    return period.isoformat()


def _number(value):
    """JSON-friendly numbers for the charts (Decimal is not JSON)."""
    return float(value) if isinstance(value, Decimal) else value


def _series(table: Table, columns: range) -> list[dict]:
    return [{"name": table.headers[index], "data": [_number(row[index]) for row in table.rows]} for index in columns]


def growth(board: Dashboard) -> Table:
    sources = board.growth_sources
    table = Table("growth", _("Member growth by source"), [_("Period"), *[label for _value, label in sources],
                                                              _("Total")])  # fmt: skip
    for period in board.periods if board.growth else []:
        counts = [board.growth.get(period, {}).get(value, 0) for value, _label in sources]
        table.rows.append([period_label(period, board.bucket), *counts, sum(counts)])
    if table.rows:
        totals = [board.growth_total(value) for value, _label in sources]
        table.totals = [_("Total"), *totals, sum(totals)]
    table.chart = {"kind": "stacked", "categories": [row[0] for row in table.rows],
                   "series": _series(table, range(1, len(sources) + 1))}  # fmt: skip
    return table


def funnel(board: Dashboard) -> Table:
    table = Table("funnel", _("Funnel: lead to success"),
                  [_("Stage"), _("Members"), _("Of the stage before (%)"), _("Of leads (%)")])  # fmt: skip
    if any(stage.count for stage in board.funnel):
        table.rows = [[stage.label, stage.count, stage.rate_from_previous, stage.rate_from_leads]
                      for stage in board.funnel]  # fmt: skip
    table.chart = {"kind": "funnel", "categories": [row[0] for row in table.rows],
                   "series": _series(table, range(1, 2))}  # fmt: skip
    return table


def leaderboard(board: Dashboard) -> Table:
    table = Table("leaderboard", _("Matchmaker leaderboard"), [
        _("Matchmaker"), _("Leads followed"), _("Contracts signed"), _("Revenue net of refunds (yuan)"),
        _("Appointments booked"), _("Successes"), _("Average days to first recommendation"),
    ])  # fmt: skip
    for row in board.leaderboard:
        table.rows.append([row.name, row.followed, row.contracts, row.revenue, row.arranged, row.successes,
                           row.days_to_first_recommendation])  # fmt: skip
    if table.rows:
        table.totals = [_("Total"), *[sum(row[index] for row in table.rows) for index in range(1, 6)], None]
    top = table.rows[:15]
    table.chart = {"kind": "bars", "categories": [row[0] for row in top],
                   "series": [{"name": table.headers[3], "data": [_number(row[3]) for row in top]}]}  # fmt: skip
    return table


def success(board: Dashboard) -> Table:
    table = Table("success", _("Match success rate"), [
        _("Period"), _("Appointments held"), _("Led to a relationship"), _("Success rate (%)"),
    ])  # fmt: skip
    for period in board.periods if board.success else []:
        held, matched = board.success.get(period, (0, 0))
        table.rows.append([period_label(period, board.bucket), held, matched, percent(matched, held)])
    if table.rows:
        table.totals = [_("Total"), board.held, board.matched, board.success_rate]
    table.chart = {"kind": "rate", "categories": [row[0] for row in table.rows],
                   "series": _series(table, range(1, 4))}  # fmt: skip
    return table


def sales(board: Dashboard) -> Table:
    packages = board.packages
    table = Table("sales", _("Sales by period and package (net of refunds, yuan)"),
                  [_("Period"), *[name for _pk, name in packages], _("Total")])  # fmt: skip
    for period in board.periods if board.sales else []:
        row = board.sales.get(period, {})
        amounts = [row[pk].net if pk in row else Decimal("0") for pk, _name in packages]
        table.rows.append([period_label(period, board.bucket), *amounts, sum(amounts, Decimal("0"))])
    if table.rows:
        amounts = [board.sales_totals[pk].net for pk, _name in packages]
        table.totals = [_("Total"), *amounts, sum(amounts, Decimal("0"))]
    table.chart = {"kind": "stacked", "categories": [row[0] for row in table.rows],
                   "series": _series(table, range(1, len(packages) + 1))}  # fmt: skip
    return table


BUILDERS = {"growth": growth, "funnel": funnel, "leaderboard": leaderboard, "success": success, "sales": sales}


def tables(board: Dashboard) -> list[Table]:
    return [BUILDERS[key](board) for key in CHARTS]


def workbook(table: Table, caption: str) -> Workbook:
    """One chart's table as an .xlsx sheet: a caption (range and branch), the headings, the rows, the totals."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(re.sub(r"[\[\]:*?/\\]", " ", table.title)[:31].strip())  # what Excel allows
    sheet.append([_cell(sheet, caption, bold=True)])
    sheet.append([_cell(sheet, heading, bold=True) for heading in table.headers])
    for row in table.rows:
        sheet.append([_cell(sheet, value) for value in row])
    if table.totals:
        sheet.append([_cell(sheet, value, bold=True) for value in table.totals])
    return book


def _cell(sheet, value, *, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, Decimal):
        cell.number_format = MONEY_FORMAT
    if bold:
        cell.font = Font(bold=True)
    return cell
