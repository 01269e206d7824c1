"""Contacting a member from the 360° page (F-E4): one interface, three channel backends.

Delivery runs in a Celery task queued on commit: eagerly in most tests (conftest), and once through
a real worker process. The Aliyun SMS adapter never touches the network here: its signing and
request building are checked against Alibaba Cloud's documented example and an independent
computation.
"""

import base64
import datetime
import hashlib
import hmac
import io
import json
import time
import urllib.parse
import urllib.request
from email.header import decode_header, make_header
from email.utils import parseaddr

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.http import Http404
from django.utils import translation

from apps.agencies.context import agency_context
from apps.members.models import Member
from apps.messaging import sms
from apps.messaging.models import Notification
from apps.messaging.services import notification_deliver, send_to_member
from matchcrm.celery import app as celery_app
from tests.conftest import agency_client
from tests.matchmakers.factories import RoleFactory, UserFactory, root_role

pytestmark = pytest.mark.django_db

SEND = ["matchmakers.view_members", "matchmakers.view_messages", "matchmakers.add_messages"]


@pytest.fixture(autouse=True)
def _english():
    """The assertions read English messages; services and pages answer in the active language."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _sms_to_a_file(settings, tmp_path):
    settings.SMS_BACKEND = "apps.messaging.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms" / "sent.jsonl"


def en_client(agency, user):
    client = agency_client(agency, user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def make_member(agency, owner, n=1, email="lin@example.com") -> Member:
    return Member.unscoped.create(
        agency=agency, member_no=f"M{n:06d}", name=f"林小雨{n}", gender="female", phone=f"1380013{n:04d}",
        email=email, presale_owner=owner,
    )  # fmt: skip


@pytest.fixture
def matchmaker(agency):
    return UserFactory(agency=agency, username="xiaohong", name="小红", email="xiaohong@anhe.example", perms=SEND)


@pytest.fixture
def member(agency, matchmaker):
    return make_member(agency, matchmaker)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what the block queued on commit (the delivery tasks) when it ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def sms_lines() -> list[dict]:
    if not settings.SMS_FILE_PATH.exists():
        return []
    return [json.loads(line) for line in settings.SMS_FILE_PATH.read_text(encoding="utf-8").splitlines()]


def send(agency, **kwargs) -> Notification:
    with agency_context(agency):
        return send_to_member(agency=agency, **kwargs)


def messages_of(response) -> list[tuple[str, str]]:
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


# Each channel's happy path ------------------------------------------------------------------------


def test_an_in_site_message_is_stored_for_the_portal_inbox(agency, matchmaker, member, committed):
    with committed() as callbacks:
        notification = send(
            agency, actor=matchmaker, member=member, channel="in_site", subject="ignored", body="周六见面的时间定了"
        )
        assert Notification.unscoped.get().status == Notification.Status.QUEUED  # delivery waits for the commit
    assert len(callbacks) == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT and notification.sent_at is not None
    assert (notification.member, notification.sender, notification.recipient) == (member, matchmaker, "")
    assert notification.subject == ""  # subjects belong to emails
    assert notification.body == "周六见面的时间定了"
    assert mail.outbox == []
    assert sms_lines() == []


def test_an_email_from_the_member_page_lands_in_the_outbox(agency, matchmaker, member, committed):
    client = en_client(agency, matchmaker)
    with committed():
        response = client.post(
            f"/staff/members/{member.pk}/contact/",
            {"channel": "email", "subject": "见面安排", "body": "您好，周六下午三点在西湖边见。"},
            follow=True,
        )
    assert response.redirect_chain == [(f"/staff/members/{member.pk}/", 302)]
    assert messages_of(response) == [
        ("success", f"Email to {member.name} is on its way; the timeline shows whether it was delivered.")
    ]
    [email] = mail.outbox
    assert email.to == ["lin@example.com"]
    assert email.subject == "见面安排"
    assert email.body == "您好，周六下午三点在西湖边见。"
    assert email.reply_to == ["xiaohong@anhe.example"]
    sender_name, sender_address = parseaddr(str(make_header(decode_header(email.message()["From"]))))
    assert (sender_name, sender_address) == ("安和婚恋", "noreply@localhost")  # the agency writes, not MatchCRM
    notification = Notification.unscoped.get()
    assert (notification.channel, notification.status, notification.recipient) == ("email", "sent", "lin@example.com")


def test_an_sms_through_the_file_backend_writes_one_json_line(agency, matchmaker, member, committed):
    with committed():
        notification = send(agency, actor=matchmaker, member=member, channel="sms", body="明天下午两点见，红娘小红")
    [line] = sms_lines()
    assert line["phone"] == member.phone == "13800130001"
    assert line["text"] == "明天下午两点见，红娘小红"
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.recipient == member.phone
    assert notification.external_id == line["id"]


def test_the_console_sms_backend_writes_to_the_log(caplog):
    with caplog.at_level("INFO", logger="apps.messaging.sms"):
        assert sms.ConsoleSmsBackend().send(phone="13800138000", text="你好") == ""
    assert "SMS to 13800138000: 你好" in caplog.text


def _route_tasks_to(queue: str) -> None:
    celery_app.conf.task_default_queue = queue


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_messages_are_delivered_by_a_real_worker(agency, matchmaker, monkeypatch, tmp_path, request):
    """Queued on commit, picked up by a `celery worker` process, delivered, marked sent in the database."""
    sms_file = tmp_path / "worker-sms.jsonl"
    monkeypatch.setenv("SMS_BACKEND", "apps.messaging.sms.FileSmsBackend")
    monkeypatch.setenv("SMS_FILE_PATH", str(sms_file))
    queue = request.getfixturevalue("celery_worker_process")  # started after the environment is set
    request.addfinalizer(lambda default=celery_app.conf.task_default_queue: _route_tasks_to(default))
    _route_tasks_to(queue)  # what the service queues goes to this test's worker
    member = make_member(agency, matchmaker)

    by_sms = send(agency, actor=matchmaker, member=member, channel="sms", body="worker 短信")
    in_site = send(agency, actor=matchmaker, member=member, channel="in_site", body="worker 站内信")

    deadline = time.monotonic() + 60
    while Notification.unscoped.filter(status=Notification.Status.QUEUED).exists():
        assert time.monotonic() < deadline, "the worker did not deliver the messages in time"
        time.sleep(0.2)
    assert Notification.unscoped.get(pk=by_sms.pk).status == Notification.Status.SENT
    assert Notification.unscoped.get(pk=in_site.pk).status == Notification.Status.SENT
    [line] = [json.loads(text) for text in sms_file.read_text(encoding="utf-8").splitlines()]
    assert (line["phone"], line["text"]) == (member.phone, "worker 短信")


# Failures and refusals ----------------------------------------------------------------------------


class RefusingSmsBackend(sms.BaseSmsBackend):
    def send(self, *, phone, text):
        raise sms.SmsError("isv.BUSINESS_LIMIT_CONTROL: too many messages to this number")


def test_a_failed_delivery_is_marked_failed_with_the_error(agency, matchmaker, member, settings, committed):
    settings.SMS_BACKEND = f"{__name__}.RefusingSmsBackend"
    with committed():
        notification = send(agency, actor=matchmaker, member=member, channel="sms", body="你好")
    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.sent_at is None
    assert notification.error == "SmsError: isv.BUSINESS_LIMIT_CONTROL: too many messages to this number"
    page = en_client(agency, matchmaker).get(f"/staff/members/{member.pk}/")
    assert "Failed: SmsError: isv.BUSINESS_LIMIT_CONTROL" in page.text


def test_a_broken_mail_server_marks_the_email_failed(agency, matchmaker, member, settings, committed):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens there
    with committed():
        notification = send(agency, actor=matchmaker, member=member, channel="email", subject="主题", body="正文")
    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert "ConnectionRefusedError" in notification.error


def test_a_notification_is_delivered_once_even_if_its_task_runs_twice(agency, matchmaker, member, committed):
    with committed():
        notification = send(agency, actor=matchmaker, member=member, channel="email", subject="主题", body="正文")
    with agency_context(agency):
        again = notification_deliver(agency=agency, notification_id=notification.pk)
    assert again.status == Notification.Status.SENT
    assert len(mail.outbox) == 1


def test_an_email_to_a_member_without_an_address_is_refused_and_nothing_is_stored(agency, matchmaker, committed):
    member = make_member(agency, matchmaker, email="")
    with committed() as callbacks, pytest.raises(ValidationError) as caught:
        send(agency, actor=matchmaker, member=member, channel="email", subject="主题", body="正文")
    assert caught.value.message_dict == {
        "channel": [f"{member.name} has no email address. Add one to the profile or choose another channel."]
    }
    assert callbacks == []
    response = en_client(agency, matchmaker).post(
        f"/staff/members/{member.pk}/contact/", {"channel": "email", "subject": "主题", "body": "正文"}, follow=True
    )
    assert messages_of(response) == [
        ("error", f"Nothing was sent: {member.name} has no email address. Add one to the profile or choose "
                  "another channel.")
    ]  # fmt: skip
    assert Notification.unscoped.count() == 0
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"channel": "sms", "body": ""}, "This field is required."),
        ({"channel": "fax", "body": "你好"}, "Select a valid choice. fax is not one of the available choices."),
        ({"channel": "email", "subject": "", "body": "你好"}, "An email needs a subject."),
        ({"channel": "sms", "body": "长" * 501}, "An SMS can have at most 500 characters; this one has 501."),
        ({"channel": "in_site", "body": "   "}, "This field is required."),
    ],
)
def test_bad_input_is_explained_and_nothing_is_sent(agency, member, data, error, committed):
    with committed():
        response = en_client(agency, member.presale_owner).post(
            f"/staff/members/{member.pk}/contact/", data, follow=True
        )
    assert response.status_code == 200
    assert messages_of(response) == [("error", f"Nothing was sent: {error}")]
    assert Notification.unscoped.count() == 0
    assert mail.outbox == [] and sms_lines() == []


def test_a_member_outside_the_users_branch_answers_404_and_nothing_is_sent(agency, matchmaker, committed):
    colleague = UserFactory(agency=agency, username="sibling", perms=SEND)  # a sibling branch
    member = make_member(agency, colleague)
    with committed():
        response = en_client(agency, matchmaker).post(
            f"/staff/members/{member.pk}/contact/", {"channel": "in_site", "body": "你好"}
        )
    assert response.status_code == 404
    with pytest.raises(Http404):
        send(agency, actor=matchmaker, member=member, channel="in_site", body="你好")
    assert Notification.unscoped.count() == 0


def test_a_manager_above_the_owner_may_contact_the_member(agency, committed):
    manager_role = RoleFactory(agency=agency, parent=root_role(agency), perms=SEND)
    manager = UserFactory(agency=agency, username="manager", role=manager_role)
    matchmaker = UserFactory(agency=agency, username="below", role=RoleFactory(agency=agency, parent=manager_role))
    member = make_member(agency, matchmaker)
    with committed():
        notification = send(agency, actor=manager, member=member, channel="in_site", body="你好")
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT


def test_without_the_messages_permission_the_page_answers_403(agency, member, committed):
    viewer = UserFactory(agency=agency, username="viewer", perms=["matchmakers.view_members"])
    Member.unscoped.filter(pk=member.pk).update(presale_owner=viewer)
    with committed():
        response = en_client(agency, viewer).post(
            f"/staff/members/{member.pk}/contact/", {"channel": "in_site", "body": "你好"}
        )
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        send(agency, actor=viewer, member=member, channel="in_site", body="你好")
    assert Notification.unscoped.count() == 0
    page = en_client(agency, viewer).get(f"/staff/members/{member.pk}/")
    assert page.status_code == 200
    assert 'id="contact-form"' not in page.text


def test_another_agencys_member_answers_404(agency, other_agency, member, committed):
    stranger = UserFactory(agency=other_agency, username="stranger", perms=SEND)
    with committed():
        response = en_client(other_agency, stranger).post(
            f"/staff/members/{member.pk}/contact/", {"channel": "in_site", "body": "你好"}
        )
    assert response.status_code == 404
    with pytest.raises(Http404):
        send(other_agency, actor=stranger, member=member, channel="in_site", body="你好")
    assert Notification.unscoped.count() == 0


def test_get_is_not_allowed(agency, matchmaker, member):
    assert en_client(agency, matchmaker).get(f"/staff/members/{member.pk}/contact/").status_code == 405


# The member page --------------------------------------------------------------------------------


def test_the_member_page_has_the_contact_card_and_its_timeline_shows_what_was_sent(
    agency, matchmaker, member, committed
):
    client = en_client(agency, matchmaker)
    page = client.get(f"/staff/members/{member.pk}/")
    assert 'id="contact-form"' in page.text
    assert f'action="/staff/members/{member.pk}/contact/"' in page.text
    with committed():
        client.post(
            f"/staff/members/{member.pk}/contact/", {"channel": "email", "subject": "见面安排", "body": "周六见"}
        )
        client.post(f"/staff/members/{member.pk}/contact/", {"channel": "sms", "body": "请准时到达西湖边的咖啡馆" * 6})
    page = client.get(f"/staff/members/{member.pk}/")
    events = [event for event in page.context["timeline"] if event.kind == "message"]
    assert [(event.title, event.detail, event.actor) for event in events] == [
        ("SMS: " + ("请准时到达西湖边的咖啡馆" * 6)[:59] + "…", "Sent", "小红"),
        ("Email: 见面安排", "Sent", "小红"),
    ]
    assert page.text.count('data-kind="message"') == 2


def test_messages_stay_off_the_timeline_of_staff_who_may_not_view_messages(agency, matchmaker, member, committed):
    with committed():
        send(agency, actor=matchmaker, member=member, channel="in_site", body="你好")
    finance = UserFactory(agency=agency, username="finance", perms=["matchmakers.view_members"])
    Member.unscoped.filter(pk=member.pk).update(aftersale_owner=finance)
    page = en_client(agency, finance).get(f"/staff/members/{member.pk}/")
    assert 'data-kind="message"' not in page.text


# Alibaba Cloud SMS: signing and request building, never the network -------------------------------


def independent_signature(params: dict, secret: str, method: str) -> str:
    """Alibaba Cloud's RPC signature (version 1.0) as their documentation spells it, step by step."""

    def encode(text: str) -> str:
        encoded = urllib.parse.quote_plus(text.encode("utf-8"))
        return encoded.replace("+", "%20").replace("*", "%2A").replace("%7E", "~")

    canonical = "&".join(encode(key) + "=" + encode(params[key]) for key in sorted(params) if key != "Signature")
    string_to_sign = method + "&" + encode("/") + "&" + encode(canonical)
    return base64.b64encode(hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


# The worked example of Alibaba Cloud's SMS documentation ("HTTP协议及签名"): AccessKey secret testSecret.
DOC_PARAMS = {
    "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123", "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}  # fmt: skip
DOC_SIGNATURE = "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_the_signature_reproduces_alibaba_clouds_documented_example():
    assert independent_signature(DOC_PARAMS, "testSecret", "GET") == DOC_SIGNATURE
    assert sms.aliyun_signature(DOC_PARAMS, "testSecret", "GET") == DOC_SIGNATURE
    assert sms.aliyun_percent_encode("a b*c~d/é") == "a%20b%2Ac~d%2F%C3%A9"


@pytest.fixture
def aliyun():
    return sms.AliyunSmsBackend(
        access_key_id="LTAI-test-id", access_key_secret="test-secret", sign_name="安和婚恋", template_code="SMS_123456"
    )


FIXED = {"timestamp": datetime.datetime(2025, 3, 1, 10, 30, 5, tzinfo=datetime.UTC), "nonce": "6a0f1c2e-nonce"}


def test_the_sendsms_request_is_deterministic_and_correctly_signed(aliyun):
    request = aliyun.build_request(phone="13800138000", text="周六 15:00 见 *~", **FIXED)
    assert request.full_url == "https://dysmsapi.aliyuncs.com/"
    assert request.get_method() == "POST"
    assert request.get_header("Content-type") == "application/x-www-form-urlencoded; charset=utf-8"
    assert aliyun.build_request(phone="13800138000", text="周六 15:00 见 *~", **FIXED).data == request.data
    sent = dict(urllib.parse.parse_qsl(request.data.decode("ascii"), strict_parsing=True))
    assert sent == {
        "AccessKeyId": "LTAI-test-id", "Action": "SendSms", "Format": "JSON", "PhoneNumbers": "13800138000",
        "RegionId": "cn-hangzhou", "SignName": "安和婚恋", "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "6a0f1c2e-nonce", "SignatureVersion": "1.0", "TemplateCode": "SMS_123456",
        "TemplateParam": '{"content":"周六 15:00 见 *~"}', "Timestamp": "2025-03-01T10:30:05Z",
        "Version": "2017-05-25", "Signature": sent["Signature"],
    }  # fmt: skip
    assert sent["Signature"] == independent_signature(sent, "test-secret", "POST")
    assert sent["Signature"] != independent_signature(sent, "test-secret", "GET")  # the method is signed too
    # A timestamp in another zone is sent in UTC.
    shanghai = FIXED["timestamp"].astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    assert aliyun.build_request(phone="13800138000", text="周六 15:00 见 *~", timestamp=shanghai,
                                nonce=FIXED["nonce"]).data == request.data  # fmt: skip


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_aliyun_answer_is_read_without_any_network(aliyun, monkeypatch):
    posted = []

    def fake_urlopen(request, timeout):
        posted.append(request)
        return FakeResponse(json.dumps(answers.pop(0)).encode())

    answers = [
        {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "F655A8D5"},
        {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1", "RequestId": "2184201F"},
    ]
    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    assert aliyun.send(phone="13800138000", text="你好") == "900619746936498440^0"
    with pytest.raises(sms.SmsError, match=r"isv\.BUSINESS_LIMIT_CONTROL: 触发分钟级流控"):
        aliyun.send(phone="13800138000", text="你好")
    assert len(posted) == 2


def test_the_aliyun_backend_needs_its_settings(monkeypatch):
    for name in (
        "ALIYUN_SMS_ACCESS_KEY_ID",
        "ALIYUN_SMS_ACCESS_KEY_SECRET",
        "ALIYUN_SMS_SIGN_NAME",
        "ALIYUN_SMS_TEMPLATE_CODE",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ImproperlyConfigured, match="ALIYUN_SMS_ACCESS_KEY_ID, ALIYUN_SMS_ACCESS_KEY_SECRET"):
        sms.AliyunSmsBackend()
    monkeypatch.setenv("ALIYUN_SMS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("ALIYUN_SMS_ACCESS_KEY_SECRET", "secret")
    monkeypatch.setenv("ALIYUN_SMS_SIGN_NAME", "安和婚恋")
    monkeypatch.setenv("ALIYUN_SMS_TEMPLATE_CODE", "SMS_1")
    assert sms.AliyunSmsBackend().template_code == "SMS_1"
