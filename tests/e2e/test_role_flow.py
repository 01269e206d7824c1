"""An admin builds a role, grants it permissions and creates a matchmaker who then sees only that."""

import pytest

from apps.matchmakers.models import Role, User
from tests.e2e.test_site_settings_flow import _login
from tests.matchmakers.factories import UserFactory, root_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Hongniang-2026!"


def test_admin_creates_role_with_permissions_and_a_matchmaker_who_sees_only_that(
    page, browser, live_server, agency, artifacts
):
    UserFactory(agency=agency, username="boss", role=root_role(agency))
    base_url = f"{live_server.url}/a/anhe"

    _login(page, base_url, "boss")
    page.get_by_role("link", name="角色").first.click()
    page.wait_for_url(f"{base_url}/staff/roles/")
    form = page.locator("#role-create-form")
    form.get_by_label("角色名称").fill("售前一组")
    form.get_by_label("上级角色").select_option(label="— — 售前红娘")
    form.get_by_role("button", name="创建角色").click()

    page.get_by_role("heading", name="“售前一组”的权限").wait_for()
    page.get_by_label("会员 · 查看").check()
    page.get_by_label("会员 · 添加").check()
    page.get_by_label("跟进 · 查看").check()
    page.get_by_role("button", name="保存权限").click()
    page.get_by_text("“售前一组”的权限已保存。").wait_for()
    assert page.locator("#role-tree li[data-role='售前一组']").is_visible()
    page.screenshot(path=artifacts / "roles.png", full_page=True)

    page.get_by_role("link", name="团队").first.click()
    page.get_by_role("link", name="新增红娘").click()
    staff_form = page.locator("#staff-form")
    staff_form.get_by_label("账号").fill("xiaomei")
    staff_form.locator("#id_password1").fill(NEW_PASSWORD)
    staff_form.locator("#id_password2").fill(NEW_PASSWORD)
    staff_form.get_by_label("姓名").fill("小美")
    staff_form.get_by_label("角色").select_option(label="— — — 售前一组")
    staff_form.get_by_role("button", name="创建账号").click()
    page.get_by_text("小美 现在可以用账号“xiaomei”登录了。").wait_for()

    new_user = User.objects.get(agency=agency, username="xiaomei")
    assert new_user.role == Role.unscoped.get(agency=agency, name="售前一组")

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    matchmaker = context.new_page()
    matchmaker.goto(f"{base_url}/staff/login/")
    matchmaker.get_by_label("账号").fill("xiaomei")
    matchmaker.get_by_label("密码").fill(NEW_PASSWORD)
    matchmaker.get_by_role("button", name="登录").click()
    matchmaker.wait_for_url(f"{base_url}/staff/")
    nav = matchmaker.locator("#mainnav")
    assert nav.get_by_role("link", name="会员").is_visible()
    for hidden in ["团队", "角色", "网站设置"]:
        assert nav.get_by_role("link", name=hidden).count() == 0
    assert nav.get_by_role("button", name="设置").count() == 0
    matchmaker.screenshot(path=artifacts / "matchmaker-nav.png")
    assert matchmaker.goto(f"{base_url}/staff/roles/").status == 403
    context.close()
