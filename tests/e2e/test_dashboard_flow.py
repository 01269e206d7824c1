"""A manager lands on the workbench, opens the dashboards, narrows them, reads a table and exports it.

Screenshots of the workbench and of the dashboards (the admin's and a branch manager's) go to the
test artifacts; docs/screenshots/ holds copies of them (see the README).
"""

import datetime
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from apps.agencies.context import agency_context
from apps.finance import reports as finance_reports
from apps.finance.services import agency_today
from apps.members.models import Member
from apps.reports import rollups
from tests.e2e.test_site_settings_flow import _login
from tests.reports import data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = ("growth", "funnel", "leaderboard", "success", "sales")


def _wait_for_charts(page):
    for key in CHARTS:
        page.locator(f"#dash-{key} .dashboard-chart[data-drawn='true']").wait_for()


def test_a_manager_reads_the_dashboards_and_exports_a_table(page, browser, live_server, agency, artifacts):
    people = data.team(agency)
    for name, user in [("admin", "李总"), ("manager", "周经理"), ("presale", "小王"), ("presale2", "小陈"),
                       ("aftersale", "赵红娘"), ("lead", "钱主管"), ("seller", "孙顾问")]:  # fmt: skip
        people[name].name = user
        people[name].save(update_fields=["name"])
    data.generate(agency, people, members=60)
    with agency_context(agency):
        finance_reports.rollup_pending(agency=agency)
        rollups.rollup_pending(agency=agency)
    base_url = f"{live_server.url}/a/anhe"
    today = agency_today(agency)
    start = today - datetime.timedelta(days=44)
    # Today's work on the workbench: follow-ups overdue and due later today, birthdays.
    owned = list(Member.unscoped.filter(agency=agency, presale_owner=people["manager"]).order_by("pk")[:7])
    for index, person in enumerate(owned):
        hours = -3 if index < 3 else 2
        Member.unscoped.filter(pk=person.pk).update(next_followup_at=timezone.now() + datetime.timedelta(hours=hours))
    Member.unscoped.filter(pk__in=[person.pk for person in owned[:2]]).update(
        birth_date=today.replace(year=today.year - 31))

    # The admin lands on the workbench and goes to the dashboards from the navigation bar.
    _login(page, base_url, "boss")
    page.locator("#wb-inbox").wait_for()
    page.locator("#nav-dashboards").click()
    page.wait_for_url(f"{base_url}/staff/dashboards/")
    _wait_for_charts(page)

    # Six weeks of the whole agency, then only the presale team.
    page.locator("#id_start").fill(start.isoformat())
    page.locator("#dashboard-filter button[type=submit]").click()
    page.wait_for_url(f"{base_url}/staff/dashboards/?start={start}*")
    _wait_for_charts(page)
    page.screenshot(path=artifacts / "dashboard-admin.png", full_page=True)
    with agency_context(agency):
        expect = data.expected(agency, start=start, end=agency_today(agency), staff_ids=None)
    leads = page.locator("[data-table='funnel'] tbody tr").first.locator("td").nth(1)
    page.locator("[data-testid='funnel-table-tab']").click()
    assert leads.inner_text() == str(expect["funnel"]["lead"])

    page.locator("#id_branch").select_option(str(people["roles"]["presale"].pk))
    page.locator("#dashboard-filter button[type=submit]").click()
    page.wait_for_url(f"{base_url}/staff/dashboards/?*branch=*")
    _wait_for_charts(page)
    with agency_context(agency):
        presale = data.expected(agency, start=start, end=agency_today(agency),
                                staff_ids={people["presale"].pk, people["presale2"].pk})  # fmt: skip
    page.locator("[data-testid='funnel-table-tab']").click()
    assert leads.inner_text() == str(presale["funnel"]["lead"])

    # The leaderboard's table, exported as a spreadsheet with the same rows.
    page.locator("[data-testid='leaderboard-table-tab']").click()
    names = page.locator("[data-table='leaderboard'] tbody tr td:first-child").all_inner_texts()
    assert set(names) <= {"小王", "小陈"}
    with page.expect_download() as download:
        page.locator("[data-testid='leaderboard-export']").click()
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    assert [row[0] for row in sheet.iter_rows(min_row=3, values_only=True)][: len(names)] == names

    # A branch manager sees their own branch only, with no way to pick the sibling branch.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    manager = context.new_page()
    manager.set_default_timeout(15_000)
    _login(manager, base_url, "manager")  # lands on the workbench: their own follow-ups, their branch's birthdays
    assert manager.locator("[data-count='followups-overdue']").inner_text() == "3"
    assert manager.locator("[data-count='followups-today']").inner_text() == str(len(owned) - 3)
    assert manager.locator("[data-count='birthdays-today']").inner_text() == "2"
    manager.screenshot(path=artifacts / "workbench.png", full_page=True)
    manager.goto(f"{base_url}/staff/dashboards/?start={start}")
    _wait_for_charts(manager)
    options = manager.locator("#id_branch option").all_inner_texts()
    assert not [option for option in options if people["roles"]["lead"].name in option]
    leaders = set(manager.locator("[data-table='leaderboard'] tbody tr td:first-child").all_inner_texts())
    assert leaders and leaders <= {"周经理", "小王", "小陈", "赵红娘"}
    manager.screenshot(path=artifacts / "dashboard-manager.png", full_page=True)
    context.close()
