"""Sales reports (F-G5): the page and its export, who sees what, and that the figures always equal
the confirmed payments minus the approved refunds, however much of the period is rolled up.

Sales on past days are made through the services with the clock set back (`clock`), as they would
have happened on those days; `_mark_stale`'s queued roll-ups never run inside a test's transaction
unless a test runs them, which is a roll-up task that is late or lost.
"""

import datetime
import io
import json
from collections import defaultdict
from contextlib import contextmanager, suppress
from decimal import Decimal
from unittest import mock

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from apps.agencies.context import agency_context
from apps.finance import reports, services
from apps.finance.models import Contract, Payment, Refund, SalesDaily, SalesRollupDay
from apps.matchmakers.models import User
from tests.conftest import agency_client
from tests.finance import factories
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/staff/finance/reports/"
EXPORT_URL = "/staff/finance/reports/export/"
ONE_DAY = datetime.timedelta(days=1)


@contextmanager
def clock(moment: datetime.datetime):
    """Run services as if it were `moment` (what they stamp: decided_at, confirmed_at, …)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def local(agency, day: datetime.date, hour: int = 10, minute: int = 0, second: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute, second), tzinfo=services.agency_zone(agency))


def today(agency) -> datetime.date:
    return services.agency_today(agency)


def sales_team(agency) -> dict:
    """finance (sees everything), a sales manager and two salespeople below the manager."""
    team = factories.finance_team(agency)
    team["sales"].name, team["manager"].name, team["finance"].name = "孙销售", "周经理", "钱财务"
    for user in (team["sales"], team["manager"], team["finance"]):
        user.save(update_fields=["name"])
    team["sales2"] = UserFactory(agency=agency, username="sales2", name="李销售", role=team["sales"].role)
    return team


def gold_and_diamond(agency) -> list:
    return [
        factories.PackageFactory(agency=agency, name="金卡会员", price=Decimal("100000.00")),
        factories.PackageFactory(agency=agency, name="钻石会员", price=Decimal("200000.00")),
    ]


@pytest.fixture
def team(agency):
    return sales_team(agency)


@pytest.fixture
def packages(agency):
    return gold_and_diamond(agency)


def approve(agency, team, *, salesperson, package, on: datetime.date, hour: int = 9, seller=None) -> Contract:
    """A contract sold by `salesperson`, entered by `seller` (the manager) and approved by finance on `on`."""
    seller = seller or team["manager"]
    member = factories.member(agency, owner=salesperson)
    with agency_context(agency), clock(local(agency, on, hour)):
        contract = services.contract_create(agency=agency, actor=seller, member=member, package=package,
                                            salesperson=salesperson)  # fmt: skip
        services.contract_submit(agency=agency, actor=seller, contract=contract)
        return services.contract_approve(agency=agency, actor=team["finance"], contract=contract)


def pay(agency, team, contract, amount, *, paid_at: datetime.datetime, confirm_at=None) -> Payment:
    """A payment received at `paid_at`, recorded then, confirmed at `confirm_at` (None: left unconfirmed)."""
    with agency_context(agency):
        with clock(paid_at):
            payment = services.payment_record(agency=agency, actor=team["finance"], contract=contract,
                                              amount=Decimal(amount), method="bank", paid_at=paid_at)  # fmt: skip
        if confirm_at is not None:
            with clock(confirm_at):
                payment = services.payment_confirm(agency=agency, actor=team["finance"], payment=payment)
    return payment


def refund(agency, team, contract, amount, *, at: datetime.datetime) -> Refund:
    with agency_context(agency), clock(at):
        applied = services.refund_apply(agency=agency, actor=team["manager"], contract=contract,
                                        amount=Decimal(amount), reason="会员搬家")  # fmt: skip
        return services.refund_approve(agency=agency, actor=team["finance"], refund=applied)


def report_of(user, period="month", **kwargs) -> reports.SalesReport:
    with agency_context(user.agency):
        return reports.sales_report(user=user, period=period, **kwargs)


def rows(report_rows) -> dict:
    return {row.label: (row.figures.payments_amount, row.figures.refunds_amount, row.figures.net)
            for row in report_rows}  # fmt: skip


@pytest.fixture
def sales(agency, team, packages):
    """Two salespeople's sales this month: some days rolled up, today live, one refund."""
    gold, diamond = packages

    def ago(days, hour=10, minute=0):
        return local(agency, today(agency) - days * ONE_DAY, hour, minute)

    first = approve(agency, team, salesperson=team["sales"], package=gold, on=ago(10).date())
    pay(agency, team, first, "300.00", paid_at=ago(10), confirm_at=ago(9))
    pay(agency, team, first, "200.50", paid_at=ago(0, 0, 5), confirm_at=ago(0, 0, 10))
    second = approve(agency, team, salesperson=team["sales2"], package=diamond, on=ago(3).date())
    pay(agency, team, second, "800.00", paid_at=ago(3), confirm_at=ago(3, 11))
    refund(agency, team, second, "150.00", at=ago(2, 16))
    # Not counted: awaiting confirmation, and a sale before the month.
    pay(agency, team, second, "99.00", paid_at=ago(1))
    old = approve(agency, team, salesperson=team["sales"], package=gold, on=ago(60).date())
    pay(agency, team, old, "5000.00", paid_at=ago(60), confirm_at=ago(60, 12))
    with agency_context(agency):
        reports.rollup_pending(agency=agency)
    return {"first": first, "second": second, "old": old}


# --- the report ------------------------------------------------------------------------------------


def test_report_totals_are_confirmed_payments_minus_approved_refunds_by_matchmaker_and_package(agency, team, sales):
    report = report_of(team["finance"])

    assert report.totals.payments_amount == Decimal("1300.50")
    assert report.totals.payments_count == 3
    assert report.totals.refunds_amount == Decimal("150.00")
    assert report.totals.refunds_count == 1
    assert report.totals.net == Decimal("1150.50")
    assert (report.totals.contracts_count, report.totals.contracts_amount) == (2, Decimal("300000.00"))
    # Sorted by net, highest first.
    assert list(rows(report.by_salesperson).items()) == [
        ("李销售", (Decimal("800.00"), Decimal("150.00"), Decimal("650.00"))),
        ("孙销售", (Decimal("500.50"), Decimal("0"), Decimal("500.50"))),
    ]
    assert rows(report.by_package) == {
        "钻石会员": (Decimal("800.00"), Decimal("150.00"), Decimal("650.00")),
        "金卡会员": (Decimal("500.50"), Decimal("0"), Decimal("500.50")),
    }
    assert report.live_days == 1  # today: everything before it is rolled up


def test_the_year_includes_older_sales(agency, team, sales):
    report = report_of(team["finance"], "year")
    assert report.totals.payments_amount == Decimal("6300.50")
    assert report.start == today(agency) - relativedelta(years=1) + ONE_DAY


@pytest.mark.parametrize(
    ("period", "on", "start"),
    [
        ("week", datetime.date(2025, 3, 31), datetime.date(2025, 3, 25)),
        ("month", datetime.date(2025, 3, 31), datetime.date(2025, 3, 1)),
        ("month", datetime.date(2025, 3, 15), datetime.date(2025, 2, 16)),
        ("quarter", datetime.date(2025, 5, 31), datetime.date(2025, 3, 1)),
        ("half", datetime.date(2025, 6, 30), datetime.date(2024, 12, 31)),
        ("year", datetime.date(2024, 2, 29), datetime.date(2023, 3, 1)),
        ("year", datetime.date(2025, 7, 1), datetime.date(2024, 7, 2)),
    ],
)
def test_periods_end_today_and_span_whole_days(period, on, start):
    assert reports.PERIODS[period].start(on) == start


def test_a_manager_sees_the_salespeople_of_their_branch_only(agency, team, packages, sales):
    elsewhere = UserFactory(agency=agency, username="other_sales", name="外组销售",
                            perms=[*factories.SALES_PERMS, "matchmakers.view_reports"])  # fmt: skip
    contract = approve(agency, team, salesperson=elsewhere, seller=elsewhere, package=packages[0], on=today(agency))
    pay(agency, team, contract, "1000.00", paid_at=local(agency, today(agency), 0, 1), confirm_at=timezone.now())

    manager = report_of(team["manager"])
    assert set(rows(manager.by_salesperson)) == {"李销售", "孙销售"}
    assert manager.totals.net == Decimal("1150.50")
    own = report_of(elsewhere)
    assert set(rows(own.by_salesperson)) == {"外组销售"}
    assert own.totals.net == Decimal("1000.00")
    assert report_of(team["finance"]).totals.net == Decimal("2150.50")


def test_a_payment_counts_on_the_day_it_was_paid_in_the_agencys_time_zone(agency, team, packages):
    agency.timezone = "America/New_York"
    agency.save(update_fields=["timezone"])
    day = today(agency)
    contract = approve(agency, team, salesperson=team["sales"], package=packages[0], on=day - 9 * ONE_DAY)
    # 23:30 in New York is the next day in UTC and in Shanghai: still the 8th day back locally.
    pay(agency, team, contract, "10.00", paid_at=local(agency, day - 8 * ONE_DAY, 23, 30), confirm_at=timezone.now())
    pay(agency, team, contract, "20.00", paid_at=local(agency, day - 7 * ONE_DAY, 0, 0), confirm_at=timezone.now())
    pay(
        agency, team, contract, "40.00", paid_at=local(agency, day - 6 * ONE_DAY, 23, 59, 59), confirm_at=timezone.now()
    )
    with agency_context(agency):
        reports.rollup_pending(agency=agency)
        days = dict(
            SalesDaily.objects.filter(agency=agency, payments_count__gt=0).values_list("day", "payments_amount")
        )

    assert days == {day - 8 * ONE_DAY: Decimal("10.00"), day - 7 * ONE_DAY: Decimal("20.00"),
                    day - 6 * ONE_DAY: Decimal("40.00")}  # fmt: skip
    assert report_of(team["finance"], "week").totals.payments_amount == Decimal("40.00")
    assert report_of(team["finance"], "month").totals.payments_amount == Decimal("70.00")


def test_a_late_confirmation_of_a_back_dated_payment_shows_before_and_after_the_roll_up_runs_again(
    agency, team, packages, sales, django_capture_on_commit_callbacks
):
    day = today(agency) - 5 * ONE_DAY
    with agency_context(agency):
        assert SalesRollupDay.objects.filter(agency=agency, day=day).exists()
    payment = pay(agency, team, sales["first"], "1234.00", paid_at=local(agency, day, 23, 59))

    with agency_context(agency), django_capture_on_commit_callbacks() as queued:
        services.payment_confirm(agency=agency, actor=team["finance"], payment=payment)
    # The day is no longer marked complete: the report computes it live, the late payment included.
    with agency_context(agency):
        assert not SalesRollupDay.objects.filter(agency=agency, day=day).exists()
    assert report_of(team["finance"]).totals.payments_amount == Decimal("2534.50")
    assert report_of(team["finance"]).live_days == 2

    for callback in queued:  # the queued sales_rollup task (eager in tests)
        callback()
    with agency_context(agency):
        assert SalesRollupDay.objects.filter(agency=agency, day=day).exists()
        assert SalesDaily.objects.get(agency=agency, day=day).payments_amount == Decimal("1234.00")
    report = report_of(team["finance"])
    assert report.totals.payments_amount == Decimal("2534.50")
    assert report.live_days == 1


def test_a_stale_day_with_old_roll_up_rows_is_not_counted_twice(agency, team, sales):
    day = today(agency) - 3 * ONE_DAY
    with agency_context(agency):
        SalesRollupDay.objects.filter(agency=agency, day=day).delete()  # as _mark_stale does
        assert SalesDaily.objects.filter(agency=agency, day=day).exists()
    assert report_of(team["finance"]).totals.net == Decimal("1150.50")


# --- the page ---------------------------------------------------------------------------------------


def test_the_report_page_shows_the_month_by_default(agency, team, sales):
    response = agency_client(agency, team["finance"]).get(URL, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response.context["period"] == "month"
    report = response.context["report"]
    assert report.totals.net == Decimal("1150.50")
    text = response.text
    for expected in ("孙销售", "李销售", "金卡会员", "钻石会员", "1,150.50", "1,300.50", "Last month"):
        assert expected in text
    assert f"{EXPORT_URL}?period=month" in text


def test_the_report_page_answers_every_period(agency, team, sales):
    client = agency_client(agency, team["finance"])
    for period in reports.PERIODS:
        response = client.get(URL, {"period": period})
        assert response.status_code == 200
        assert response.context["report"].period == period
    assert client.get(URL, {"period": "year"}).context["report"].totals.net == Decimal("6150.50")


def test_an_unknown_period_is_a_400_that_says_which_periods_exist(agency, team, sales):
    response = agency_client(agency, team["finance"]).get(URL, {"period": "decade"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert "There is no report period “decade”. Choose one of: Last 7 days, Last month," in response.text
    assert "1,150.50" not in response.text
    export = agency_client(agency, team["finance"]).get(EXPORT_URL, {"period": "<b>x</b>"})
    assert export.status_code == 400
    assert "<b>x</b>" not in export.text


def test_a_user_without_the_reports_permission_gets_403(agency, team, sales):
    client = agency_client(agency, team["sales"])
    assert client.get(URL).status_code == 403
    assert client.get(EXPORT_URL).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(agency, sales):
    response = agency_client(agency).get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")


def test_a_user_of_another_agency_sees_nothing_of_this_agency(agency, other_agency, team, sales):
    outsider = factories.finance_user(other_agency, username="finance", name="外来财务")

    # Their session does not hold on this agency's address …
    response = agency_client(other_agency, outsider).get(URL, HTTP_HOST=f"{agency.slug}.localhost")
    assert response.status_code == 302
    assert (
        agency_client(other_agency, outsider).get(EXPORT_URL, HTTP_HOST=f"{agency.slug}.localhost").status_code == 302
    )
    # … and on their own agency's the report has none of this agency's sales.
    response = agency_client(other_agency, outsider).get(URL, {"period": "year"})
    assert response.status_code == 200
    assert response.context["report"].totals == reports.Figures()
    for leaked in ("孙销售", "李销售", "金卡会员", "钻石会员", "1,150.50", "6,150.50"):
        assert leaked not in response.text
    workbook = load_workbook(io.BytesIO(agency_client(other_agency, outsider).get(EXPORT_URL).content))
    cells = [cell for sheet in workbook for row in sheet.iter_rows(values_only=True) for cell in row]
    assert "孙销售" not in cells
    assert not [cell for cell in cells if isinstance(cell, int | float) and cell]


def test_the_page_runs_a_fixed_number_of_queries_however_many_sales(
    agency, team, packages, django_assert_max_num_queries
):
    client = agency_client(agency, team["finance"])
    day = today(agency)
    contract = approve(agency, team, salesperson=team["sales"], package=packages[0], on=day - 40 * ONE_DAY)
    pay(
        agency,
        team,
        contract,
        "10.00",
        paid_at=local(agency, day - 40 * ONE_DAY),
        confirm_at=local(agency, day - 40 * ONE_DAY, 11),
    )
    client.get(URL, {"period": "year"})  # the session and permission caches, as on any later request
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL, {"period": "year"}).status_code == 200

    extra = [UserFactory(agency=agency, username=f"s{n}", name=f"销售{n}", role=team["sales"].role) for n in range(4)]
    for index in range(12):
        sold = approve(
            agency, team, salesperson=extra[index % 4], package=packages[index % 2], on=day - index * 20 * ONE_DAY
        )
        pay(agency, team, sold, "100.00", paid_at=local(agency, day - index * 20 * ONE_DAY, 12),
            confirm_at=local(agency, day - index * 20 * ONE_DAY, 13))  # fmt: skip
        if index % 3 == 0:
            refund(agency, team, sold, "10.00", at=local(agency, day - index * 20 * ONE_DAY, 14))
    with agency_context(agency):
        reports.rollup_pending(agency=agency, until=day - 100 * ONE_DAY)  # rolled up in part: the rest is live
    with django_assert_max_num_queries(len(few)):
        response = client.get(URL, {"period": "year"})
    assert response.status_code == 200
    assert len(response.context["report"].by_salesperson) == 5
    assert len(few) <= 14


# --- the export -------------------------------------------------------------------------------------


def test_the_export_needs_the_export_permission(agency, team, sales):
    reader = UserFactory(
        agency=agency, username="reader", perms=["matchmakers.view_reports", "matchmakers.audit_payments"]
    )
    client = agency_client(agency, reader)
    assert client.get(URL).status_code == 200
    assert client.get(EXPORT_URL).status_code == 403


def test_the_export_is_a_workbook_by_matchmaker_and_by_package_with_totals(agency, team, sales):
    response = agency_client(agency, team["finance"]).get(EXPORT_URL, {"period": "month"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    stamp = today(agency).strftime("%Y%m%d")
    assert response["Content-Disposition"] == f'attachment; filename="sales-month-{stamp}.xlsx"'
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["By matchmaker", "By package"]
    by_matchmaker = list(workbook["By matchmaker"].iter_rows(values_only=True))
    assert by_matchmaker[0][0].startswith("Last month: ")
    assert by_matchmaker[1][:6] == (
        "Matchmaker",
        "Payments (yuan)",
        "Payment count",
        "Refunds (yuan)",
        "Refund count",
        "Net (yuan)",
    )
    assert by_matchmaker[2:] == [
        ("李销售", 800, 1, 150, 1, 650, 1, 200000),
        ("孙销售", 500.5, 2, 0, 0, 500.5, 1, 100000),
        ("Total", 1300.5, 3, 150, 1, 1150.5, 2, 300000),
    ]
    by_package = list(workbook["By package"].iter_rows(values_only=True))
    assert [row[0] for row in by_package[2:]] == ["钻石会员", "金卡会员", "Total"]
    assert by_package[-1] == by_matchmaker[-1]


# --- the acceptance property ------------------------------------------------------------------------

DAYS_BACK = 20  # close together, so late confirmations often land on rolled-up days with sales
MOMENTS = [(0, 0, 0), (0, 30, 0), (9, 15, 0), (15, 0, 0), (23, 59, 59)]

payment_plans = st.fixed_dictionaries({
    "days_ago": st.integers(0, DAYS_BACK),
    "at": st.sampled_from(MOMENTS),
    "amount": st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2),
    "fate": st.sampled_from(["confirmed", "confirmed", "late", "rejected", "recorded"]),
    "lag": st.integers(1, 12),
})  # fmt: skip
refund_plans = st.fixed_dictionaries({
    "days_after": st.integers(0, 15),
    "at": st.sampled_from(MOMENTS),
    "percent": st.integers(1, 100),
    "fate": st.sampled_from(["approved", "approved", "rejected", "applied"]),
})  # fmt: skip
contract_plans = st.fixed_dictionaries({
    "salesperson": st.sampled_from(["sales", "sales2", "manager"]),
    "package": st.integers(0, 1),
    "days_ago": st.integers(0, DAYS_BACK),
    "payments": st.lists(payment_plans, max_size=4),
    "refunds": st.lists(refund_plans, max_size=2),
})  # fmt: skip
scenarios = st.fixed_dictionaries({
    "contracts": st.lists(contract_plans, min_size=1, max_size=5),
    "nightly": st.lists(st.integers(1, DAYS_BACK), max_size=5),  # rollup_pending at 00:30 of these days
    "single_days": st.lists(st.integers(1, DAYS_BACK + 3), max_size=4),  # rollup_day of one day, now
    "period": st.sampled_from(list(reports.PERIODS)),
})  # fmt: skip


def _timeline(agency, scenario, now) -> list:
    """(moment, order, action, arguments) of the scenario, in the order they happen; nothing after `now`."""
    day = today(agency)
    events = []

    def at(days_ago, hms):
        return min(local(agency, day - days_ago * ONE_DAY, *hms), now)

    for index, plan in enumerate(scenario["contracts"]):
        sold = at(plan["days_ago"], (8, 0, 0))
        events.append((sold, 0, "sell", (index, plan)))
        for position, payment in enumerate(plan["payments"]):
            paid_at = at(payment["days_ago"], payment["at"])
            recorded = max(paid_at, sold)
            decided = {"confirmed": recorded, "rejected": recorded, "recorded": None,
                       "late": min(recorded + payment["lag"] * ONE_DAY, now)}[payment["fate"]]  # fmt: skip
            events.append((recorded, 1, "record", (index, position, payment, paid_at)))
            if decided is not None:
                events.append((decided, 2, "decide", (index, position, payment["fate"])))
        for refund_plan in plan["refunds"]:
            moment = min(sold + refund_plan["days_after"] * ONE_DAY, now)
            moment = min(moment.replace(hour=refund_plan["at"][0], minute=refund_plan["at"][1]), now)
            events.append((max(moment, sold), 3, "refund", (index, refund_plan)))
    for days_ago in scenario["nightly"]:
        events.append((at(days_ago, (0, 30, 0)), 4, "nightly", ()))
    return sorted(events, key=lambda event: event[:2])


class Player:
    """Plays a scenario's timeline through the services, each event with the clock at its moment."""

    def __init__(self, agency, team, packages):
        self.agency, self.team, self.packages = agency, team, packages
        self.contracts, self.payments = {}, {}

    def play(self, scenario) -> None:
        for moment, _order, action, arguments in _timeline(self.agency, scenario, timezone.now()):
            # ValidationError: e.g. paid or refunded in full already; the product refuses, the data stays valid.
            with agency_context(self.agency), clock(moment), suppress(ValidationError):
                getattr(self, action)(*arguments)
        with agency_context(self.agency):
            for days_ago in scenario["single_days"]:
                reports.rollup_day(agency=self.agency, day=today(self.agency) - days_ago * ONE_DAY)

    def sell(self, index, plan):
        agency, team, salesperson = self.agency, self.team, self.team[plan["salesperson"]]
        contract = services.contract_create(
            agency=agency, actor=team["manager"], member=factories.member(agency, owner=salesperson),
            package=self.packages[plan["package"]], salesperson=salesperson,
        )  # fmt: skip
        services.contract_submit(agency=agency, actor=team["manager"], contract=contract)
        self.contracts[index] = services.contract_approve(agency=agency, actor=team["finance"], contract=contract)

    def record(self, index, position, plan, paid_at):
        self.payments[index, position] = services.payment_record(
            agency=self.agency, actor=self.team["finance"], contract=self.contracts[index], amount=plan["amount"],
            method="cash", paid_at=paid_at,
        )  # fmt: skip

    def decide(self, index, position, fate):
        payment = self.payments.get((index, position))
        if payment is None:
            return
        if fate == "rejected":
            services.payment_reject(agency=self.agency, actor=self.team["finance"], payment=payment, reason="未到账")
        else:
            services.payment_confirm(agency=self.agency, actor=self.team["finance"], payment=payment)

    def refund(self, index, plan):
        contract = Contract.objects.get(pk=self.contracts[index].pk)
        amount = (services.refundable(contract) * plan["percent"] / 100).quantize(Decimal("0.01"))
        if amount <= 0:
            return
        applied = services.refund_apply(agency=self.agency, actor=self.team["manager"], contract=contract,
                                        amount=amount, reason="退款")  # fmt: skip
        finance = self.team["finance"]
        if plan["fate"] == "approved":
            services.refund_approve(agency=self.agency, actor=finance, refund=applied)
        elif plan["fate"] == "rejected":
            services.refund_reject(agency=self.agency, actor=finance, refund=applied, note="不符合条件")

    def nightly(self):
        reports.rollup_pending(agency=self.agency)


def _expected(agency, start: datetime.date, end: datetime.date) -> tuple[dict, dict]:
    """Net and counts by salesperson and by package, summed in Python from the records themselves."""
    by_salesperson, by_package = defaultdict(lambda: [Decimal(0), 0, 0]), defaultdict(lambda: [Decimal(0), 0, 0])

    def count(contract, amount, payments, refunds):
        for key, table in ((contract.salesperson_id, by_salesperson), (contract.package_id, by_package)):
            table[key][0] += amount
            table[key][1] += payments
            table[key][2] += refunds

    for payment in Payment.objects.filter(agency=agency, status=Payment.Status.CONFIRMED).select_related("contract"):
        if start <= services.local_day(agency, payment.paid_at) <= end:
            count(payment.contract, payment.amount, 1, 0)
    for refund_row in Refund.objects.filter(agency=agency, status=Refund.Status.APPROVED).select_related("contract"):
        if start <= services.local_day(agency, refund_row.decided_at) <= end:
            count(refund_row.contract, -refund_row.amount, 0, 1)
    return {key: tuple(value) for key, value in by_salesperson.items()}, {
        key: tuple(value) for key, value in by_package.items()
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])  # fmt: skip
@given(scenario=scenarios)
def test_report_totals_equal_confirmed_payments_minus_approved_refunds(agency, team, packages, scenario):
    with transaction.atomic():
        Player(agency, team, packages).play(scenario)
        report = report_of(team["finance"], scenario["period"])
        with agency_context(agency):
            by_salesperson, by_package = _expected(agency, report.start, report.end)
            marked = set(SalesRollupDay.objects.values_list("day", flat=True))
            stale = set(SalesDaily.objects.values_list("day", flat=True)) - marked
        some_rolled_up = report.live_days <= (report.end - report.start).days
        event(f"rolled-up days in the period: {'some' if some_rolled_up else 'none'}")
        event(f"stale days: {'some' if stale else 'none'}")

        def observed(report_rows):
            return {row.pk: (row.figures.net, row.figures.payments_count, row.figures.refunds_count)
                    for row in report_rows if row.figures.payments_count or row.figures.refunds_count}  # fmt: skip

        assert observed(report.by_salesperson) == by_salesperson
        assert observed(report.by_package) == by_package
        assert report.totals.net == sum((value[0] for value in by_salesperson.values()), Decimal(0))
        assert report.totals.net == report.totals.payments_amount - report.totals.refunds_amount
        transaction.set_rollback(True)


# --- the seed and the bench -------------------------------------------------------------------------


def test_seed_finance_and_the_finance_bench(agency):
    call_command("seed_members", "--agency", agency.slug, "--count", "300", stdout=io.StringIO(), stderr=io.StringIO())
    out = io.StringIO()
    call_command("seed_finance", "--agency", agency.slug, "--payments", "400", "--contracts", "120", stdout=out,
                 stderr=io.StringIO())  # fmt: skip
    assert "Seeded 400 payments" in out.getvalue()

    with agency_context(agency):
        assert Payment.objects.filter(status=Payment.Status.CONFIRMED).count() == 400
        assert Contract.objects.filter(status__in=Contract.FROZEN_STATUSES).count() == 120
        assert Refund.objects.filter(status=Refund.Status.APPROVED).exists()
        for contract in Contract.objects.all():
            assert contract.paid_amount == sum(p.amount for p in contract.payments.all())
            assert contract.refunded_amount == sum(r.amount for r in contract.refunds.all())
            assert sum(i.amount for i in contract.instalments.all()) == contract.amount
            for payment in contract.payments.all():  # paid while the contract was in force
                assert contract.decided_at <= payment.paid_at <= timezone.now()
                assert services.local_day(agency, payment.paid_at) <= contract.service_end
            for refund_row in contract.refunds.all():  # out of what had been paid by then
                paid = [payment for payment in contract.payments.all() if payment.paid_at < refund_row.decided_at]
                assert refund_row.amount <= sum(payment.amount for payment in paid)
                if contract.status == Contract.Status.REFUNDED:
                    assert len(paid) == contract.payments.count()
        # Every past day since the first sale is rolled up; today is not.
        assert not SalesRollupDay.objects.filter(day__gte=today(agency)).exists()
        assert reports.rollup_pending(agency=agency) == 0
        first_paid = services.local_day(agency, Payment.objects.order_by("paid_at").first().paid_at)
        assert SalesRollupDay.objects.filter(day__gte=first_paid).count() == (today(agency) - first_paid).days

    again = io.StringIO()
    call_command("seed_finance", "--agency", agency.slug, "--payments", "400", "--contracts", "120", stdout=again,
                 stderr=io.StringIO())  # fmt: skip
    assert "already" in again.getvalue()
    with agency_context(agency):
        assert Payment.objects.count() == 400

    year = report_of(User.objects.get(agency=agency, username="finance"), "year")
    with agency_context(agency):
        start = year.start
        expected = sum(p.amount for p in Payment.objects.all() if services.local_day(agency, p.paid_at) >= start)
        expected -= sum(r.amount for r in Refund.objects.all() if services.local_day(agency, r.decided_at) >= start)
    assert year.totals.net == expected

    bench_out = io.StringIO()
    call_command("bench", "finance", "--json", "--agency", agency.slug, "--requests", "3", "--warmup", "1",
                 stdout=bench_out)  # fmt: skip
    result = json.loads(bench_out.getvalue())
    assert result["bench"] == "finance"
    assert result["payments"] == 400
    assert 0 < result["report_year_p50_ms"] <= result["report_year_p95_ms"]
    assert 0 < result["report_queries"] <= 14
    assert result["rollup_seconds"] >= 0
