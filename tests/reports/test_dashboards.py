"""The dashboards (F-I2): every figure equals a direct count of the rows, live or rolled up, inside the role tree."""

import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from apps.agencies.context import agency_context
from apps.appointments import services as appointment_services
from apps.appointments.models import Appointment
from apps.finance import reports as finance_reports
from apps.finance.models import SalesRollupDay
from apps.finance.services import agency_today
from apps.jobs.registry import run_job
from apps.reports import dashboards, rollups, tables
from apps.reports.models import DailyFigure, DashboardRollupDay
from tests.appointments.factories import book, move_to_past, served_member, service_team
from tests.conftest import agency_client
from tests.matchmakers.factories import UserFactory, root_role
from tests.reports import data

pytestmark = pytest.mark.django_db

URL = "/staff/dashboards/"


@pytest.fixture
def people(agency):
    return data.team(agency)


@pytest.fixture
def busy(agency, people):
    data.generate(agency, people)
    return people


def _range(agency, days: int):
    today = agency_today(agency)
    return today - datetime.timedelta(days=days - 1), today


def _board(agency, user, start, end, branch=None):
    with agency_context(agency):
        return dashboards.dashboard(user=user, start=start, end=end, branch=branch)


def _leaders(board) -> dict:
    figures = {}
    for row in board.leaderboard:
        values = {"followed": row.followed, "contracts": row.contracts, "revenue": row.revenue,
                  "arranged": row.arranged, "successes": row.successes,
                  "days": row.days_to_first_recommendation}  # fmt: skip
        figures[row.staff_id] = {name: value for name, value in values.items() if value}
    return {who: values for who, values in figures.items() if values}


def _expected_leaders(expect) -> dict:
    figures = {}
    for who, values in expect["leaders"].items():
        row = {name: values[name] for name in ("followed", "contracts", "revenue", "arranged", "successes")}
        if values["timed"]:
            row["days"] = (values["seconds"] / values["timed"] / 86400).quantize(Decimal("0.1"))
        figures[who] = {name: value for name, value in row.items() if value}
    return {who: values for who, values in figures.items() if values}


def assert_matches(agency, board, *, staff_ids):
    """Every figure of `board` against the direct count of the rows (tests/reports/data.expected)."""
    expect = data.expected(agency, start=board.start, end=board.end, staff_ids=staff_ids)
    funnel = {str(metric): stage.count for (metric, _label), stage in zip(dashboards.FUNNEL, board.funnel, strict=True)}
    assert funnel == {str(metric): expect["funnel"][str(metric)] for metric, _label in dashboards.FUNNEL}
    growth = {(period, source): count for period, row in board.growth.items() for source, count in row.items()}
    assert {key: count for key, count in growth.items() if count} == dict(expect["growth"])
    assert {period: list(pair) for period, pair in board.success.items() if any(pair)} == dict(expect["success"])
    sales = {(period, package): figures.net for period, row in board.sales.items() for package, figures in row.items()}
    assert {key: net for key, net in sales.items() if net} == {key: net for key, net in expect["sales"].items() if net}
    assert _leaders(board) == _expected_leaders(expect)
    return expect


def _roll_up_everything(agency):
    with agency_context(agency):
        finance_reports.rollup_pending(agency=agency)
        return rollups.rollup_pending(agency=agency)


def test_every_figure_equals_a_direct_count_live_rolled_up_and_mixed(agency, busy):
    start, end = _range(agency, 45)  # weeks
    live = _board(agency, busy["admin"], start, end)
    expect = assert_matches(agency, live, staff_ids=None)
    assert live.live_days == 45
    assert sum(expect["funnel"].values()) > 40 and expect["success"] and expect["sales"]  # the data is not trivial

    assert _roll_up_everything(agency) >= 44
    rolled = _board(agency, busy["admin"], start, end)
    assert rolled.live_days == 1  # today
    assert DailyFigure.unscoped.filter(agency=agency).exists()
    assert_matches(agency, rolled, staff_ids=None)
    assert (rolled.funnel, rolled.growth, rolled.success) == (live.funnel, live.growth, live.success)

    # A day made stale again is counted live, the rest from the roll-up: still the same figures.
    stale = start + datetime.timedelta(days=10)
    with agency_context(agency):
        rollups.mark_stale(agency, {stale, stale + datetime.timedelta(days=3)})
    mixed = _board(agency, busy["admin"], start, end)
    assert mixed.live_days == 3
    assert_matches(agency, mixed, staff_ids=None)


@pytest.mark.parametrize("days", [7, 31, 200])
def test_days_weeks_and_months_all_add_up(agency, busy, days):
    _roll_up_everything(agency)
    start, end = _range(agency, days)
    board = _board(agency, busy["admin"], start, end)
    assert board.bucket == {7: "day", 31: "day", 200: "month"}[days]
    assert_matches(agency, board, staff_ids=None)
    assert board.periods[0] <= start and board.periods[-1] <= end


def test_a_matchmaker_sees_only_their_branch(agency, busy):
    _roll_up_everything(agency)
    start, end = _range(agency, 45)
    ids = lambda *names: {busy[name].pk for name in names}  # noqa: E731

    manager = _board(agency, busy["manager"], start, end)
    assert_matches(agency, manager, staff_ids=ids("manager", "presale", "presale2", "aftersale"))
    assert {row.staff_id for row in manager.leaderboard} <= ids("manager", "presale", "presale2", "aftersale")
    assert None not in {row.staff_id for row in manager.leaderboard}  # the public pool is not their branch

    lead = _board(agency, busy["lead"], start, end)
    assert_matches(agency, lead, staff_ids=ids("lead", "seller"))

    # The admin narrows to one branch; the manager may narrow inside theirs.
    presale_role = busy["roles"]["presale"]
    assert_matches(agency, _board(agency, busy["admin"], start, end, branch=presale_role),
                   staff_ids=ids("presale", "presale2"))  # fmt: skip
    assert_matches(agency, _board(agency, busy["manager"], start, end, branch=presale_role),
                   staff_ids=ids("presale", "presale2"))  # fmt: skip
    # Finance sees the whole agency, as in the sales report.
    assert_matches(agency, _board(agency, busy["finance"], start, end), staff_ids=None)


def test_the_page_shows_every_chart_with_its_table(agency, busy):
    _roll_up_everything(agency)
    response = agency_client(agency, busy["admin"]).get(URL, {"start": str(_range(agency, 45)[0])})
    assert response.status_code == 200
    for key in ("growth", "funnel", "leaderboard", "success", "sales"):
        assert f'id="dash-{key}"' in response.text
        assert f'id="{key}-data"' in response.text  # the chart's data, a json_script block
        assert f'data-table="{key}"' in response.text
    assert "echarts.min.js" in response.text and "js/dashboards.js" in response.text
    assert "<script>" not in response.text  # no inline script: data in JSON blocks, code in static files
    board = response.context["board"]
    assert f'data-figure="success-rate">{board.success_rate}%' in response.text
    for row in board.leaderboard:
        assert row.name in response.text


def test_the_default_range_is_the_last_30_days(agency, busy):
    response = agency_client(agency, busy["admin"]).get(URL)
    assert response.status_code == 200
    board = response.context["board"]
    assert (board.start, board.end) == _range(agency, 30)
    assert response.context["form"]["start"].value() == board.start.isoformat()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2026-13-01"}, "Enter a valid date."),
        ({"start": "2026-11-20", "end": "2026-11-01"}, "The start must not be after the end."),
        ({"end": "2099-01-01"}, "The range cannot end after today."),
        ({"start": "2020-01-01"}, "Choose at most 731 days."),
        ({"branch": "999999"}, "Select a valid choice."),
    ],
)
def test_a_bad_filter_says_what_is_wrong_and_shows_no_figures(agency, busy, query, message):
    before = DailyFigure.unscoped.count(), DashboardRollupDay.unscoped.count()
    response = agency_client(agency, busy["admin"]).get(URL, query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert message in response.text
    assert response.context["board"] is None
    assert 'id="dashboard-error"' in response.text
    assert (DailyFigure.unscoped.count(), DashboardRollupDay.unscoped.count()) == before
    export = agency_client(agency, busy["admin"]).get(reverse("reports:dashboard_export", args=["funnel"]), query,
                                                      HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert export.status_code == 400 and message in export.content.decode()


def test_a_manager_cannot_pick_a_branch_outside_their_own(agency, busy):
    response = agency_client(agency, busy["manager"]).get(URL, {"branch": busy["roles"]["lead"].pk},
                                                          HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert response.status_code == 400
    assert "Select a valid choice." in response.text
    options = response.context["form"].fields["branch"].queryset
    assert busy["roles"]["lead"] not in options and busy["roles"]["presale"] in options


def test_each_chart_exports_its_table_as_xlsx(agency, busy):
    _roll_up_everything(agency)
    start, _end = _range(agency, 45)
    client = agency_client(agency, busy["admin"])
    board = client.get(URL, {"start": str(start)}).context["board"]

    for key, build in tables.BUILDERS.items():
        response = client.get(reverse("reports:dashboard_export", args=[key]), {"start": str(start)})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
        table = build(board)
        assert list(rows[1]) == table.headers
        body = [list(row) for row in rows[2: 2 + len(table.rows)]]
        assert body == [[float(value) if isinstance(value, Decimal) else value for value in row] for row in table.rows]


def test_another_agencys_users_see_nothing_of_this_agency(agency, other_agency, busy):
    outsider = UserFactory(agency=other_agency, username="boss", perms=data.REPORTS)
    assert agency_client(other_agency, outsider).get(URL, HTTP_HOST=f"{agency.slug}.localhost").status_code == 302
    export = reverse("reports:dashboard_export", args=["leaderboard"])
    assert agency_client(other_agency, outsider).get(export, HTTP_HOST=f"{agency.slug}.localhost").status_code == 302
    # On their own agency's address the dashboards hold none of this agency's figures.
    _roll_up_everything(agency)
    response = agency_client(other_agency, outsider).get(URL, {"start": str(_range(other_agency, 200)[0])})
    assert response.status_code == 200
    board = response.context["board"]
    assert board.empty and not board.leaderboard and not board.sales
    for name in ("presale", "aftersale", "白银会员7", "钻石会员7"):
        assert busy[name].name not in response.text if name in busy else name not in response.text


def test_roles_without_reports_or_export_are_refused(agency, busy):
    clerk = UserFactory(agency=agency, username="clerk", perms=["matchmakers.view_members"])
    assert agency_client(agency, clerk).get(URL).status_code == 403
    assert agency_client(agency, clerk).get(reverse("reports:dashboard_export", args=["sales"])).status_code == 403
    seller = busy["seller"]  # may not view reports
    assert agency_client(agency, seller).get(URL).status_code == 403
    no_export = UserFactory(agency=agency, username="viewer", perms=["matchmakers.view_reports"])
    assert agency_client(agency, no_export).get(URL).status_code == 200
    assert agency_client(agency, no_export).get(reverse("reports:dashboard_export", args=["sales"])).status_code == 403
    assert agency_client(agency, busy["admin"]).get("/staff/dashboards/nothing.xlsx").status_code == 404
    assert agency_client(agency).get(URL).status_code == 302  # anonymous: to the log-in page


def test_an_empty_agency_shows_empty_states(agency, people):
    response = agency_client(agency, people["admin"]).get(URL)
    assert response.status_code == 200
    board = response.context["board"]
    assert board.empty
    assert 'id="dashboard-empty"' in response.text
    for key in ("growth", "funnel", "leaderboard", "success", "sales"):
        assert f'data-empty="{key}"' in response.text
    assert [stage.count for stage in board.funnel] == [0] * 5
    assert board.success_rate is None
    export = agency_client(agency, people["admin"]).get(reverse("reports:dashboard_export", args=["growth"]))
    assert export.status_code == 200
    assert len(list(load_workbook(io.BytesIO(export.content)).active.iter_rows())) == 2  # caption and headings


def _queries(agency, user, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit) as context:
        response = agency_client(agency, user).get(URL, {"start": str(_range(agency, 200)[0])})
    assert response.status_code == 200
    return len(context.captured_queries)


def test_the_page_keeps_its_query_count_as_rows_grow(agency, people, django_assert_max_num_queries):
    data.generate(agency, people, seed=1, members=8)
    _roll_up_everything(agency)
    few = _queries(agency, people["admin"], django_assert_max_num_queries, 60)
    data.generate(agency, people, seed=2, members=30)
    _roll_up_everything(agency)
    many = _queries(agency, people["admin"], django_assert_max_num_queries, few)
    assert many == few


def test_the_nightly_job_rolls_the_dashboards_up(agency, busy):
    with agency_context(agency):
        run = run_job(agency=agency, name="report_rollups")
    assert run.status == "succeeded", run.error
    assert run.counts["dashboard_days_rolled_up"] >= 44  # the 45 days back to the first member, but today
    yesterday = agency_today(agency) - datetime.timedelta(days=1)
    assert DashboardRollupDay.unscoped.filter(agency=agency, day=yesterday).exists()
    assert not DashboardRollupDay.unscoped.filter(agency=agency, day=agency_today(agency)).exists()
    assert SalesRollupDay.unscoped.filter(agency=agency, day=yesterday).exists()
    with agency_context(agency):
        again = run_job(agency=agency, name="report_rollups")
    assert again.counts["dashboard_days_rolled_up"] == 0  # idempotent: nothing left to roll up


def test_an_outcome_recorded_later_reaches_a_rolled_up_day(agency):
    team = service_team(agency)
    admin = UserFactory(agency=agency, username="boss", role=root_role(agency))
    first, second = served_member(agency, team), served_member(agency, team)
    meeting = move_to_past(book(agency, team["matchmaker"], first, second))
    with agency_context(agency):
        appointment_services.appointment_complete(agency=agency, actor=team["matchmaker"], appointment=meeting)
    closed = agency_today(agency) - datetime.timedelta(days=3)
    Appointment.unscoped.filter(pk=meeting.pk).update(closed_at=data.local_noon(agency, closed))
    _roll_up_everything(agency)
    start, end = _range(agency, 7)
    assert _board(agency, admin, start, end).success == {closed: (1, 0)}

    with agency_context(agency):
        appointment_services.outcome_record(agency=agency, actor=team["matchmaker"], appointment=meeting,
                                            outcome="relationship")  # fmt: skip
    assert not DashboardRollupDay.unscoped.filter(agency=agency, day=closed).exists()  # stale: counted live
    board = _board(agency, admin, start, end)
    assert board.success == {closed: (1, 1)} and board.success_rate == Decimal("100.0")
    _roll_up_everything(agency)  # the nightly job rolls the day up again, with the outcome
    assert _board(agency, admin, start, end).success == {closed: (1, 1)}
