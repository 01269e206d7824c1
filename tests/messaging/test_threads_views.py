"""The staff side of the conversations (F-F7): inbox, thread page, reply, start from the 360° page, images.

Staff see the threads of the members they may see (the role tree); a sibling branch, another
agency or a role without the messages permission gets nothing (404 / 403).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from apps.messaging.models import Message, Thread
from tests.conftest import agency_client
from tests.matchmakers.factories import UserFactory

from .thread_factories import MESSAGE_PERMS, make_member, member_post, png_upload, staff_start, team, upload

pytestmark = pytest.mark.django_db

INBOX = "/staff/messages/"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def en_client(agency, user):
    client = agency_client(agency, user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def staff(agency):
    return team(agency)


@pytest.fixture
def member(agency, staff):
    return make_member(agency, staff["matchmaker"], name="林小雨")


@pytest.fixture
def thread(agency, staff, member):
    return staff_start(agency, staff["matchmaker"], member)


def thread_url(thread, suffix=""):
    return f"/staff/messages/{thread.pk}/{suffix}"


def messages_of(response) -> list[tuple[str, str]]:
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


# The inbox --------------------------------------------------------------------------------------------


def test_the_inbox_lists_unread_threads_first_with_the_nav_badge(agency, staff, member, thread):
    other = make_member(agency, staff["matchmaker"], name="张晓梅")
    newer = staff_start(agency, staff["matchmaker"], other, subject="新的推荐")
    member_post(member, thread, body="周六可以")
    response = en_client(agency, staff["matchmaker"]).get(INBOX)
    assert response.status_code == 200
    assert [row.pk for row in response.context["page"]] == [thread.pk, newer.pk]
    assert response.context["page"][0].last_body == "周六可以"
    html = response.content.decode()
    assert 'data-testid="staff-messages-badge">1</span>' in html
    assert "林小雨" in html and "张晓梅" in html


def test_the_inbox_filters_unread_and_searches_members(agency, staff, member, thread):
    other = make_member(agency, staff["matchmaker"], name="张晓梅")
    other_thread = staff_start(agency, staff["matchmaker"], other, subject="新的推荐")
    member_post(member, thread)
    client = en_client(agency, staff["matchmaker"])
    assert [row.pk for row in client.get(INBOX, {"unread": "on"}).context["page"]] == [thread.pk]
    assert [row.pk for row in client.get(INBOX, {"q": "晓梅"}).context["page"]] == [other_thread.pk]
    assert [row.pk for row in client.get(INBOX, {"q": other.member_no}).context["page"]] == [other_thread.pk]


def test_the_manager_above_sees_the_thread_but_a_sibling_branch_does_not(agency, staff, thread):
    assert [row.pk for row in en_client(agency, staff["manager"]).get(INBOX).context["page"]] == [thread.pk]
    sibling = en_client(agency, staff["sibling"])
    response = sibling.get(INBOX)
    assert list(response.context["page"]) == []
    assert "林小雨" not in response.content.decode()
    assert sibling.get(thread_url(thread)).status_code == 404
    assert sibling.post(thread_url(thread, "reply/"), {"body": "插话"}).status_code == 404
    assert Message.unscoped.count() == 1


def test_a_role_without_view_messages_gets_403(agency, staff, thread):
    client = en_client(agency, staff["no_messages"])
    assert client.get(INBOX).status_code == 403
    assert client.get(thread_url(thread)).status_code == 403
    assert client.post(thread_url(thread, "reply/"), {"body": "你好"}).status_code == 403


def test_staff_of_another_agency_get_404_and_no_data(agency, other_agency, staff, thread):
    stranger = UserFactory(agency=other_agency, username="xiaohong", perms=MESSAGE_PERMS)
    message = Message.unscoped.get(thread=thread)
    client = en_client(other_agency, stranger)
    response = client.get(INBOX)
    assert response.status_code == 200 and list(response.context["page"]) == []
    assert client.get(thread_url(thread)).status_code == 404
    assert client.get(f"/staff/messages/images/{message.pk}/").status_code == 404
    assert client.post(thread_url(thread, "reply/"), {"body": "你好"}).status_code == 404


def test_the_inbox_query_count_is_constant_as_rows_grow(agency, staff, django_assert_max_num_queries):
    client = en_client(agency, staff["manager"])
    first = make_member(agency, staff["matchmaker"])
    member_post(first, staff_start(agency, staff["matchmaker"], first))
    client.get(INBOX)  # warm the session and the permission caches
    with CaptureQueriesContext(connection) as one_row:
        assert client.get(INBOX).status_code == 200
    for _ in range(19):
        person = make_member(agency, staff["matchmaker"])
        member_post(person, staff_start(agency, staff["matchmaker"], person, body="", image=png_upload()))
    with django_assert_max_num_queries(len(one_row)):
        response = client.get(INBOX)
    assert len(response.context["page"]) == 20


# The thread page --------------------------------------------------------------------------------------


def test_opening_a_thread_marks_the_members_messages_read(agency, staff, member, thread):
    member_post(member, thread, body="我想改到周日")
    client = en_client(agency, staff["matchmaker"])
    response = client.get(thread_url(thread))
    assert response.status_code == 200
    assert "我想改到周日" in response.content.decode()
    assert Thread.unscoped.get(pk=thread.pk).unread_by_staff == 0
    assert not Message.unscoped.filter(thread=thread, from_member=True, read_at__isnull=True).exists()
    assert 'data-testid="staff-messages-badge"' not in client.get(INBOX).content.decode()


def test_the_thread_shows_who_wrote_for_the_member(agency, staff, member, thread):
    member_post(member, thread, body="代写的回复", impersonator=staff["matchmaker"])
    html = en_client(agency, staff["manager"]).get(thread_url(thread)).content.decode()
    assert "written by 小红 for the member" in html


def test_staff_reply_with_an_image_reaches_the_member(agency, staff, member, thread):
    client = en_client(agency, staff["manager"])
    response = client.post(thread_url(thread, "reply/"), {"body": "看看这张照片", "image": png_upload()}, follow=True)
    assert response.redirect_chain == [(thread_url(thread), 302)]
    assert messages_of(response) == [("success", "Your message has been sent to 林小雨.")]
    reply = Message.unscoped.filter(thread=thread).last()
    assert (reply.author, reply.body, reply.from_member) == (staff["manager"], "看看这张照片", False)
    assert Thread.unscoped.get(pk=thread.pk).unread_by_member == 2
    image = client.get(f"/staff/messages/images/{reply.pk}/")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image["Cache-Control"] == "private, no-store"
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")
    assert en_client(agency, staff["sibling"]).get(f"/staff/messages/images/{reply.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"body": "  "}, "Write a message or attach an image."),
        ({"body": "", "image": upload(b"GIF? no, a text file", name="fake.jpg")}, "This file is not an image"),
    ],
    ids=["empty", "not-an-image"],
)
def test_a_bad_reply_says_why_and_stores_nothing(agency, staff, thread, data, text):
    if "image" in data:
        data["image"].seek(0)
    response = en_client(agency, staff["matchmaker"]).post(thread_url(thread, "reply/"), data)
    assert response.status_code == 400
    assert text in response.content.decode()
    assert ("error", "Nothing was sent. Please correct the fields marked below.") in messages_of(response)
    assert Message.unscoped.count() == 1


# Starting a thread from the 360° page ----------------------------------------------------------------


def test_the_member_page_has_a_conversations_card(agency, staff, member, thread):
    html = en_client(agency, staff["matchmaker"]).get(f"/staff/members/{member.pk}/").content.decode()
    assert 'id="conversations-panel"' in html
    assert f"/staff/messages/{thread.pk}/" in html
    assert f"/staff/members/{member.pk}/conversations/new/" in html


def test_staff_start_a_thread_from_the_member_page(agency, staff, member):
    client = en_client(agency, staff["matchmaker"])
    url = f"/staff/members/{member.pk}/conversations/new/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"subject": "服务回访", "body": "最近感觉怎么样？", "image": png_upload()})
    thread = Thread.unscoped.get(member=member)
    assert response.status_code == 302 and response["Location"] == thread_url(thread)
    assert (thread.subject, thread.started_by, thread.unread_by_member) == ("服务回访", staff["matchmaker"], 1)
    assert Message.unscoped.get(thread=thread).image.name.endswith(".png")


def test_starting_a_thread_needs_a_subject_and_a_visible_member(agency, staff, member):
    url = f"/staff/members/{member.pk}/conversations/new/"
    response = en_client(agency, staff["matchmaker"]).post(url, {"subject": "", "body": "你好"})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert en_client(agency, staff["sibling"]).post(url, {"subject": "你好", "body": "你好"}).status_code == 404
    assert en_client(agency, staff["no_messages"]).get(url).status_code == 403
    assert not Thread.unscoped.exists()
