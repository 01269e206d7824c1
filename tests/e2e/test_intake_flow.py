"""A visitor registers; the manager assigns the lead from the pool; the presale matchmaker follows up."""

import datetime

import pytest
from django.utils import timezone

from apps.members.models import Member
from tests.e2e.test_site_settings_flow import _login
from tests.matchmakers.factories import RoleFactory, UserFactory, root_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORK = ["matchmakers.view_members", "matchmakers.edit_members", "matchmakers.view_followups",
        "matchmakers.add_followups"]  # fmt: skip


def test_registration_reaches_the_pool_is_assigned_and_followed_up(page, browser, live_server, agency, artifacts):
    manager_role = RoleFactory(agency=agency, parent=root_role(agency), name="经理",
                               perms=[*WORK, "matchmakers.view_assignment", "matchmakers.assign_members"])  # fmt: skip
    UserFactory(agency=agency, username="boss", name="李经理", role=manager_role)
    UserFactory(agency=agency, username="xiaozhang", name="小张",
                role=RoleFactory(agency=agency, parent=manager_role, name="售前组", perms=WORK))  # fmt: skip
    base_url = f"{live_server.url}/a/anhe"

    page.goto(f"{base_url}/register/")
    form = page.locator("#register-form")
    form.locator("#id_name").fill("周小姐")
    form.get_by_label("女").check()
    form.locator("#id_phone").fill("138 1234 5678")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base_url}/register/thanks/")
    lead = Member.unscoped.get(agency=agency, phone="13812345678")
    assert lead.presale_owner is None and lead.source == "site_registration"

    _login(page, base_url, "boss")
    page.goto(f"{base_url}/staff/assignment/?pool=unassigned")
    page.locator(f"input[name='members'][value='{lead.pk}']").check()
    page.locator("#assign-form #id_to_user").select_option(label="小张")
    page.locator("#assign-form").get_by_role("button", name="分配勾选的会员").click()
    page.get_by_text("已将 1 位会员分配给 小张。").wait_for()
    page.screenshot(path=artifacts / "pool.png", full_page=True)

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    matchmaker = context.new_page()
    _login(matchmaker, base_url, "xiaozhang")
    matchmaker.goto(f"{base_url}/staff/members/{lead.pk}/")
    followup = matchmaker.locator("#followup-form")
    followup.locator("#id_channel").select_option("phone")
    followup.locator("#id_content").fill("初次电话沟通，想找杭州本地的")
    followup.locator("#id_result").fill("有意向")
    # A few minutes from now in the agency's time zone: due today, not in the past.
    soon = timezone.localtime() + datetime.timedelta(minutes=3)
    followup.locator("#id_next_followup_at").fill(soon.strftime("%Y-%m-%dT%H:%M"))
    followup.get_by_role("button", name="保存跟进").click()
    matchmaker.get_by_text("跟进记录已保存。").wait_for()
    matchmaker.goto(f"{base_url}/staff/followups/due/")
    assert matchmaker.locator("#due-table").get_by_role("link", name="周小姐").is_visible()
    matchmaker.screenshot(path=artifacts / "due.png", full_page=True)
    context.close()
