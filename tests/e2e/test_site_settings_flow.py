"""A site admin logs in, edits the agency's public site and sees the result, on desktop and phone."""

import pytest

from apps.agencies.context import agency_context
from apps.agencies.models import SiteSettings
from tests.conftest import image_bytes
from tests.matchmakers.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, base_url, username):
    page.goto(f"{base_url}/staff/login/")
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base_url}/staff/")


def test_site_admin_logs_in_and_edits_the_site_settings(page, live_server, site_admin, tmp_path, artifacts):
    base_url = f"{live_server.url}/a/anhe"
    logo = tmp_path / "logo.png"
    logo.write_bytes(image_bytes(size=(200, 80)))

    _login(page, base_url, "admin")
    page.get_by_role("button", name="设置").click()
    page.get_by_role("link", name="网站设置").first.click()
    page.get_by_label("网站名称").fill("安和婚恋·杭州")
    page.get_by_label("联系电话").fill("0571-88886666")
    page.get_by_label("地址").fill("杭州市西湖区文三路 100 号")
    page.get_by_label("关于我们").fill("<p>专注杭州本地婚恋服务 <script>alert(1)</script></p>")
    page.get_by_label("标志").set_input_files(str(logo))
    page.locator("#site-settings-form").get_by_role("button", name="保存").click()

    page.get_by_text("网站设置已保存。").wait_for()
    page.screenshot(path=artifacts / "site-settings.png", full_page=True)
    with agency_context(site_admin.agency):
        saved = SiteSettings.objects.get()
    assert saved.site_name == "安和婚恋·杭州"
    assert saved.phone == "0571-88886666"
    assert "<script>" not in saved.about
    assert saved.logo

    page.goto(f"{base_url}/")
    assert page.get_by_role("heading", name="关于我们").is_visible()
    assert page.get_by_text("专注杭州本地婚恋服务").is_visible()
    assert page.locator("header img.site-logo").is_visible()
    assert page.title() == "安和婚恋·杭州"


def test_bad_phone_keeps_the_old_settings_and_says_why(page, live_server, site_admin):
    base_url = f"{live_server.url}/a/anhe"
    _login(page, base_url, "admin")
    page.goto(f"{base_url}/staff/settings/site/")
    page.get_by_label("联系电话").fill("call me maybe")
    page.locator("#site-settings-form").get_by_role("button", name="保存").click()
    page.get_by_text("未保存任何内容").wait_for()
    assert page.locator("#id_phone.is-invalid").is_visible()
    with agency_context(site_admin.agency):
        assert SiteSettings.objects.get().phone == ""


def test_back_office_works_on_a_375px_phone_and_switches_language(phone_page, live_server, site_admin, artifacts):
    base_url = f"{live_server.url}/a/anhe"
    page = phone_page
    _login(page, base_url, "admin")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_role("button", name="菜单").click()
    page.get_by_role("button", name="设置").click()
    page.get_by_role("link", name="网站设置").first.click()
    page.wait_for_url(f"{base_url}/staff/settings/site/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=artifacts / "site-settings-375.png", full_page=True)

    page.get_by_role("button", name="菜单").click()
    page.get_by_role("button", name="English").click()
    page.get_by_role("heading", name="Site settings").wait_for()
    assert page.evaluate("document.documentElement.lang") == "en"
