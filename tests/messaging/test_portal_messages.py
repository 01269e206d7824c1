"""The member's messages in the portal (F-F7): inbox, unread badge, thread, reply, new message, images.

A member reaches only their own threads and images, whatever id they put in the URL; staff logged
in as the member write in the member's name, recorded as written by them.
"""

import pytest
from django.utils import translation

from apps.agencies.context import agency_context
from apps.matchmakers.services import _set_role_permissions
from apps.messaging.models import Message, Thread
from apps.portal import auth
from apps.portal.services import impersonation_start
from tests.conftest import agency_client
from tests.matchmakers.factories import UserFactory
from tests.portal.factories import member_client

from .thread_factories import MESSAGE_PERMS, make_member, png_upload, staff_post, staff_start, team, upload

pytestmark = pytest.mark.django_db

INBOX = "/portal/messages/"
BADGE = 'data-testid="messages-badge"'


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


@pytest.fixture
def thread(agency, staff, member):
    return staff_start(agency, staff["matchmaker"], member)


def portal(agency, member):
    client = member_client(agency, member)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def thread_url(thread, suffix=""):
    return f"/portal/messages/{thread.pk}/{suffix}"


def badge_of(html: str) -> str | None:
    if BADGE not in html:
        return None
    return html.split(BADGE, 1)[1].split(">", 1)[1].split("<", 1)[0]


def test_the_portal_needs_a_member_log_in(agency, thread):
    response = agency_client(agency).get(INBOX)
    assert response.status_code == 302 and response["Location"].startswith("/portal/login/")


def test_a_staff_reply_shows_as_unread_until_the_member_opens_it(agency, staff, member, thread):
    client = portal(agency, member)
    response = client.get(INBOX)
    assert response.status_code == 200
    html = response.content.decode()
    assert badge_of(html) == "1"
    assert "见面安排" in html and 'data-testid="thread-unread"' in html
    page = client.get(thread_url(thread))
    assert page.status_code == 200
    assert "周六下午三点，西湖边见。" in page.content.decode() and "小红" in page.content.decode()
    assert Thread.unscoped.get(pk=thread.pk).unread_by_member == 0
    assert badge_of(client.get(INBOX).content.decode()) is None
    staff_post(agency, staff["matchmaker"], thread, body="别忘了带伞")
    assert badge_of(client.get(INBOX).content.decode()) == "1"


def test_the_member_replies_and_staff_see_it_unread(agency, staff, member, thread):
    client = portal(agency, member)
    response = client.post(thread_url(thread, "reply/"), {"body": "好的，到时见", "image": png_upload()}, follow=True)
    assert response.redirect_chain == [(thread_url(thread), 302)]
    reply = Message.unscoped.filter(thread=thread).last()
    assert (reply.from_member, reply.author, reply.on_behalf_by, reply.body) == (True, None, None, "好的，到时见")
    assert Thread.unscoped.get(pk=thread.pk).unread_by_staff == 1
    image = client.get(f"/portal/messages/images/{reply.pk}/")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    staff_inbox = agency_client(agency, staff["matchmaker"]).get("/staff/messages/").content.decode()
    assert 'data-testid="staff-messages-badge">1</span>' in staff_inbox


def test_the_member_writes_a_new_message_to_their_matchmaker(agency, staff, member):
    client = portal(agency, member)
    assert client.get("/portal/messages/new/").status_code == 200
    response = client.post("/portal/messages/new/", {"subject": "想换约会时间", "body": "周日下午可以吗？"})
    thread = Thread.unscoped.get(member=member)
    assert response.status_code == 302 and response["Location"] == thread_url(thread)
    assert (thread.subject, thread.started_by, thread.unread_by_staff) == ("想换约会时间", None, 1)
    listed = agency_client(agency, staff["matchmaker"]).get("/staff/messages/").context["page"]
    assert [row.pk for row in listed] == [thread.pk]


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"body": ""}, "Write a message or attach an image."),
        ({"body": "", "image": upload(b"just text pretending", name="photo.jpg")}, "This file is not an image"),
        ({"body": "大图", "image": upload(b"\0" * (5 * 1024 * 1024 + 10), name="big.jpg")}, "the limit is 5.0"),
    ],
    ids=["empty", "not-an-image", "oversize"],
)
def test_a_bad_reply_says_why_and_stores_nothing(agency, member, thread, data, text):
    if "image" in data:
        data["image"].seek(0)
    response = portal(agency, member).post(thread_url(thread, "reply/"), data)
    assert response.status_code == 400
    assert text in response.content.decode()
    assert Message.unscoped.count() == 1 and Thread.unscoped.get(pk=thread.pk).unread_by_staff == 0


def test_a_new_message_needs_a_subject_and_text(agency, member):
    response = portal(agency, member).post("/portal/messages/new/", {"subject": "", "body": ""})
    assert response.status_code == 400
    assert response.content.decode().count("This field is required.") == 2
    assert not Thread.unscoped.exists()


def test_a_member_cannot_reach_another_members_thread_or_image(agency, staff, member, thread):
    staff_post(agency, staff["matchmaker"], thread, body="", image=png_upload())
    image_message = Message.unscoped.filter(thread=thread).last()
    other = make_member(agency, staff["matchmaker"], name="张三")
    client = portal(agency, other)
    assert client.get(thread_url(thread)).status_code == 404
    assert client.post(thread_url(thread, "reply/"), {"body": "偷看"}).status_code == 404
    assert client.get(f"/portal/messages/images/{image_message.pk}/").status_code == 404
    assert "见面安排" not in client.get(INBOX).content.decode()
    assert Thread.unscoped.get(pk=thread.pk).unread_by_member == 2  # still unread by its member
    assert Message.unscoped.count() == 2


def test_a_member_of_another_agency_cannot_reach_the_thread(agency, other_agency, member, thread):
    stranger = make_member(other_agency, None, name="林小雨")
    client = portal(other_agency, stranger)
    assert client.get(thread_url(thread)).status_code == 404
    assert client.post(thread_url(thread, "reply/"), {"body": "hi"}).status_code == 404


def test_staff_logged_in_as_the_member_write_for_them_without_reading_for_them(agency, staff, member, thread):
    desk = UserFactory(agency=agency, username="desk", name="前台", role=staff["manager"].role)
    _set_role_permissions(
        desk.role, [name.split(".", 1)[1] for name in [*MESSAGE_PERMS, "matchmakers.login_as_member"]]
    )
    client = agency_client(agency, desk)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with agency_context(agency):
        impersonation = impersonation_start(agency=agency, actor=desk, member=member)
    session = client.session
    session[auth.IMPERSONATION_KEY] = impersonation.pk
    session.save()
    assert client.get(thread_url(thread)).status_code == 200
    assert Thread.unscoped.get(pk=thread.pk).unread_by_member == 1  # the member has not seen it yet
    response = client.post(thread_url(thread, "reply/"), {"body": "电话里说好了，周日见"})
    assert response.status_code == 302
    reply = Message.unscoped.filter(thread=thread).last()
    assert (reply.from_member, reply.author, reply.on_behalf_by) == (True, None, desk)
    html = portal(agency, member).get(thread_url(thread)).content.decode()
    assert "written for you by 前台" in html
