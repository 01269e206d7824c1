"""The notification log (F-H3): what was sent to the members a user may see, and whether it arrived."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from apps.messaging.models import Kind, Notification
from tests.matchmakers.factories import RoleFactory, UserFactory, root_role
from tests.messaging.test_notifications import en_client, make_member

pytestmark = pytest.mark.django_db

VIEW = ["matchmakers.view_members", "matchmakers.view_messages", "matchmakers.add_messages"]
URL = "/staff/messages/sent/"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 4
    with translation.override("en"):
        yield


@pytest.fixture
def matchmaker(agency):
    return UserFactory(agency=agency, username="xiaohong", name="小红", perms=VIEW)


@pytest.fixture
def member(agency, matchmaker):
    return make_member(agency, matchmaker)


def note(member, *, channel="sms", kind=Kind.MANUAL, status="sent", attempts=1, error="", created_at=None,
         body="你好", **fields) -> Notification:  # fmt: skip
    recipient = {"sms": member.phone, "email": member.email}.get(channel, "")
    notification = Notification.unscoped.create(
        agency_id=member.agency_id, member=member, channel=channel, kind=kind, status=status, attempts=attempts,
        error=error, body=body, recipient=recipient,
        sent_at=timezone.now() if status == "sent" else None, **fields,
    )  # fmt: skip
    if created_at is not None:
        Notification.unscoped.filter(pk=notification.pk).update(created_at=created_at)
    return notification


def shown(response) -> list[int]:
    return [notification.pk for notification in response.context["page"]]


# The page -----------------------------------------------------------------------------------------


def test_the_log_shows_each_message_with_its_delivery_state(agency, matchmaker, member):
    sent = note(member, kind=Kind.BIRTHDAY)
    retrying = note(member, status="queued", attempts=1, error="SmsError: down",
                    next_attempt_at=timezone.now() + datetime.timedelta(seconds=30))  # fmt: skip
    failed = note(member, channel="email", status="failed", attempts=4, error="SMTPException: refused")
    queued = note(member, channel="in_site", status="queued", attempts=0)

    response = en_client(agency, matchmaker).get(URL)

    assert response.status_code == 200
    assert shown(response) == [queued.pk, failed.pk, retrying.pk, sent.pk]  # newest first
    rows = {notification.pk: notification for notification in response.context["page"]}
    assert rows[sent.pk].status_shown == "Sent"
    assert rows[retrying.pk].status_shown == "Retrying 2 of 4"
    assert rows[failed.pk].status_shown == "Failed"
    assert rows[queued.pk].status_shown == "Queued"
    assert rows[sent.pk].recipient_shown == "138****0001"  # no reveal permission: masked
    assert rows[failed.pk].recipient_shown == "li***@example.com"
    assert "13800130001" not in response.text and "lin@example.com" not in response.text
    assert "SMTPException: refused" in response.text and "SmsError: down" in response.text
    assert "Birthday greeting" in response.text
    assert response.text.count("Retry now") == 1  # only the failed one
    assert f'action="/staff/messages/sent/{failed.pk}/retry/"' in response.text
    assert f'href="{URL}"' in response.text  # the menu entry


def test_staff_who_may_reveal_contacts_see_the_full_address(agency, member):
    revealer = UserFactory(agency=agency, username="boss", perms=[*VIEW, "matchmakers.reveal_contact"])
    member.presale_owner = revealer
    member.save(update_fields=["presale_owner"])
    note(member)
    note(member, channel="email")
    response = en_client(agency, revealer).get(URL)
    assert [row.recipient_shown for row in response.context["page"]] == ["lin@example.com", "13800130001"]


def test_an_htmx_request_gets_only_the_rows(agency, matchmaker, member):
    note(member)
    response = en_client(agency, matchmaker).get(URL, HTTP_HX_REQUEST="true")
    assert 'id="notification-table"' in response.text
    assert '<nav class="navbar' not in response.text and 'id="notification-filter"' not in response.text


def test_without_the_view_messages_permission_the_log_answers_403(agency):
    user = UserFactory(agency=agency, username="finance", perms=["matchmakers.view_members"])
    assert en_client(agency, user).get(URL).status_code == 403


# Filters ------------------------------------------------------------------------------------------


def test_the_filters_narrow_the_rows(agency, matchmaker, member):
    now = timezone.now()
    sms = note(member, created_at=now - datetime.timedelta(days=10))
    email = note(member, channel="email", kind=Kind.BIRTHDAY, status="failed", attempts=4)
    retrying = note(member, status="queued", attempts=2)
    queued = note(member, channel="in_site", status="queued", attempts=0)
    other = make_member(agency, matchmaker, n=2)
    theirs = note(other)
    client = en_client(agency, matchmaker)
    today = timezone.localdate()

    assert shown(client.get(URL, {"status": "failed"})) == [email.pk]
    assert shown(client.get(URL, {"status": "retrying"})) == [retrying.pk]
    assert shown(client.get(URL, {"status": "queued"})) == [queued.pk]
    assert set(shown(client.get(URL, {"status": "sent"}))) == {sms.pk, theirs.pk}
    assert shown(client.get(URL, {"channel": "email"})) == [email.pk]
    assert shown(client.get(URL, {"kind": "birthday"})) == [email.pk]
    assert shown(client.get(URL, {"created_to": (today - datetime.timedelta(days=5)).isoformat()})) == [sms.pk]
    assert sms.pk not in shown(client.get(URL, {"created_from": (today - datetime.timedelta(days=1)).isoformat()}))
    assert shown(client.get(URL, {"q": other.member_no})) == [theirs.pk]
    assert shown(client.get(URL, {"channel": "sms", "status": "sent", "q": member.name})) == [sms.pk]


def test_bad_filter_input_is_explained_and_ignored(agency, matchmaker, member):
    mine = note(member)
    response = en_client(agency, matchmaker).get(
        URL, {"status": "lost", "channel": "fax", "created_from": "2025-13-45", "page": "x"}
    )
    assert response.status_code == 200
    assert shown(response) == [mine.pk]
    assert 'id="filter-errors"' in response.text
    assert "Select a valid choice. lost is not one of the available choices." in response.text
    assert "Enter a valid date." in response.text


def test_the_log_pages_through_many_messages(agency, matchmaker, member):
    for _ in range(55):
        note(member)
    client = en_client(agency, matchmaker)
    first, second = client.get(URL), client.get(URL, {"page": 2, "channel": "sms"})
    assert len(shown(first)) == 50 and len(shown(second)) == 5
    assert "Page 1 of 2" in first.text
    assert 'href="?page=2"' in first.text
    assert 'href="?page=1&amp;channel=sms"' in second.text  # the filters are kept


# Who sees what -----------------------------------------------------------------------------------


def test_another_agency_sees_nothing_of_ours(agency, other_agency, member):
    note(member)
    stranger = UserFactory(agency=other_agency, username="stranger", perms=[*VIEW, "matchmakers.reveal_contact"])
    response = en_client(other_agency, stranger).get(URL)
    assert response.status_code == 200
    assert shown(response) == []
    assert "13800130001" not in response.text


def test_the_role_tree_limits_the_rows(agency):
    manager_role = RoleFactory(agency=agency, parent=root_role(agency), perms=VIEW)
    manager = UserFactory(agency=agency, username="manager", role=manager_role)
    below = UserFactory(agency=agency, username="below", role=RoleFactory(agency=agency, parent=manager_role,
                                                                          perms=VIEW))  # fmt: skip
    sibling = UserFactory(agency=agency, username="sibling", perms=VIEW)
    mine = note(make_member(agency, below, n=1))
    managers_own = note(make_member(agency, manager, n=2))
    siblings = note(make_member(agency, sibling, n=3))

    assert shown(en_client(agency, below).get(URL)) == [mine.pk]
    assert shown(en_client(agency, manager).get(URL)) == [managers_own.pk, mine.pk]
    assert shown(en_client(agency, sibling).get(URL)) == [siblings.pk]


# Query count --------------------------------------------------------------------------------------


def test_the_number_of_queries_does_not_grow_with_the_rows(agency, matchmaker, member, django_assert_max_num_queries):
    client = en_client(agency, matchmaker)
    note(member, status="failed", attempts=4, error="SmsError: down")
    client.get(URL)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as one_row:
        assert len(shown(client.get(URL))) == 1
    for n in range(2, 31):
        sender = UserFactory(agency=agency, username=f"sender{n}")
        note(make_member(agency, matchmaker, n=n), channel="email" if n % 2 else "sms", sender=sender,
             status="failed" if n % 3 else "queued", attempts=n % 4)  # fmt: skip
    with django_assert_max_num_queries(len(one_row)):
        assert len(shown(client.get(URL))) == 30
