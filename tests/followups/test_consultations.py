"""The consultations inbox (F-E5): visibility, assignment within the branch, convert, close."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.followups.models import Assignment, Consultation, FollowUp
from apps.members.models import Member
from tests.conftest import agency_client
from tests.matchmakers.factories import RoleFactory, UserFactory, root_role

pytestmark = pytest.mark.django_db

INBOX = "/staff/consultations/"
WORK = ["matchmakers.view_members", "matchmakers.add_members", "matchmakers.edit_members",
        "matchmakers.view_followups", "matchmakers.add_followups"]  # fmt: skip
MANAGE = [*WORK, "matchmakers.view_assignment", "matchmakers.assign_members"]


@pytest.fixture
def team(agency):
    """manager → {lead A → a1; lead B → b1}; the leads and the manager dispatch (assign_members)."""
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


def consultation(agency, n=1, assigned_to=None, member=None, message="想了解会员服务"):
    return Consultation.unscoped.create(
        agency=agency, name=f"咨询{n}", phone=f"136{n:08d}", message=message, member=member,
        assigned_to=assigned_to, status="assigned" if assigned_to else "pending",
    )  # fmt: skip


def staff(agency, user):
    client = agency_client(agency, user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def shown(response) -> list[int]:
    return [c.pk for c in response.context["page"]]


# --- seeing ----------------------------------------------------------------------------------------


def test_dispatchers_see_unassigned_and_their_branch_matchmakers_only_their_own(agency, team):
    pending = consultation(agency, 1)
    to_a1 = consultation(agency, 2, assigned_to=team["a1"])
    to_b1 = consultation(agency, 3, assigned_to=team["b1"])
    assert set(shown(staff(agency, team["manager"]).get(INBOX))) == {pending.pk, to_a1.pk, to_b1.pk}
    assert set(shown(staff(agency, team["lead_a"]).get(INBOX))) == {pending.pk, to_a1.pk}
    assert shown(staff(agency, team["a1"]).get(INBOX)) == [to_a1.pk]


def test_the_status_tabs_filter_the_inbox(agency, team):
    open_one = consultation(agency, 1)
    closed = consultation(agency, 2)
    Consultation.unscoped.filter(pk=closed.pk).update(status="closed")
    client = staff(agency, team["manager"])
    assert shown(client.get(INBOX)) == [open_one.pk]
    assert shown(client.get(INBOX + "?status=closed")) == [closed.pk]
    assert set(shown(client.get(INBOX + "?status=all"))) == {open_one.pk, closed.pk}
    assert shown(client.get(INBOX + "?status=bogus")) == [open_one.pk]


def test_a_user_without_the_followups_permission_gets_403(agency):
    user = UserFactory(agency=agency, perms=["matchmakers.view_members"])
    assert staff(agency, user).get(INBOX).status_code == 403


def test_the_inbox_needs_a_login(agency):
    response = agency_client(agency).get(INBOX)
    assert response.status_code == 302 and "/login/" in response.url


def test_another_agency_sees_nothing_and_gets_404_on_every_action(agency, other_agency, team):
    theirs = consultation(agency, 1)
    outsider = UserFactory(agency=other_agency, perms=MANAGE)
    client = staff(other_agency, outsider)
    assert shown(client.get(INBOX + "?status=all")) == []
    for action, data in [("assign", {"to_user": outsider.pk}), ("convert", {"gender": "female"}), ("close", {})]:
        assert client.post(f"{INBOX}{theirs.pk}/{action}/", data).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "pending" and theirs.assigned_to is None


def test_a_matchmaker_gets_404_on_a_consultation_of_another_branch(agency, team):
    theirs = consultation(agency, 1, assigned_to=team["b1"])
    response = staff(agency, team["a1"]).post(f"{INBOX}{theirs.pk}/close/", {"reason": "x"})
    assert response.status_code == 404
    assert Consultation.unscoped.get(pk=theirs.pk).status == "assigned"


def test_the_phone_is_masked_unless_it_is_yours_or_you_may_reveal(agency, team):
    consultation(agency, 1)
    page = staff(agency, team["manager"]).get(INBOX)
    assert "136****0001" in page.text and "13600000001" not in page.text
    consultation(agency, 2, assigned_to=team["a1"])
    assert "13600000002" in staff(agency, team["a1"]).get(INBOX).text


# --- assigning -------------------------------------------------------------------------------------


def test_a_lead_assigns_within_the_branch(agency, team):
    item = consultation(agency, 1)
    response = staff(agency, team["lead_a"]).post(f"{INBOX}{item.pk}/assign/", {"to_user": team["a1"].pk})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == "assigned" and item.assigned_to == team["a1"]
    assert shown(staff(agency, team["a1"]).get(INBOX)) == [item.pk]


def test_a_lead_cannot_assign_outside_the_branch(agency, team):
    item = consultation(agency, 1)
    response = staff(agency, team["lead_a"]).post(f"{INBOX}{item.pk}/assign/", {"to_user": team["b1"].pk})
    assert response.status_code == 400
    assert "Not assigned" in response.text
    item.refresh_from_db()
    assert item.status == "pending" and item.assigned_to is None


def test_assigning_needs_the_assign_permission(agency, team):
    item = consultation(agency, 1, assigned_to=team["a1"])
    response = staff(agency, team["a1"]).post(f"{INBOX}{item.pk}/assign/", {"to_user": team["a1"].pk})
    assert response.status_code == 403


def test_a_handled_consultation_cannot_be_assigned(agency, team):
    item = consultation(agency, 1)
    Consultation.unscoped.filter(pk=item.pk).update(status="closed")
    response = staff(agency, team["manager"]).post(f"{INBOX}{item.pk}/assign/", {"to_user": team["a1"].pk})
    assert response.status_code == 400
    assert "This consultation has already been handled." in response.text


# --- converting ------------------------------------------------------------------------------------


def test_convert_makes_a_member_whose_first_followup_is_the_message(agency, team):
    item = consultation(agency, 1, assigned_to=team["a1"], message="周末能来店里聊聊吗？")
    response = staff(agency, team["a1"]).post(f"{INBOX}{item.pk}/convert/", {"gender": "female", "name": "咨询1"})
    assert response.status_code == 302
    item.refresh_from_db()
    member = Member.unscoped.get(agency=agency)
    assert item.status == "converted" and item.member == member and item.handled_by == team["a1"]
    assert (member.name, member.phone, member.gender) == ("咨询1", "13600000001", "female")
    assert member.source == "consultation" and member.presale_owner == team["a1"]
    [first] = FollowUp.unscoped.filter(member=member)
    assert first.content == "周末能来店里聊聊吗？" and first.channel == "site" and first.author == team["a1"]
    assert member.followup_count == 1


def test_a_dispatcher_converting_for_the_assignee_gives_the_member_to_the_assignee(agency, team):
    item = consultation(agency, 1, assigned_to=team["a1"])
    assert staff(agency, team["lead_a"]).post(f"{INBOX}{item.pk}/convert/", {"gender": "male"}).status_code == 302
    member = Member.unscoped.get(agency=agency)
    assert member.presale_owner == team["a1"]
    assert Assignment.unscoped.get(member=member).to_user == team["a1"]
    assert FollowUp.unscoped.filter(member=member).count() == 1


def test_converting_an_unassigned_consultation_makes_it_the_dispatchers(agency, team):
    item = consultation(agency, 1)
    assert staff(agency, team["lead_a"]).post(f"{INBOX}{item.pk}/convert/", {"gender": "male"}).status_code == 302
    item.refresh_from_db()
    assert item.assigned_to == team["lead_a"] and item.member.presale_owner == team["lead_a"]


def test_convert_adds_the_message_to_a_known_member_instead_of_a_duplicate(agency, team):
    member = Member.unscoped.create(agency=agency, member_no="M000777", name="老会员", gender="female",
                                    phone="13600000001", presale_owner=team["b1"])  # fmt: skip
    item = consultation(agency, 1, member=member, message="又来问了")
    assert staff(agency, team["manager"]).post(f"{INBOX}{item.pk}/convert/", {}).status_code == 302
    assert Member.unscoped.filter(agency=agency).count() == 1
    item.refresh_from_db()
    assert item.status == "converted" and item.member == member
    followup = FollowUp.unscoped.get(member=member)
    assert followup.content == "又来问了"


def test_convert_for_a_member_the_dispatcher_cannot_see_leaves_a_due_followup_for_its_owner(agency, team):
    member = Member.unscoped.create(agency=agency, member_no="M000778", name="老会员", gender="female",
                                    phone="13600000001", presale_owner=team["b1"])  # fmt: skip
    item = consultation(agency, 1, member=member)
    assert staff(agency, team["lead_a"]).post(f"{INBOX}{item.pk}/convert/", {}).status_code == 302
    followup = FollowUp.unscoped.get(member=member)
    assert followup.author is None and followup.next_followup_at is not None
    page = staff(agency, team["lead_a"]).get(INBOX + "?status=converted")
    assert "followed by a colleague" in page.text and "/staff/members/" not in page.text.split('id="consultations"')[1]


def test_convert_without_gender_is_refused_with_a_message(agency, team):
    item = consultation(agency, 1, assigned_to=team["a1"])
    response = staff(agency, team["a1"]).post(f"{INBOX}{item.pk}/convert/", {"gender": ""})
    assert response.status_code == 400
    assert "Choose the member&#x27;s gender." in response.text
    assert not Member.unscoped.exists()
    assert Consultation.unscoped.get(pk=item.pk).status == "assigned"


def test_convert_needs_the_add_members_permission(agency, team):
    user = UserFactory(agency=agency, perms=["matchmakers.view_followups", "matchmakers.add_followups",
                                            "matchmakers.assign_members"])  # fmt: skip
    item = consultation(agency, 1)
    assert staff(agency, user).post(f"{INBOX}{item.pk}/convert/", {"gender": "male"}).status_code == 403
    assert not Member.unscoped.exists()


def test_only_the_assignee_or_a_dispatcher_converts(agency, team):
    colleague_role = RoleFactory(agency=agency, parent=team["a1"].role, perms=WORK)
    item = consultation(agency, 1, assigned_to=UserFactory(agency=agency, role=colleague_role))
    # a1 sees it (the assignee is below a1's role) but neither holds it nor dispatches.
    response = staff(agency, team["a1"]).post(f"{INBOX}{item.pk}/convert/", {"gender": "male"})
    assert response.status_code == 403
    assert not Member.unscoped.exists()


def test_a_converted_consultation_cannot_be_converted_again(agency, team):
    item = consultation(agency, 1, assigned_to=team["a1"])
    client = staff(agency, team["a1"])
    client.post(f"{INBOX}{item.pk}/convert/", {"gender": "male"})
    response = client.post(f"{INBOX}{item.pk}/convert/", {"gender": "male"})
    assert response.status_code == 400
    assert Member.unscoped.count() == 1 and FollowUp.unscoped.count() == 1


# --- closing ---------------------------------------------------------------------------------------


def test_the_assignee_closes_a_consultation_with_a_reason(agency, team):
    item = consultation(agency, 1, assigned_to=team["a1"])
    response = staff(agency, team["a1"]).post(
        f"{INBOX}{item.pk}/close/", {"reason": "打错电话了", "next_status": "open"}
    )
    assert response.status_code == 302 and response.url == f"{INBOX}?status=open"
    item.refresh_from_db()
    assert (item.status, item.close_reason, item.handled_by) == ("closed", "打错电话了", team["a1"])
    assert shown(staff(agency, team["a1"]).get(INBOX)) == []
    assert not Member.unscoped.exists()


def test_closing_twice_is_refused(agency, team):
    item = consultation(agency, 1)
    client = staff(agency, team["manager"])
    assert client.post(f"{INBOX}{item.pk}/close/", {}).status_code == 302
    response = client.post(f"{INBOX}{item.pk}/close/", {})
    assert response.status_code == 400
    assert "This consultation has already been handled." in response.text


# --- queries ---------------------------------------------------------------------------------------


def test_inbox_query_count_is_constant_as_rows_grow(agency, team, django_assert_max_num_queries):
    member = Member.unscoped.create(agency=agency, member_no="M000001", name="会员", gender="male",
                                    phone="13600000999", presale_owner=team["a1"])  # fmt: skip
    consultation(agency, 1, assigned_to=team["a1"], member=member)
    client = staff(agency, team["manager"])
    client.get(INBOX)
    with CaptureQueriesContext(connection) as few:
        client.get(INBOX)
    for n in range(2, 22):
        consultation(agency, n, assigned_to=team["a1"] if n % 2 else None, member=member if n % 3 else None)
    with django_assert_max_num_queries(len(few)):
        response = client.get(INBOX)
    assert len(response.context["page"]) == 21
