"""The after-sale list (F-F1), service notes (F-F2) and service status on the member form (F-F3)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.agencies.context import agency_context
from apps.followups.models import Assignment, FollowUp
from apps.followups.services import followup_add
from apps.members.models import Member
from tests.conftest import agency_client
from tests.followups.factories import AFTERSALE, aftersale_team, served
from tests.matchmakers.factories import UserFactory
from tests.members.test_member_views import member_form_data

pytestmark = pytest.mark.django_db

LIST = "/staff/aftersale/"


@pytest.fixture
def team(agency):
    return aftersale_team(agency)


def staff(agency, user):
    client = agency_client(agency, user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def shown(response) -> set[int]:
    return {member.pk for member in response.context["page"]}


def counts(response) -> dict[str, int]:
    return {key: count for key, _label, count in response.context["tabs"]}


# --- who is on the list ----------------------------------------------------------------------------


def test_the_list_holds_members_served_by_the_user_or_their_team_only(agency, team):
    mine = served(agency, team["a1"])
    paused = served(agency, team["a1"], status="paused")
    signed = served(agency, team["a1"], status="signed")
    leads_own = served(agency, team["lead_a"])
    other_branch = served(agency, team["b1"])
    served(agency, team["a1"], status="success")  # service over
    served(agency, None, status="signed")  # in the dealt pool, nobody serves them yet
    presale_only = served(agency, None, status="following", presale_owner=team["a1"])

    assert shown(staff(agency, team["a1"]).get(LIST)) == {mine.pk, paused.pk, signed.pk}
    assert shown(staff(agency, team["lead_a"]).get(LIST)) == {mine.pk, paused.pk, signed.pk, leads_own.pk}
    assert shown(staff(agency, team["lead_b"]).get(LIST)) == {other_branch.pk}
    assert presale_only.pk not in shown(staff(agency, team["manager"]).get(LIST))
    assert len(shown(staff(agency, team["manager"]).get(LIST))) == 5


def test_a_peer_with_the_same_role_does_not_see_the_colleagues_members(agency, team):
    served(agency, team["a1"])
    assert shown(staff(agency, team["a1_peer"]).get(LIST)) == set()


def test_awaiting_follow_up_means_due_or_not_followed_since_assigned(agency, team):
    now = timezone.now()
    never = served(agency, team["a1"])
    due = served(agency, team["a1"], followup_count=2, last_followup_at=now,
                 next_followup_at=now - datetime.timedelta(hours=1))  # fmt: skip
    fine = served(agency, team["a1"], followup_count=1, last_followup_at=now,
                  next_followup_at=now + datetime.timedelta(days=2))  # fmt: skip
    before_assignment = served(agency, team["a1"], followup_count=4, last_followup_at=now - datetime.timedelta(days=9),
                               next_followup_at=now + datetime.timedelta(days=2))  # fmt: skip
    Assignment.unscoped.create(agency=agency, member=before_assignment, role="aftersale", to_user=team["a1"],
                               assigned_by=team["manager"])  # fmt: skip
    # Followed up after being given to a1: not awaiting.
    Assignment.unscoped.filter(member=fine).delete()
    old_assignment = Assignment.unscoped.create(agency=agency, member=fine, role="aftersale", to_user=team["a1"],
                                                assigned_by=team["manager"])  # fmt: skip
    Assignment.unscoped.filter(pk=old_assignment.pk).update(created_at=now - datetime.timedelta(days=3))

    response = staff(agency, team["a1"]).get(LIST, {"category": "awaiting"})
    assert shown(response) == {never.pk, due.pk, before_assignment.pk}
    assert counts(response)["awaiting"] == 3 and counts(response)["all"] == 4


def test_follow_up_count_tabs(agency, team):
    now = timezone.now()
    by_count = {
        n: served(agency, team["a1"], followup_count=n, last_followup_at=now if n else None) for n in (0, 1, 3, 5, 6, 9)
    }
    client = staff(agency, team["a1"])
    expected = {"1": {1}, "le3": {1, 3}, "le5": {1, 3, 5}, "6plus": {6, 9}, "all": {0, 1, 3, 5, 6, 9}}
    for category, numbers in expected.items():
        response = client.get(LIST, {"category": category})
        assert shown(response) == {by_count[n].pk for n in numbers}, category
    assert counts(response) == {"all": 6, "awaiting": 1, "1": 1, "le3": 2, "le5": 3, "6plus": 2}


def test_member_list_filters_apply_with_the_service_status(agency, team):
    divorced = served(agency, team["a1"], marital_status="divorced", service_status="active", name="离异会员")
    served(agency, team["a1"], marital_status="never_married", service_status="active")
    served(agency, team["a1"], marital_status="divorced", service_status="paused")
    client = staff(agency, team["a1"])
    response = client.get(LIST, {"marital_status": "divorced", "service_status": "active"})
    assert shown(response) == {divorced.pk}
    assert shown(client.get(LIST, {"q": "离异"})) == {divorced.pk}
    # Tab counts follow the filters.
    assert counts(response)["all"] == 1


def test_a_bad_filter_or_category_says_so_and_shows_no_one_else(agency, team):
    mine = served(agency, team["a1"])
    served(agency, team["b1"])
    client = staff(agency, team["a1"])
    response = client.get(LIST, {"service_status": "nonsense"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert shown(response) == {mine.pk}
    response = client.get(LIST, {"category": "nonsense"})
    assert response.status_code == 200 and response.context["category"] == "all"
    assert shown(response) == {mine.pk}


def test_the_list_is_closed_to_other_agencies_and_roles_without_the_right(agency, other_agency, team):
    served(agency, team["a1"], name="本社会员")
    outsider = UserFactory(agency=other_agency, perms=AFTERSALE)
    foreign = staff(other_agency, outsider).get(LIST)
    assert foreign.status_code == 200
    assert foreign.context["page"].paginator.count == 0 and "本社会员" not in foreign.text
    assert staff(agency, outsider).get(LIST).status_code in (302, 403)
    no_followups = UserFactory(agency=agency, perms=["matchmakers.view_members"])
    assert staff(agency, no_followups).get(LIST).status_code == 403


def test_the_list_query_count_is_constant(agency, team, django_assert_max_num_queries):
    client = staff(agency, team["lead_a"])
    with agency_context(agency):
        from apps.followups.services import stage_enter

        first = served(agency, team["a1"])
        stage_enter(agency=agency, member=first, stage="consulted")
    client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(LIST).context["page"]) == 1
    for n in range(20):
        member = served(agency, team["a1"] if n % 2 else team["lead_a"], followup_count=n)
        if n % 3 == 0:
            with agency_context(agency):
                stage_enter(agency=agency, member=member, stage="feedback")
    with django_assert_max_num_queries(len(few)):
        assert len(client.get(LIST).context["page"]) == 21


# --- service notes (F-F2) --------------------------------------------------------------------------


def test_a_service_note_is_recorded_counted_listed_and_on_the_timeline(agency, team):
    member = served(agency, team["a1"])
    client = staff(agency, team["a1"])
    page = client.get(f"/staff/members/{member.pk}/")
    assert 'value="service_note"' in page.text
    response = client.post(f"/staff/members/{member.pk}/followups/", {
        "kind": "service_note", "channel": "wechat", "content": "约了周六见面", "result": "双方同意",
    }, follow=True)  # fmt: skip
    assert response.status_code == 200
    assert "The service note has been recorded." in response.text
    note = FollowUp.unscoped.get(member=member)
    assert note.kind == "service_note" and note.author == team["a1"]
    member.refresh_from_db()
    assert member.followup_count == 1 and member.last_followup_at == note.created_at
    page = client.get(f"/staff/members/{member.pk}/")
    assert 'data-kind="service_note"' in page.text
    assert "Service note (WeChat): 约了周六见面" in page.text
    assert 'id="service-notes"' in page.text and "双方同意" in page.text


def test_a_plain_follow_up_stays_a_follow_up(agency, team):
    member = served(agency, team["a1"])
    staff(agency, team["a1"]).post(f"/staff/members/{member.pk}/followups/", {"channel": "phone", "content": "回访"})
    assert FollowUp.unscoped.get(member=member).kind == "followup"


def test_a_service_note_for_a_member_not_in_service_is_refused(agency, team):
    lead = served(agency, None, status="following", presale_owner=team["a1"])
    client = staff(agency, team["a1"])
    assert 'value="service_note"' not in client.get(f"/staff/members/{lead.pk}/").text
    response = client.post(f"/staff/members/{lead.pk}/followups/",
                           {"kind": "service_note", "channel": "phone", "content": "x"}, follow=True)  # fmt: skip
    assert "Service notes are for members in after-sale service only." in response.text
    assert not FollowUp.unscoped.filter(member=lead).exists()
    lead.refresh_from_db()
    assert lead.followup_count == 0


def test_a_service_note_of_an_unknown_kind_is_refused(agency, team):
    member = served(agency, team["a1"])
    data = {"kind": "gossip", "channel": "phone", "content": "x"}
    response = staff(agency, team["a1"]).post(f"/staff/members/{member.pk}/followups/", data, follow=True)
    assert "Select a valid choice" in response.text
    assert not FollowUp.unscoped.filter(member=member).exists()


def test_service_notes_are_closed_to_other_agencies_other_branches_and_roles_without_the_right(
    agency, other_agency, team
):
    member = served(agency, team["a1"])
    data = {"kind": "service_note", "channel": "phone", "content": "x"}
    outsider = UserFactory(agency=other_agency, perms=AFTERSALE)
    assert staff(other_agency, outsider).post(f"/staff/members/{member.pk}/followups/", data).status_code == 404
    assert staff(agency, team["b1"]).post(f"/staff/members/{member.pk}/followups/", data).status_code == 404
    viewer = UserFactory(agency=agency, perms=["matchmakers.view_members", "matchmakers.view_followups"])
    assert staff(agency, viewer).post(f"/staff/members/{member.pk}/followups/", data).status_code == 403
    assert not FollowUp.unscoped.exists()


def test_the_service_note_service_checks_the_member_is_in_service(agency, team):
    member = served(agency, team["a1"], status="success")
    from django.core.exceptions import ValidationError

    with agency_context(agency), pytest.raises(ValidationError):
        followup_add(agency=agency, actor=team["a1"], member=member, channel="phone", content="x", kind="service_note")
    assert not FollowUp.unscoped.exists()


# --- F-F3: the after-sale matchmaker changes the service status on the member form ----------------------


def test_the_aftersale_matchmaker_changes_their_members_service_status(agency, team):
    member = served(agency, team["a1"], service_status="active")
    client = staff(agency, team["a1"])
    assert client.get(f"/staff/members/{member.pk}/edit/").status_code == 200
    data = member_form_data(agency, status="paused", service_status="paused")
    response = client.post(f"/staff/members/{member.pk}/edit/", data)
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.status, member.service_status) == ("paused", "paused")
    assert member.aftersale_owner == team["a1"]


def test_a_matchmaker_of_another_branch_cannot_change_the_service_status(agency, team):
    member = served(agency, team["a1"], service_status="active")
    data = member_form_data(agency, service_status="finished")
    assert staff(agency, team["b1"]).post(f"/staff/members/{member.pk}/edit/", data).status_code == 404
    member.refresh_from_db()
    assert member.service_status == "active"
    assert Member.unscoped.filter(service_status="finished").count() == 0
