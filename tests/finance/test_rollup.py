"""The daily sales roll-up behind the reports (F-G5) and the nightly finance job that fills it."""

import datetime
import json
from decimal import Decimal

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.agencies.context import agency_context
from apps.agencies.models import Agency
from apps.finance import reports, services
from apps.finance.models import Contract, SalesDaily, SalesRollupDay
from apps.jobs import schedule
from apps.jobs import tasks as job_tasks
from apps.jobs.models import JobRun
from matchcrm.celery import app as celery_app
from tests.agencies.factories import AgencyFactory
from tests.agencies.test_tasks import celery_worker_process  # noqa: F401 - the real worker fixture
from tests.finance import factories
from tests.finance.test_reports import (
    ONE_DAY,
    approve,
    gold_and_diamond,
    local,
    pay,
    refund,
    report_of,
    sales_team,
    today,
)

pytestmark = pytest.mark.django_db

FIGURES = ("payments_amount", "payments_count", "refunds_amount", "refunds_count", "contracts_count",
           "contracts_amount")  # fmt: skip


@pytest.fixture
def team(agency):
    return sales_team(agency)


@pytest.fixture
def packages(agency):
    return gold_and_diamond(agency)


def daily_rows(agency) -> list[tuple]:
    with agency_context(agency):
        return list(SalesDaily.objects.filter(agency=agency).order_by("day", "salesperson", "package")
                    .values_list("day", "salesperson", "package", *FIGURES))  # fmt: skip


def marked_days(agency) -> set[datetime.date]:
    with agency_context(agency):
        return set(SalesRollupDay.objects.filter(agency=agency).values_list("day", flat=True))


@pytest.fixture
def busy_day(agency, team, packages):
    """Five days ago: two contracts approved, three payments (one of each package), a refund."""
    day = today(agency) - 5 * ONE_DAY
    gold = approve(agency, team, salesperson=team["sales"], package=packages[0], on=day)
    diamond = approve(agency, team, salesperson=team["sales2"], package=packages[1], on=day, hour=11)
    pay(agency, team, gold, "100.00", paid_at=local(agency, day, 12), confirm_at=local(agency, day, 13))
    pay(agency, team, gold, "50.25", paid_at=local(agency, day, 23, 59, 59), confirm_at=local(agency, day, 23, 59, 59))
    pay(agency, team, diamond, "700.00", paid_at=local(agency, day, 14), confirm_at=local(agency, day, 15))
    refund(agency, team, diamond, "70.00", at=local(agency, day, 16))
    return day


def test_a_day_rolls_up_into_one_row_per_salesperson_and_package(agency, team, packages, busy_day):
    with agency_context(agency):
        result = reports.rollup_day(agency=agency, day=busy_day)

    assert result == {"agency": agency.slug, "day": busy_day.isoformat(), "rows": 2, "rolled_up": True}
    assert daily_rows(agency) == [
        (busy_day, team["sales"].pk, packages[0].pk, Decimal("150.25"), 2, Decimal("0.00"), 0, 1, Decimal("100000.00")),
        (busy_day, team["sales2"].pk, packages[1].pk, Decimal("700.00"), 1, Decimal("70.00"), 1, 1,
         Decimal("200000.00")),
    ]  # fmt: skip
    assert marked_days(agency) == {busy_day}


def test_rolling_a_day_up_again_writes_the_same_rows(agency, busy_day):
    with agency_context(agency):
        reports.rollup_day(agency=agency, day=busy_day)
        first = daily_rows(agency)
        reports.rollup_day(agency=agency, day=busy_day)
        reports.rollup_day(agency=agency, day=busy_day - ONE_DAY)  # a quiet day: marked, no rows

    assert daily_rows(agency) == first
    assert marked_days(agency) == {busy_day, busy_day - ONE_DAY}


def test_today_and_later_days_are_never_rolled_up(agency, team, packages):
    contract = approve(agency, team, salesperson=team["sales"], package=packages[0], on=today(agency))
    now = timezone.now()
    pay(agency, team, contract, "10.00", paid_at=now - datetime.timedelta(seconds=2), confirm_at=now)
    with agency_context(agency):
        for day in (today(agency), today(agency) + ONE_DAY):
            assert reports.rollup_day(agency=agency, day=day)["rolled_up"] is False
        assert reports.rollup_pending(agency=agency, until=today(agency) + ONE_DAY) == 0
    assert daily_rows(agency) == []
    assert marked_days(agency) == set()
    assert report_of(team["finance"]).totals.payments_amount == Decimal("10.00")


def test_pending_days_are_every_past_day_since_the_first_sale_not_rolled_up_yet(agency, busy_day):
    with agency_context(agency):
        reports.rollup_day(agency=agency, day=busy_day - 2 * ONE_DAY)  # before the first sale: left alone
        assert reports.rollup_pending(agency=agency) == 5  # the busy day … yesterday
        assert reports.rollup_pending(agency=agency) == 0
        SalesRollupDay.objects.filter(agency=agency, day=busy_day + ONE_DAY).delete()  # made stale
        assert reports.rollup_pending(agency=agency) == 1
    assert marked_days(agency) == {busy_day - 2 * ONE_DAY, *(busy_day + n * ONE_DAY for n in range(5))}


def test_a_back_dated_confirmation_makes_its_day_stale_until_the_roll_up_runs_again(
    agency, team, busy_day, django_capture_on_commit_callbacks
):
    with agency_context(agency):
        reports.rollup_pending(agency=agency)
        contract = Contract.objects.get(salesperson=team["sales"])
    payment = pay(agency, team, contract, "9.75", paid_at=local(agency, busy_day, 8))
    with agency_context(agency), django_capture_on_commit_callbacks(execute=True):
        services.payment_confirm(agency=agency, actor=team["finance"], payment=payment)

    assert busy_day in marked_days(agency)  # the queued sales_rollup ran (eagerly) after the commit
    assert daily_rows(agency)[0][3:5] == (Decimal("160.00"), 3)
    assert report_of(team["finance"]).totals.payments_amount == Decimal("860.00")


def test_payments_follow_their_contract_to_another_salesperson(agency, team, packages):
    """A rejected contract keeps its confirmed payments; corrected to another salesperson, so do the reports."""
    day = today(agency) - 3 * ONE_DAY
    member = factories.member(agency, owner=team["sales"])
    with agency_context(agency):
        contract = services.contract_create(agency=agency, actor=team["manager"], member=member, package=packages[0],
                                            salesperson=team["sales"])  # fmt: skip
        services.contract_submit(agency=agency, actor=team["manager"], contract=contract)
    pay(agency, team, contract, "500.00", paid_at=local(agency, day), confirm_at=local(agency, day, 11))
    with agency_context(agency):
        reports.rollup_pending(agency=agency)
        services.contract_reject(agency=agency, actor=team["finance"], contract=contract, reason="销售填错")
        services.contract_update(agency=agency, actor=team["manager"], contract=contract, salesperson=team["sales2"])

    report = report_of(team["finance"])
    assert [(row.label, row.figures.net) for row in report.by_salesperson] == [("李销售", Decimal("500.00"))]
    with agency_context(agency):
        reports.rollup_pending(agency=agency)
    assert [row[1] for row in daily_rows(agency)] == [team["sales2"].pk]
    assert report_of(team["finance"]).by_salesperson == report.by_salesperson


# --- the nightly job (the "report_rollups" background job) --------------------------------------


def test_the_nightly_job_expires_ended_contracts_and_rolls_up_pending_days(agency, team, packages, busy_day):
    ended = approve(agency, team, salesperson=team["sales"], package=packages[0], on=busy_day - 400 * ONE_DAY)

    result = job_tasks.job_run.delay(agency_id=agency.pk, job="report_rollups").get()

    assert result["status"] == "succeeded"
    assert result["counts"] == {"contracts_expired": 1, "sales_days_rolled_up": 405, "dashboard_days_rolled_up": 405}
    ended.refresh_from_db()
    assert ended.status == Contract.Status.EXPIRED
    again = job_tasks.job_run.delay(agency_id=agency.pk, job="report_rollups").get()
    assert again["counts"] == {"contracts_expired": 0, "sales_days_rolled_up": 0, "dashboard_days_rolled_up": 0}


def test_the_nightly_fan_out_runs_every_active_agency(agency, other_agency):
    suspended = AgencyFactory(slug="closed", status=Agency.Status.SUSPENDED)
    assert job_tasks.job_dispatch.delay(job="report_rollups").get() == 2
    runs = JobRun.unscoped.filter(job="report_rollups")
    assert sorted(runs.values_list("agency_id", flat=True)) == sorted([agency.pk, other_agency.pk])
    assert not runs.filter(agency=suspended).exists()


def test_beat_runs_the_nightly_roll_up_after_midnight():
    schedule.install_defaults()
    entry = PeriodicTask.objects.get(name="report roll-ups")
    assert entry.task == job_tasks.job_dispatch.name and entry.task in celery_app.tasks
    assert json.loads(entry.kwargs) == {"job": "report_rollups"}
    assert (entry.crontab.hour, entry.crontab.minute) == ("0", "30")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_nightly_job_runs_in_a_real_worker(agency, other_agency, busy_day, celery_worker_process):  # noqa: F811
    result = job_tasks.job_run.apply_async(kwargs={"agency_id": agency.pk, "job": "report_rollups"},
                                           queue=celery_worker_process)  # fmt: skip

    counts = result.get(timeout=60)["counts"]
    assert counts == {"contracts_expired": 0, "sales_days_rolled_up": 5, "dashboard_days_rolled_up": 5}
    assert len(daily_rows(agency)) == 2
    with agency_context(other_agency):
        assert not SalesRollupDay.objects.exists()
