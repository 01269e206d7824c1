"""Retries of a failed delivery, the safety net for lost tasks and "retry now" (F-H3).

Failures are real: the Alibaba Cloud backend posts to a port where nothing listens, so the
connection is refused by the operating system; nothing of ours is mocked.
"""

import datetime
import time

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone, translation
from django_celery_beat.models import PeriodicTask

from apps.agencies.context import agency_context
from apps.jobs import schedule
from apps.messaging import services, tasks
from apps.messaging.models import Kind, Notification
from apps.messaging.services import notification_deliver, notify_member, send_to_member
from matchcrm.celery import app as celery_app
from tests.matchmakers.factories import UserFactory
from tests.messaging.test_notifications import en_client, make_member, messages_of, sms_lines

pytestmark = pytest.mark.django_db

SEND = ["matchmakers.view_members", "matchmakers.view_messages", "matchmakers.add_messages"]
UNREACHABLE = "https://127.0.0.1:9/"  # the discard port: nothing listens, the connection is refused
ALIYUN_ENV = {
    "ALIYUN_SMS_ACCESS_KEY_ID": "LTAI-test-id",
    "ALIYUN_SMS_ACCESS_KEY_SECRET": "test-secret",
    "ALIYUN_SMS_SIGN_NAME": "安和婚恋",
    "ALIYUN_SMS_TEMPLATE_CODE": "SMS_123456",
}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _sms_to_a_file(settings, tmp_path):
    settings.SMS_BACKEND = "apps.messaging.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms" / "sent.jsonl"
    settings.NOTIFICATION_MAX_ATTEMPTS = 4
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 30


@pytest.fixture
def unreachable_sms(settings, monkeypatch):
    """The Alibaba Cloud backend, fully configured, pointed at an address that refuses connections."""
    for name, value in ALIYUN_ENV.items():
        monkeypatch.setenv(name, value)
    settings.SMS_BACKEND = "apps.messaging.sms.AliyunSmsBackend"
    settings.ALIYUN_SMS_ENDPOINT = UNREACHABLE


@pytest.fixture
def matchmaker(agency):
    return UserFactory(agency=agency, username="xiaohong", name="小红", perms=SEND)


@pytest.fixture
def member(agency, matchmaker):
    return make_member(agency, matchmaker)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def queue_sms(agency, member, **values) -> Notification:
    """A birthday SMS stored and queued; its delivery task is not run (the test's transaction never commits)."""
    with agency_context(agency):
        return notify_member(agency=agency, member=member, kind=Kind.BIRTHDAY, channel="sms", values=values)


def deliver(agency, notification, attempt=None) -> Notification | None:
    with agency_context(agency):
        return notification_deliver(agency=agency, notification_id=notification.pk, attempt=attempt)


# Retries, then failure ----------------------------------------------------------------------------


def test_an_unreachable_provider_is_retried_with_growing_delays_then_the_message_is_failed(
    agency, member, unreachable_sms
):
    notification = queue_sms(agency, member)
    assert (notification.status, notification.attempts, notification.next_attempt_at) == ("queued", 0, None)
    delays = []
    for attempt in (1, 2, 3):
        before = timezone.now()
        result = deliver(agency, notification, attempt=attempt)
        notification.refresh_from_db()
        assert result.pk == notification.pk
        assert notification.attempts == attempt
        assert notification.status == Notification.Status.QUEUED  # still on its way: never silently lost
        assert notification.error.startswith("SmsError: Alibaba Cloud SMS could not be reached:")
        assert "Connection refused" in notification.error
        assert notification.sent_at is None
        delay = (notification.next_attempt_at - before).total_seconds()
        assert 30 * 4 ** (attempt - 1) <= delay < 30 * 4 ** (attempt - 1) + 5
        delays.append(delay)
    assert delays[0] < delays[1] < delays[2]

    deliver(agency, notification, attempt=4)
    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.attempts == settings.NOTIFICATION_MAX_ATTEMPTS == 4
    assert notification.next_attempt_at is None
    assert "Connection refused" in notification.error  # the reason stays for the log


def test_the_retry_delay_grows_fourfold():
    assert [services.notification_retry_delay(n) for n in (1, 2, 3)] == [30, 120, 480]


def test_through_the_task_every_attempt_is_made_then_the_row_is_failed(agency, matchmaker, member, unreachable_sms,
                                                                      committed):  # fmt: skip
    """The task queues itself again after each failure (at once here: tests run tasks eagerly)."""
    with committed(), agency_context(agency):
        notification = send_to_member(agency=agency, actor=matchmaker, member=member, channel="sms", body="你好")
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("failed", 4)
    assert "Connection refused" in notification.error


def test_a_delivery_that_succeeds_after_a_failure_is_sent_and_clears_the_error(agency, member, unreachable_sms,
                                                                              settings):  # fmt: skip
    notification = queue_sms(agency, member)
    deliver(agency, notification, attempt=1)
    settings.SMS_BACKEND = "apps.messaging.sms.FileSmsBackend"  # the provider is back
    deliver(agency, notification, attempt=2)
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.error) == ("sent", 2, "")
    assert notification.next_attempt_at is None and notification.sent_at is not None
    assert len(sms_lines()) == 1


# Duplicates ---------------------------------------------------------------------------------------


def test_a_duplicate_task_cannot_send_twice(agency, member):
    notification = queue_sms(agency, member)
    kwargs = {"agency_id": agency.pk, "notification_id": notification.pk, "attempt": 1}
    assert tasks.notification_send.apply(kwargs=kwargs).get() == "sent"
    assert tasks.notification_send.apply(kwargs=kwargs).get() == "sent"  # delivered again: finds it sent
    assert tasks.notification_send.apply(kwargs={**kwargs, "attempt": 2}).get() == "sent"
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("sent", 1)
    assert len(sms_lines()) == 1


def test_a_duplicate_of_a_failed_attempt_does_not_make_another_attempt(agency, member, unreachable_sms):
    notification = queue_sms(agency, member)
    deliver(agency, notification, attempt=1)
    assert deliver(agency, notification, attempt=1) is None  # that attempt was made already
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("queued", 1)


# The safety net for lost tasks --------------------------------------------------------------------


def test_lost_tasks_are_queued_again_and_only_those(agency, other_agency, member, committed):
    now = timezone.now()
    overdue_retry = queue_sms(agency, member)
    untried = queue_sms(agency, member)
    fresh = queue_sms(agency, member)
    waiting = queue_sms(agency, member)
    sent = queue_sms(agency, member)
    Notification.unscoped.filter(pk=overdue_retry.pk).update(attempts=1, next_attempt_at=now - datetime.timedelta(1))
    Notification.unscoped.filter(pk=untried.pk).update(created_at=now - datetime.timedelta(minutes=11))
    Notification.unscoped.filter(pk=waiting.pk).update(attempts=1, next_attempt_at=now + datetime.timedelta(hours=1))
    Notification.unscoped.filter(pk=sent.pk).update(status="sent", created_at=now - datetime.timedelta(hours=1))
    theirs = queue_sms(other_agency, make_member(other_agency, UserFactory(agency=other_agency), n=2))
    Notification.unscoped.filter(pk=theirs.pk).update(created_at=now - datetime.timedelta(hours=1))

    with committed():
        assert tasks.notifications_requeue_due.apply(kwargs={"agency_id": agency.pk}).get() == 2

    states = dict(Notification.unscoped.values_list("pk", "status"))
    assert states[overdue_retry.pk] == states[untried.pk] == "sent"
    assert states[fresh.pk] == states[waiting.pk] == states[theirs.pk] == "queued"
    assert Notification.unscoped.get(pk=overdue_retry.pk).attempts == 2
    assert len(sms_lines()) == 2


def test_the_safety_net_runs_for_every_active_agency_every_ten_minutes(agency, other_agency):
    assert tasks.notifications_requeue_due_all.apply().get() == 2
    schedule.install_defaults()
    entry = PeriodicTask.objects.get(name="notifications requeue")
    assert entry.task == "apps.messaging.tasks.notifications_requeue_due_all"
    assert entry.crontab.minute == "*/10"


# Retry now ----------------------------------------------------------------------------------------


def failed_sms(agency, member) -> Notification:
    notification = queue_sms(agency, member)
    Notification.unscoped.filter(pk=notification.pk).update(status="failed", attempts=4, error="SmsError: down")
    return notification


def retry_url(notification) -> str:
    return f"/staff/messages/sent/{notification.pk}/retry/"


def test_retry_now_sends_a_failed_message_again(agency, matchmaker, member, committed):
    notification = failed_sms(agency, member)
    with committed():
        response = en_client(agency, matchmaker).post(retry_url(notification), follow=True)
    assert response.redirect_chain == [("/staff/messages/sent/", 302)]
    assert messages_of(response) == [
        ("success", f"The SMS to {member.name} is queued again; this list shows whether it goes out.")
    ]
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.error) == ("sent", 5, "")  # attempts kept
    assert len(sms_lines()) == 1


def test_retry_now_that_fails_again_marks_the_message_failed_at_once(agency, matchmaker, member, unreachable_sms,
                                                                    committed):  # fmt: skip
    notification = failed_sms(agency, member)
    with committed():
        en_client(agency, matchmaker).post(retry_url(notification))
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("failed", 5)
    assert "Connection refused" in notification.error


def test_retry_now_refuses_a_message_that_has_not_failed(agency, matchmaker, member, committed):
    notification = queue_sms(agency, member)
    Notification.unscoped.filter(pk=notification.pk).update(status="sent")
    with committed() as callbacks:
        response = en_client(agency, matchmaker).post(retry_url(notification), follow=True)
    assert messages_of(response) == [("error", "Only a failed message can be sent again; this one is sent.")]
    assert callbacks == []
    assert Notification.unscoped.get(pk=notification.pk).status == "sent"


def test_retry_now_of_another_agencys_message_answers_404(agency, other_agency, member):
    notification = failed_sms(agency, member)
    stranger = UserFactory(agency=other_agency, username="stranger", perms=SEND)
    assert en_client(other_agency, stranger).post(retry_url(notification)).status_code == 404
    assert Notification.unscoped.get(pk=notification.pk).status == "failed"


def test_retry_now_without_the_messages_permission_answers_403(agency, member):
    viewer = UserFactory(agency=agency, username="viewer", perms=["matchmakers.view_messages"])
    notification = failed_sms(agency, member)
    assert en_client(agency, viewer).post(retry_url(notification)).status_code == 403
    assert Notification.unscoped.get(pk=notification.pk).status == "failed"


def test_retry_now_of_a_member_outside_the_users_branch_answers_404(agency, matchmaker):
    colleague = UserFactory(agency=agency, username="sibling", perms=SEND)
    notification = failed_sms(agency, make_member(agency, colleague, n=7))
    assert en_client(agency, matchmaker).post(retry_url(notification)).status_code == 404
    assert Notification.unscoped.get(pk=notification.pk).status == "failed"


def test_retry_now_is_post_only(agency, matchmaker, member):
    assert en_client(agency, matchmaker).get(retry_url(failed_sms(agency, member))).status_code == 405


# Through a real Celery worker ---------------------------------------------------------------------


def _route_tasks_to(queue: str) -> None:
    celery_app.conf.task_default_queue = queue


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retries_until_failed_and_sends_what_it_can(agency, monkeypatch, request):
    """The worker re-queues the failing SMS on its own queue, in the agency, until the last attempt."""
    for name, value in {
        **ALIYUN_ENV,
        "SMS_BACKEND": "apps.messaging.sms.AliyunSmsBackend",
        "ALIYUN_SMS_ENDPOINT": UNREACHABLE,
        "NOTIFICATION_MAX_ATTEMPTS": "3",
        "NOTIFICATION_RETRY_BASE_SECONDS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    queue = request.getfixturevalue("celery_worker_process")  # started after the environment is set
    request.addfinalizer(lambda default=celery_app.conf.task_default_queue: _route_tasks_to(default))
    _route_tasks_to(queue)
    matchmaker = UserFactory(agency=agency, username="xiaohong", perms=SEND)
    member = make_member(agency, matchmaker)

    with agency_context(agency):
        by_sms = send_to_member(agency=agency, actor=matchmaker, member=member, channel="sms", body="worker 短信")
        in_site = send_to_member(agency=agency, actor=matchmaker, member=member, channel="in_site", body="站内信")

    deadline = time.monotonic() + 60
    while Notification.unscoped.filter(status=Notification.Status.QUEUED).exists():
        assert time.monotonic() < deadline, "the worker did not finish the messages in time"
        time.sleep(0.2)
    by_sms.refresh_from_db()
    in_site.refresh_from_db()
    assert (by_sms.status, by_sms.attempts) == ("failed", 3)
    assert "Connection refused" in by_sms.error
    assert (in_site.status, in_site.attempts, in_site.error) == ("sent", 1, "")
    assert mail.outbox == []
