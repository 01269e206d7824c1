"""Conversations between a member and the staff serving them (F-F7): the services.

Counters on the thread are what the navigation badges read, so every test checks them along with
the messages; bad input stores nothing; ids never reach another member or another branch.
"""

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.utils import translation
from PIL import Image

from apps.agencies.context import agency_context
from apps.messaging import threads
from apps.messaging.models import Message, Notification, Thread
from apps.messaging.selectors import member_unread_count, staff_unread_total
from apps.messaging.services import notify_member, send_to_member
from tests.matchmakers.factories import UserFactory

from .thread_factories import (
    MESSAGE_PERMS,
    jpeg_with_gps,
    make_member,
    member_post,
    png_upload,
    staff_post,
    staff_start,
    team,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def staff(agency):
    return team(agency)


@pytest.fixture
def member(agency, staff):
    return make_member(agency, staff["matchmaker"], name="林小雨")


def fresh(thread) -> Thread:
    return Thread.unscoped.get(pk=thread.pk)


def unread_for_staff(agency, user) -> int:
    with agency_context(agency):
        return staff_unread_total(user=user)


def unread_for_member(member) -> int:
    with agency_context(member.agency):
        return member_unread_count(member=member)


# Happy paths and the counters ---------------------------------------------------------------------


def test_staff_start_a_thread_the_member_sees_as_unread(agency, staff, member):
    thread = staff_start(agency, staff["matchmaker"], member)
    [message] = Message.unscoped.filter(thread=thread)
    assert (thread.member, thread.subject, thread.started_by) == (member, "见面安排", staff["matchmaker"])
    assert (message.from_member, message.author, message.on_behalf_by) == (False, staff["matchmaker"], None)
    assert (fresh(thread).unread_by_member, fresh(thread).unread_by_staff) == (1, 0)
    assert fresh(thread).last_message_at == message.created_at
    assert unread_for_member(member) == 1


def test_the_member_opening_the_thread_reads_the_agencys_messages(agency, staff, member):
    thread = staff_start(agency, staff["matchmaker"], member)
    staff_post(agency, staff["manager"], thread, body="我是主管，也欢迎您。")
    assert unread_for_member(member) == 2
    with agency_context(agency):
        assert threads.thread_read_by_member(member=member, thread_id=thread.pk) == 2
    assert unread_for_member(member) == 0
    assert not Message.unscoped.filter(thread=thread, read_at__isnull=True).exists()
    with agency_context(agency):  # opening it again changes nothing
        assert threads.thread_read_by_member(member=member, thread_id=thread.pk) == 0


def test_a_member_reply_is_unread_by_staff_until_staff_open_it(agency, staff, member):
    thread = staff_start(agency, staff["matchmaker"], member)
    reply = member_post(member, thread)
    assert (reply.from_member, reply.author, reply.on_behalf_by) == (True, None, None)
    assert fresh(thread).unread_by_staff == 1
    assert unread_for_staff(agency, staff["matchmaker"]) == 1
    assert unread_for_staff(agency, staff["manager"]) == 1  # the branch above sees it too
    assert unread_for_staff(agency, staff["sibling"]) == 0
    with agency_context(agency):
        assert threads.thread_read_by_staff(agency=agency, actor=staff["matchmaker"], thread_id=thread.pk) == 1
    reply.refresh_from_db()
    assert reply.read_at is not None
    assert fresh(thread).unread_by_staff == 0
    # The agency's own message stays unread by the member: staff reading does not touch their side.
    assert fresh(thread).unread_by_member == 1


def test_a_member_starts_a_thread_to_their_matchmaker(agency, staff, member):
    with agency_context(agency):
        thread = threads.thread_start_by_member(member=member, subject="想换个约会时间", body="周日可以吗？")
    assert thread.started_by is None
    assert (fresh(thread).unread_by_staff, fresh(thread).unread_by_member) == (1, 0)
    assert Message.unscoped.get(thread=thread).from_member is True


def test_staff_logged_in_as_the_member_write_in_the_members_name(agency, staff, member):
    thread = staff_start(agency, staff["matchmaker"], member)
    message = member_post(member, thread, body="（代会员回复）可以", impersonator=staff["matchmaker"])
    assert (message.from_member, message.author, message.on_behalf_by) == (True, None, staff["matchmaker"])
    assert fresh(thread).unread_by_staff == 1


def test_an_image_is_stored_by_its_real_type_without_exif(agency, staff, member):
    thread = staff_start(agency, staff["matchmaker"], member)
    message = member_post(member, thread, body="", image=upload(jpeg_with_gps(), name="IMG_0001.png"))
    assert message.image.name.startswith(f"messages/{agency.pk}/") and message.image.name.endswith(".jpg")
    with message.image.open("rb") as handle, Image.open(handle) as stored:
        assert stored.format == "JPEG"
        assert dict(stored.getexif()) == {}
    png = staff_post(agency, staff["matchmaker"], thread, body="照片收到", image=png_upload(name="x.jpg"))
    assert png.image.name.endswith(".png") and png.body == "照片收到"


# Bad input stores nothing ----------------------------------------------------------------------------


BAD_MESSAGES = {
    "empty": ("   ", None, "body", "Write a message or attach an image."),
    "not-an-image": ("", b"%PDF-1.4 not an image", "image", "This file is not an image we can read."),
    "oversize": ("看图", b"\xff" * (5 * 1024 * 1024 + 1), "image", "the limit is 5.0"),
    "too-long": ("x" * 5001, None, "body", "at most 5000 characters"),
}


@pytest.mark.parametrize("case", BAD_MESSAGES)
def test_bad_messages_are_refused_with_a_clear_reason_and_store_nothing(agency, staff, member, case):
    body, data, field, text = BAD_MESSAGES[case]
    thread = staff_start(agency, staff["matchmaker"], member)

    def image():
        return upload(data, name="x.jpg") if data else None

    for post in (
        lambda: staff_post(agency, staff["matchmaker"], thread, body=body, image=image()),
        lambda: member_post(member, thread, body=body, image=image()),
        lambda: staff_start(agency, staff["matchmaker"], member, subject="新话题", body=body, image=image()),
    ):
        with pytest.raises(ValidationError) as raised:
            post()
        assert text in " ".join(raised.value.message_dict[field])
    assert Message.unscoped.count() == 1 and Thread.unscoped.count() == 1
    assert (fresh(thread).unread_by_member, fresh(thread).unread_by_staff) == (1, 0)


def test_a_thread_needs_a_subject(agency, staff, member):
    with pytest.raises(ValidationError) as raised:
        staff_start(agency, staff["matchmaker"], member, subject="  ")
    assert raised.value.message_dict == {"subject": ["Give the conversation a subject."]}
    assert not Thread.unscoped.exists()


# Who may write where ---------------------------------------------------------------------------------


def test_staff_outside_the_branch_cannot_start_or_post(agency, staff, member):
    thread = staff_start(agency, staff["matchmaker"], member)
    with pytest.raises(Http404):
        staff_start(agency, staff["sibling"], member)
    with pytest.raises(Http404):
        staff_post(agency, staff["sibling"], thread)
    with pytest.raises(Http404), agency_context(agency):
        threads.thread_read_by_staff(agency=agency, actor=staff["sibling"], thread_id=thread.pk)
    assert Message.unscoped.count() == 1


def test_a_role_without_the_messages_permission_is_refused(agency, staff, member):
    thread = staff_start(agency, staff["matchmaker"], member)
    with pytest.raises(PermissionDenied):
        staff_post(agency, staff["no_messages"], thread)
    with pytest.raises(PermissionDenied), agency_context(agency):
        threads.thread_read_by_staff(agency=agency, actor=staff["no_messages"], thread_id=thread.pk)


def test_staff_of_another_agency_reach_nothing(agency, other_agency, staff, member):
    thread = staff_start(agency, staff["matchmaker"], member)
    stranger = UserFactory(agency=other_agency, username="xiaohong", perms=MESSAGE_PERMS)
    with pytest.raises(Http404):
        staff_start(other_agency, stranger, member)
    with pytest.raises(Http404):
        staff_post(other_agency, stranger, thread)
    with pytest.raises(Http404):  # even when naming the member's agency
        staff_post(agency, stranger, thread)
    assert Message.unscoped.count() == 1


def test_a_member_cannot_post_into_or_read_another_members_thread(agency, staff, member):
    thread = staff_start(agency, staff["matchmaker"], member)
    other = make_member(agency, staff["matchmaker"], name="张三")
    with pytest.raises(Http404):
        member_post(other, thread)
    with pytest.raises(Http404), agency_context(agency):
        threads.thread_read_by_member(member=other, thread_id=thread.pk)
    assert fresh(thread).unread_by_member == 1 and Message.unscoped.count() == 1


# In-site notifications arrive in the inbox ----------------------------------------------------------


def test_an_in_site_notification_is_delivered_into_the_members_inbox(agency, staff, member,
                                                                     django_capture_on_commit_callbacks):  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True), agency_context(agency):
        notification = send_to_member(
            agency=agency, actor=staff["matchmaker"], member=member, channel="in_site", body="周六见面的时间定了"
        )
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    message = Message.unscoped.get(notification=notification)
    assert (message.from_member, message.author, message.body) == (False, staff["matchmaker"], "周六见面的时间定了")
    assert message.thread.member == member
    assert message.thread.subject == "Message from 安和婚恋"
    assert fresh(message.thread).unread_by_member == 1
    assert unread_for_member(member) == 1


def test_automatic_notices_come_from_the_system_and_gather_by_subject(agency, member,
                                                                      django_capture_on_commit_callbacks):  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True), agency_context(agency):
        first = notify_member(agency=agency, member=member, kind="birthday", channel="in_site", values={})
        second = notify_member(agency=agency, member=member, kind="birthday", channel="in_site", values={})
    [thread] = Thread.unscoped.filter(member=member)
    assert thread.subject == first.subject and thread.started_by is None
    assert thread.unread_by_member == 2
    assert list(Message.unscoped.filter(thread=thread).values_list("notification", "author")) == [
        (first.pk, None),
        (second.pk, None),
    ]
    with agency_context(agency):  # a notification delivered twice is still one message
        assert threads.post_notice(Notification.unscoped.get(pk=first.pk)).notification_id == first.pk
    assert Message.unscoped.count() == 2 and fresh(thread).unread_by_member == 2


# Concurrency -----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_keep_the_unread_counters_exact(agency):
    staff = team(agency)
    member = make_member(agency, staff["matchmaker"])
    thread = staff_start(agency, staff["matchmaker"], member)
    barrier, errors, rounds = threading.Barrier(3), [], 8

    def post(write):
        try:
            barrier.wait(10)
            for n in range(rounds):
                write(n)
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    writers = [
        lambda n: staff_post(agency, staff["matchmaker"], thread, body=f"红娘 {n}"),
        lambda n: staff_post(agency, staff["manager"], thread, body=f"主管 {n}"),
        lambda n: member_post(member, thread, body=f"会员 {n}"),
    ]
    workers = [threading.Thread(target=post, args=(write,)) for write in writers]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    thread = fresh(thread)
    assert thread.unread_by_member == 1 + 2 * rounds
    assert thread.unread_by_staff == rounds
    assert Message.unscoped.filter(thread=thread).count() == 1 + 3 * rounds
