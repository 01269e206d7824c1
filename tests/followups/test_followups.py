"""Follow-ups, assignment pools and reassignment (F-D1, F-D2, F-E1, F-E3)."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone, translation

from apps.agencies.context import agency_context
from apps.followups.models import Assignment, FollowUp
from apps.followups.services import followup_add, member_abandon, members_assign
from apps.members.models import Member
from tests.conftest import agency_client
from tests.matchmakers.factories import RoleFactory, UserFactory, root_role

pytestmark = pytest.mark.django_db

WORK = ["matchmakers.view_members", "matchmakers.edit_members", "matchmakers.view_followups",
        "matchmakers.add_followups"]  # fmt: skip
MANAGE = [*WORK, "matchmakers.view_assignment", "matchmakers.assign_members"]


@pytest.fixture
def team(agency):
    """manager → {lead A → a1; lead B → b1}, each in their own role."""
    manager_role = RoleFactory(agency=agency, parent=root_role(agency), perms=MANAGE)
    a_role = RoleFactory(agency=agency, parent=manager_role, perms=MANAGE)
    b_role = RoleFactory(agency=agency, parent=manager_role, perms=MANAGE)
    a1_role = RoleFactory(agency=agency, parent=a_role, perms=WORK)
    b1_role = RoleFactory(agency=agency, parent=b_role, perms=WORK)
    return {
        "manager": UserFactory(agency=agency, username="manager", role=manager_role),
        "lead_a": UserFactory(agency=agency, username="lead_a", role=a_role),
        "lead_b": UserFactory(agency=agency, username="lead_b", role=b_role),
        "a1": UserFactory(agency=agency, username="a1", role=a1_role),
        "b1": UserFactory(agency=agency, username="b1", role=b1_role),
    }


def lead(agency, n, owner=None, status="lead"):
    return Member.unscoped.create(agency=agency, member_no=f"L{n:05d}", name=f"线索{n}", gender="female",
                                  phone=f"137{n:08d}", presale_owner=owner, status=status)  # fmt: skip


def test_a_followup_updates_the_members_counters_and_due_time(agency, team):
    member = lead(agency, 1, owner=team["a1"])
    next_time = timezone.now() + datetime.timedelta(hours=3)
    with agency_context(agency):
        followup_add(agency=agency, actor=team["a1"], member=member, channel="phone", content="聊了工作",
                     result="有兴趣", next_followup_at=next_time)  # fmt: skip
    member.refresh_from_db()
    assert member.followup_count == 1
    assert member.next_followup_at == next_time
    assert member.status == "following"


@pytest.mark.django_db(transaction=True)
def test_counters_are_right_after_twenty_concurrent_followups(agency, team):
    member = lead(agency, 2, owner=team["a1"])
    errors = []

    def write(i):
        try:
            with agency_context(agency):
                followup_add(agency=agency, actor=team["a1"], member=member, channel="wechat", content=f"第{i}次")
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    member.refresh_from_db()
    assert member.followup_count == 20 == FollowUp.unscoped.filter(member=member).count()


def test_followup_in_the_past_is_refused(agency, team):
    member = lead(agency, 3, owner=team["a1"])
    client = agency_client(agency, team["a1"])
    response = client.post(f"/staff/members/{member.pk}/followups/", {
        "channel": "phone", "content": "x", "next_followup_at": "2001-01-01T10:00"}, follow=True)  # fmt: skip
    assert response.status_code == 200
    assert FollowUp.unscoped.count() == 0


def test_lead_assigns_pool_members_within_the_branch_and_history_is_written_once(agency, team):
    members = [lead(agency, n) for n in range(10, 13)]
    client = agency_client(agency, team["lead_a"])
    data = {"members": [m.pk for m in members], "to_user": team["a1"].pk, "reason": "新线索"}
    response = client.post("/staff/assignment/?pool=unassigned", data)
    assert response.status_code == 302
    assert set(Member.unscoped.filter(presale_owner=team["a1"]).values_list("pk", flat=True)) == {m.pk for m in members}
    assert Assignment.unscoped.filter(to_user=team["a1"]).count() == 3
    # Assigning again to the same person changes nothing and writes no history.
    client.post("/staff/assignment/?pool=unassigned", data)
    assert Assignment.unscoped.count() == 3


def test_a_lead_cannot_assign_to_someone_outside_the_branch(agency, team):
    member = lead(agency, 20)
    response = agency_client(agency, team["lead_a"]).post(
        "/staff/assignment/?pool=unassigned", {"members": [member.pk], "to_user": team["b1"].pk}
    )
    assert response.status_code == 400
    member.refresh_from_db()
    assert member.presale_owner is None
    assert Assignment.unscoped.count() == 0


def test_a_lead_cannot_take_members_from_another_branch(agency, team):
    theirs = lead(agency, 21, owner=team["b1"])
    with (
        agency_context(agency),
        translation.override("en"),
        pytest.raises(PermissionDenied, match="outside your branch"),
    ):
        members_assign(agency=agency, actor=team["lead_a"], member_ids=[theirs.pk], to_user=team["a1"])
    theirs.refresh_from_db()
    assert theirs.presale_owner == team["b1"]


def test_reassignment_by_category_moves_a_branch_member_and_shows_on_the_timeline(agency, team):
    member = lead(agency, 30, owner=team["a1"])
    client = agency_client(agency, team["lead_a"])
    response = client.post("/staff/assignment/reassign/?category=not_followed",
                           {"members": [member.pk], "to_user": team["lead_a"].pk, "reason": "a1 休假"})  # fmt: skip
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.presale_owner == team["lead_a"]
    page = client.get(f"/staff/members/{member.pk}/")
    assert 'data-kind="assignment"' in page.text
    assert "a1 休假" in page.text


def test_abandon_moves_the_member_to_the_abandoned_pool_with_its_reason(agency, team):
    member = lead(agency, 40, owner=team["a1"])
    with agency_context(agency):
        member_abandon(agency=agency, actor=team["a1"], member=member, reason="不考虑了")
    member.refresh_from_db()
    assert member.status == "abandoned" and member.presale_owner is None and member.abandon_reason == "不考虑了"
    page = agency_client(agency, team["manager"]).get("/staff/assignment/?pool=abandoned")
    assert [m.pk for m in page.context["page"]] == [member.pk]


def test_due_list_shows_todays_and_overdue_followups_of_the_user(agency, team):
    due = lead(agency, 50, owner=team["a1"])
    later = lead(agency, 51, owner=team["a1"])
    Member.unscoped.filter(pk=due.pk).update(next_followup_at=timezone.now() - datetime.timedelta(hours=1))
    Member.unscoped.filter(pk=later.pk).update(next_followup_at=timezone.now() + datetime.timedelta(days=3))
    page = agency_client(agency, team["a1"]).get("/staff/followups/due/")
    assert [m.pk for m in page.context["members"]] == [due.pk]


def test_pool_page_needs_the_assignment_permission_and_another_agency_sees_nothing(agency, other_agency, team):
    assert agency_client(agency, team["a1"]).get("/staff/assignment/").status_code == 403
    lead(agency, 60)
    outsider = UserFactory(agency=other_agency, perms=MANAGE)
    page = agency_client(other_agency, outsider).get("/staff/assignment/")
    assert page.context["page"].paginator.count == 0


def test_pool_page_query_count_is_constant(agency, team, django_assert_max_num_queries):
    client = agency_client(agency, team["manager"])
    lead(agency, 70)
    client.get("/staff/assignment/")
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/staff/assignment/")
    for n in range(71, 101):
        lead(agency, n)
    with django_assert_max_num_queries(len(few)):
        client.get("/staff/assignment/")
