"""Invitations, log-in, password reset and the wall between member and staff sessions."""

import datetime
import json
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from apps.messaging.models import Notification
from apps.portal.models import MemberAccount, MemberInvitation, ResetCode
from tests.conftest import agency_client
from tests.matchmakers.factories import UserFactory
from tests.portal.factories import PASSWORD, account, member_client

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Chunfeng-2027#"
LINK_RE = re.compile(r"https?://\S+/portal/invite/[\w-]+/")


@pytest.fixture(autouse=True)
def _deliver_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    """Run the delivery tasks queued on commit as each request ends, as a real commit would."""
    from django.test import Client

    request = Client.request

    def request_and_commit(self, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return request(self, **kwargs)

    monkeypatch.setattr(Client, "request", request_and_commit)


def _invite(client, member, channel="email"):
    return client.post(reverse("portal_staff:invite", args=[member.pk]), {"channel": channel})


def _link(message_body: str) -> str:
    return LINK_RE.search(message_body)[0]


def _path(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def test_an_invitation_link_sets_the_password_once_and_logs_the_member_in(agency, matchmaker, she):
    staff = agency_client(agency, matchmaker)
    response = _invite(staff, she)
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["xiaoyu@example.com"]
    path = _path(_link(mail.outbox[0].body))
    assert MemberInvitation.unscoped.get(member=she).token_hash not in mail.outbox[0].body  # only a hash is stored
    # Staff never read the link: the stored message shows it masked, and the real text is gone once sent.
    notification = Notification.unscoped.get(member=she)
    assert path not in notification.body and "******" in notification.body
    assert notification.status == "sent" and notification.sealed == ""

    browser = agency_client(agency)
    assert browser.get(path).status_code == 200
    response = browser.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    home = browser.get(reverse("portal:home"))
    assert home.status_code == 200 and "林小雨" in home.content.decode()
    assert MemberAccount.unscoped.get(member=she).check_password(NEW_PASSWORD)

    # The same link again: gone, and the password stays.
    other_browser = agency_client(agency)
    assert other_browser.get(path).status_code == 410
    assert other_browser.post(path, {"password1": "Another-Pass-99", "password2": "Another-Pass-99"}).status_code == 410
    assert MemberAccount.unscoped.get(member=she).check_password(NEW_PASSWORD)


def test_an_invitation_expires(agency, matchmaker, she):
    _invite(agency_client(agency, matchmaker), she)
    path = _path(_link(mail.outbox[0].body))
    MemberInvitation.unscoped.filter(member=she).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    browser = agency_client(agency)
    assert browser.get(path).status_code == 410
    assert browser.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 410
    assert not MemberAccount.unscoped.filter(member=she).exists()


def test_a_new_invitation_replaces_the_older_link(agency, matchmaker, she):
    staff = agency_client(agency, matchmaker)
    _invite(staff, she)
    _invite(staff, she)
    first, second = (_path(_link(message.body)) for message in mail.outbox)
    browser = agency_client(agency)
    assert browser.get(first).status_code == 410
    assert browser.get(second).status_code == 200


def test_an_invitation_by_sms_reaches_the_file_backend(agency, matchmaker, she, settings, tmp_path):
    settings.SMS_BACKEND = "apps.messaging.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms"
    _invite(agency_client(agency, matchmaker), she, channel="sms")
    lines = [json.loads(line) for line in (tmp_path / "sms").read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["phone"] == she.phone
    assert agency_client(agency).get(_path(_link(lines[0]["text"]))).status_code == 200


def test_a_bad_invitation_request_sends_nothing(agency, matchmaker, she):
    staff = agency_client(agency, matchmaker)
    url = reverse("portal_staff:invite", args=[she.pk])
    response = staff.post(url, {"channel": "fax"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "No invitation was sent" in response.content.decode()
    she.email = ""
    she.save(update_fields=["email"])
    response = staff.post(url, {"channel": "email"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "has no email address" in response.content.decode()
    assert not MemberInvitation.unscoped.filter(member=she).exists()
    assert mail.outbox == []


def test_invitations_stay_inside_the_agency_and_the_role_tree(agency, other_agency, matchmaker, she, he):
    outsider = UserFactory(agency=other_agency, username="hongniang", perms=["matchmakers.view_members",
                                                                             "matchmakers.add_messages"])  # fmt: skip
    assert _invite(agency_client(other_agency, outsider), she).status_code == 404
    assert _invite(agency_client(agency, matchmaker), he).status_code == 404  # he belongs to a sibling branch
    no_messages = UserFactory(agency=agency, username="viewer", perms=["matchmakers.view_members"])
    assert _invite(agency_client(agency, no_messages), she).status_code == 403
    assert not MemberInvitation.unscoped.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(
    "bad",
    [("Chunfeng-2027#", "Chunfeng-2027%", "The two passwords differ."), ("123", "123", "too short")],
)
def test_a_bad_new_password_is_refused_and_the_link_still_works(agency, matchmaker, she, bad):
    password1, password2, message = bad
    _invite(agency_client(agency, matchmaker), she)
    path = _path(_link(mail.outbox[0].body))
    browser = agency_client(agency, None)
    response = browser.post(path, {"password1": password1, "password2": password2}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not MemberAccount.unscoped.filter(member=she).exists()
    assert browser.get(path).status_code == 200


# --- log-in ---------------------------------------------------------------------------------------


def _login(browser, phone, password, **extra):
    return browser.post(reverse("portal:login"), {"phone": phone, "password": password}, **extra)


def test_log_in_by_phone_and_password(agency, she):
    account(she)
    browser = agency_client(agency)
    response = _login(browser, she.phone, PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert browser.get(reverse("portal:home")).status_code == 200
    assert MemberAccount.unscoped.get(member=she).last_login is not None


def test_a_wrong_password_or_an_unknown_phone_gives_one_message(agency, she):
    account(she)
    browser = agency_client(agency)
    wrong = _login(browser, she.phone, "nope", HTTP_ACCEPT_LANGUAGE="en")
    unknown = _login(browser, "13700000000", PASSWORD, HTTP_ACCEPT_LANGUAGE="en")
    for response in (wrong, unknown):
        assert response.status_code == 400
        assert "The mobile number or the password is wrong." in response.content.decode()
    assert browser.get(reverse("portal:home")).status_code == 302


def test_repeated_failures_lock_the_phone_for_a_while(agency, she):
    account(she)
    browser = agency_client(agency)
    for _attempt in range(5):
        assert _login(browser, she.phone, "wrong").status_code == 400
    response = _login(browser, she.phone, PASSWORD, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()


def test_an_inactive_account_cannot_log_in(agency, she):
    MemberAccount.unscoped.filter(pk=account(she).pk).update(is_active=False)
    assert _login(agency_client(agency), she.phone, PASSWORD).status_code == 400


def test_an_account_of_one_agency_does_not_open_another(agency, other_agency, she):
    account(she)
    assert _login(agency_client(other_agency), she.phone, PASSWORD).status_code == 400


def test_a_member_cannot_open_any_back_office_page(agency, she):
    browser = member_client(agency, she)
    for url in (reverse("members:list"), reverse("members:detail", args=[she.pk]), reverse("portal_staff:changes")):
        response = browser.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("matchmakers:login"))


def test_a_staff_log_in_ends_the_member_session_in_that_browser(agency, she, matchmaker):
    browser = member_client(agency, she)
    browser.force_login(matchmaker)
    assert browser.get(reverse("portal:home")).status_code == 302


def test_a_member_log_in_logs_staff_out_of_that_browser(agency, she, matchmaker):
    account(she)
    browser = agency_client(agency, matchmaker)
    assert browser.get(reverse("members:list")).status_code == 200
    _login(browser, she.phone, PASSWORD)
    assert browser.get(reverse("members:list")).status_code == 302
    assert browser.get(reverse("portal:home")).status_code == 200


def test_a_password_change_ends_the_members_other_sessions(agency, she):
    first = member_client(agency, she)
    second = agency_client(agency)
    _login(second, she.phone, PASSWORD)
    response = first.post(reverse("portal:password"), {"old_password": PASSWORD, "password1": NEW_PASSWORD,
                                                        "password2": NEW_PASSWORD})  # fmt: skip
    assert response.status_code == 302
    assert first.get(reverse("portal:home")).status_code == 200
    assert second.get(reverse("portal:home")).status_code == 302


def test_a_wrong_current_password_changes_nothing(agency, she):
    browser = member_client(agency, she)
    data = {"old_password": "wrong", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = browser.post(reverse("portal:password"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "Your current password is wrong." in response.content.decode()
    assert MemberAccount.unscoped.get(member=she).check_password(PASSWORD)


def test_logging_out(agency, she):
    browser = member_client(agency, she)
    assert browser.post(reverse("portal:logout")).status_code == 302
    assert browser.get(reverse("portal:home")).status_code == 302


# --- password reset by SMS code ------------------------------------------------------------------


@pytest.fixture
def sms_file(settings, tmp_path):
    settings.SMS_BACKEND = "apps.messaging.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms"
    return tmp_path / "sms"


def _texts(folder) -> list[dict]:
    if not folder.exists():
        return []
    return [json.loads(line) for line in folder.read_text().splitlines()]


def _code(folder) -> str:
    return re.search(r"\b(\d{6})\b", _texts(folder)[-1]["text"])[1]


def _reset(browser, phone, code, password=NEW_PASSWORD, **extra):
    return browser.post(reverse("portal:reset_confirm"), {"phone": phone, "code": code, "password1": password,
                                                           "password2": password}, **extra)  # fmt: skip


def test_a_texted_code_resets_the_password(agency, she, sms_file):
    account(she)
    browser = agency_client(agency)
    response = browser.post(reverse("portal:reset"), {"phone": she.phone})
    assert response.status_code == 302
    code = _code(sms_file)
    notification = Notification.unscoped.get(member=she, kind="reset_code")
    assert code not in notification.body and "******" in notification.body and notification.sealed == ""
    assert _reset(browser, she.phone, code).status_code == 302
    assert MemberAccount.unscoped.get(member=she).check_password(NEW_PASSWORD)
    assert browser.get(reverse("portal:home")).status_code == 200
    # A code works once.
    assert _reset(agency_client(agency), she.phone, code, "Third-Pass-2028!").status_code == 400
    assert MemberAccount.unscoped.get(member=she).check_password(NEW_PASSWORD)


def test_an_unknown_phone_hears_the_same_and_gets_no_text(agency, sms_file):
    response = agency_client(agency).post(reverse("portal:reset"), {"phone": "13712345678"}, follow=True,
                                          HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert "If this number has a portal account" in response.content.decode()
    assert _texts(sms_file) == []
    assert not ResetCode.unscoped.exists()


def test_wrong_codes_use_up_the_code(agency, she, sms_file):
    account(she)
    agency_client(agency).post(reverse("portal:reset"), {"phone": she.phone})
    code = _code(sms_file)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    browser = agency_client(agency)
    for _attempt in range(5):
        response = _reset(browser, she.phone, wrong, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400 and "The code is wrong or has expired" in response.content.decode()
    assert _reset(browser, she.phone, code).status_code == 400  # the right code no longer works
    assert MemberAccount.unscoped.get(member=she).check_password(PASSWORD)


def test_an_expired_code_is_refused(agency, she, sms_file):
    account(she)
    agency_client(agency).post(reverse("portal:reset"), {"phone": she.phone})
    ResetCode.unscoped.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert _reset(agency_client(agency), she.phone, _code(sms_file)).status_code == 400


def test_reset_codes_are_rate_limited_per_phone_and_per_address(agency, she, sms_file):
    account(she)
    browser = agency_client(agency)
    for _attempt in range(3):
        assert browser.post(reverse("portal:reset"), {"phone": she.phone}).status_code == 302
    response = browser.post(reverse("portal:reset"), {"phone": she.phone}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429 and "Too many codes were requested" in response.content.decode()
    assert len(_texts(sms_file)) == 3
    # Other phones from the same address: 10 requests an hour in all.
    for n in range(7):
        assert browser.post(reverse("portal:reset"), {"phone": f"1370000000{n}"}).status_code == 302
    assert browser.post(reverse("portal:reset"), {"phone": "13700000099"}).status_code == 429
    # Another address may still ask for another phone.
    assert agency_client(agency).post(reverse("portal:reset"), {"phone": "13700000098"},
                                      REMOTE_ADDR="10.1.2.3").status_code == 302  # fmt: skip


def test_a_secret_never_goes_in_site_and_a_failed_one_is_not_sent_again(agency, matchmaker, she):
    from django.core.exceptions import ValidationError

    from apps.agencies.context import agency_context
    from apps.messaging import services as messaging

    with agency_context(agency), pytest.raises(ValidationError):
        messaging.notify_member(agency=agency, member=she, kind="reset_code", channel="in_site",
                                values={"minutes": 10}, secrets={"code": "123456"})  # fmt: skip
    assert not Notification.unscoped.exists()
    failed = Notification.unscoped.create(
        agency=agency, member=she, channel="sms", kind="reset_code", body="code ******", recipient=she.phone,
        status="failed", attempts=4,
    )  # fmt: skip
    with agency_context(agency), translation.override("en"), pytest.raises(ValidationError, match="Send a new one"):
        messaging.notification_retry(agency=agency, actor=matchmaker, notification_id=failed.pk)


@pytest.mark.django_db(transaction=True)
def test_a_code_can_be_used_once_even_by_two_requests_at_once(agency, she, sms_file):
    """Two confirmations with the right code race on their own connections: one password wins."""
    import threading

    from django.db import connection

    account(she)
    agency_client(agency).post(reverse("portal:reset"), {"phone": she.phone})
    code = _code(sms_file)
    results, barrier = [], threading.Barrier(2)

    def confirm(password):
        from apps.agencies.context import agency_context
        from apps.portal import services

        try:
            barrier.wait()
            with agency_context(agency):
                services.reset_code_confirm(agency=agency, phone=she.phone, code=code, password1=password,
                                            password2=password)  # fmt: skip
            results.append(password)
        except Exception as error:  # the loser's ValidationError
            results.append(type(error).__name__)
        finally:
            connection.close()

    passwords = ("Left-Hand-2031!", "Right-Hand-2031!")
    workers = [threading.Thread(target=confirm, args=(password,)) for password in passwords]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(results) == 2 and results.count("ValidationError") == 1, results
    winner = next(result for result in results if result != "ValidationError")
    assert MemberAccount.unscoped.get(member=she).check_password(winner)
