"""A member is invited by email, sets a password, reads her matchmaker's message and replies; the
matchmaker sees the reply as unread."""

import re

import pytest

from apps.messaging.models import Thread
from apps.portal.models import MemberAccount
from tests.e2e.test_site_settings_flow import _login
from tests.matching.factories import person
from tests.matchmakers.factories import UserFactory
from tests.portal.conftest import PORTAL_STAFF_PERMS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINK_RE = re.compile(r"http://\S+/portal/invite/[\w-]+/")


def _invitation_link(folder) -> str:
    """The set-password link of the one email in the file backend's folder."""
    messages = [path.read_text() for path in folder.iterdir()]
    assert len(messages) == 1
    return LINK_RE.search(messages[0])[0]


@pytest.fixture
def mail_folder(settings, tmp_path):
    """Outgoing email goes to files, as a developer's machine would keep it."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    return settings.EMAIL_FILE_PATH


def test_invited_member_sets_a_password_reads_and_replies(page, live_server, agency, mail_folder, artifacts):
    matchmaker = UserFactory(agency=agency, username="hongniang", name="王红娘", perms=PORTAL_STAFF_PERMS)
    she = person(agency, "female", 29, owner=matchmaker, name="林小雨", email="xiaoyu@example.com")
    base_url = f"{live_server.url}/a/anhe"

    # The matchmaker writes to her and sends the portal invitation from the member page.
    _login(page, base_url, "hongniang")
    page.goto(f"{base_url}/staff/members/{she.pk}/")
    page.locator("#conversations-panel").get_by_role("link", name="新建会话").click()
    form = page.locator("#thread-start-form")
    form.locator("#id_subject").fill("周六见面安排")
    form.locator("#id_body").fill("小雨你好，周六下午三点在西湖边的星巴克见面可以吗？")
    form.locator("button[type=submit]").click()
    page.locator("#thread-messages").get_by_text("周六下午三点").wait_for()
    page.goto(f"{base_url}/staff/members/{she.pk}/")
    panel = page.locator("#portal-panel")
    panel.locator("select[name=channel]").select_option("email")
    panel.get_by_role("button", name="邀请开通门户").click()
    page.get_by_text("链接仅可使用一次", exact=False).wait_for()

    # She opens the link from the email, chooses a password and lands in her portal.
    link = _invitation_link(mail_folder)
    browser = page.context.browser
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN")
    member = context.new_page()
    member.set_default_timeout(15_000)
    member.goto(link)
    member.locator("#id_password1").fill("Xihu-Spring-2027")
    member.locator("#id_password2").fill("Xihu-Spring-2027")
    member.get_by_role("button", name="设置密码并登录").click()
    member.wait_for_url(f"{base_url}/portal/")
    assert MemberAccount.unscoped.get(member=she).is_active
    badge = member.get_by_test_id("messages-badge")
    assert badge.inner_text() == "1"
    member.screenshot(path=artifacts / "portal-home.png", full_page=True)

    # The same link a second time no longer works.
    second = browser.new_context(locale="zh-CN").new_page()
    assert second.goto(link).status == 410
    second.context.close()

    member.locator(".portal-nav").get_by_role("link", name="站内消息").click()
    member.get_by_role("link", name=re.compile("周六见面安排")).click()
    member.locator("#thread-messages").get_by_text("周六下午三点").wait_for()
    assert member.get_by_test_id("messages-badge").count() == 0  # read now
    member.locator("#reply-form #id_body").fill("可以的，周六见！")
    member.locator("#reply-form button[type=submit]").click()
    member.locator("#thread-messages").get_by_text("可以的，周六见！").wait_for()
    member.screenshot(path=artifacts / "portal-thread.png", full_page=True)
    context.close()

    # Back in the office: the reply is unread.
    page.goto(f"{base_url}/staff/messages/")
    assert page.get_by_test_id("staff-messages-badge").inner_text() == "1"
    row = page.locator("#threads").get_by_role("link", name=re.compile("林小雨"))
    assert "list-group-item-warning" in row.get_attribute("class")
    page.screenshot(path=artifacts / "staff-inbox-unread.png", full_page=True)
    row.click()
    page.locator("#thread-messages").get_by_text("可以的，周六见！").wait_for()
    assert Thread.unscoped.get(member=she).unread_by_staff == 0
