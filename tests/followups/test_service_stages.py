"""The after-sale service workflow with deadlines (F-F9): stage rules, deadlines from the agency's
settings, escalation of overdue steps up the role tree, and the pages."""

import datetime

import pytest
from django.contrib.auth.context_processors import PermWrapper
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from apps.agencies.context import agency_context
from apps.followups import selectors, services
from apps.followups.models import ServiceStage, ServiceStageChange, ServiceWorkflowSettings
from apps.members.models import Member
from tests.conftest import agency_client
from tests.followups.factories import AFTERSALE, MANAGER, aftersale_team, at_stage, served
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

OVERDUE = "/staff/service/overdue/"
DEADLINES = "/staff/service/deadlines/"
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def team(agency):
    return aftersale_team(agency)


@pytest.fixture
def outsider(other_agency):
    """Another agency's manager with every right of the workflow and its settings."""
    return UserFactory(agency=other_agency, username="outsider", perms=[*MANAGER, "matchmakers.edit_settings"])


def staff(agency, user):
    client = agency_client(agency, user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def advance(agency, actor, member, to_stage, note=""):
    with agency_context(agency), translation.override("en"):
        return services.stage_advance(agency=agency, actor=actor, member=member, to_stage=to_stage, note=note)


def stage_of(member) -> ServiceStage | None:
    return ServiceStage.unscoped.filter(member=member).first()


def make_overdue(member, hours=1) -> None:
    ServiceStage.unscoped.filter(member=member).update(due_at=timezone.now() - hours * HOUR)


def stage_url(member) -> str:
    return f"/staff/members/{member.pk}/service-stage/"


# --- stage rules -----------------------------------------------------------------------------------


def test_the_first_move_starts_the_workflow_with_the_default_deadline_and_history(agency, team):
    member = served(agency, team["a1"])
    stage = advance(agency, team["a1"], member, "consulted", note="首次面谈")
    assert stage.stage == "consulted"
    assert stage.due_at == stage.entered_at + 72 * HOUR
    change = ServiceStageChange.unscoped.get(member=member)
    assert (change.from_stage, change.to_stage, change.note) == ("", "consulted", "首次面谈")
    assert change.changed_by == team["a1"]
    assert change.due_at == stage.due_at


def test_deadlines_come_from_the_agencys_settings(agency, other_agency, team):
    ServiceWorkflowSettings.unscoped.create(agency=agency, consulted_hours=10, feedback_hours=2)
    ServiceWorkflowSettings.unscoped.create(agency=other_agency, consulted_hours=500)
    member = served(agency, team["a1"])
    stage = advance(agency, team["a1"], member, "consulted")
    assert stage.due_at == stage.entered_at + 10 * HOUR
    stage = advance(agency, team["a1"], member, "feedback")
    assert stage.due_at == stage.entered_at + 2 * HOUR
    stage = advance(agency, team["a1"], member, "continuing")
    assert stage.due_at == stage.entered_at + 720 * HOUR  # not changed: the default


def test_forward_moves_may_skip_ahead_and_success_has_no_deadline(agency, team):
    member = served(agency, team["a1"])
    advance(agency, team["a1"], member, "consulted")
    assert advance(agency, team["a1"], member, "meeting_arranged").stage == "meeting_arranged"
    stage = advance(agency, team["a1"], member, "success")
    assert stage.stage == "success" and stage.due_at is None
    assert list(
        ServiceStageChange.unscoped.filter(member=member).order_by("id").values_list("from_stage", "to_stage")
    ) == [("", "consulted"), ("consulted", "meeting_arranged"), ("meeting_arranged", "success")]


def test_continuing_loops_back_to_meeting_arranged_for_another_meeting(agency, team):
    member = served(agency, team["a1"])
    for stage in ("meeting_arranged", "feedback", "continuing", "meeting_arranged", "feedback"):
        assert advance(agency, team["a1"], member, stage).stage == stage


def test_a_matchmaker_cannot_move_a_member_back_but_a_manager_who_audits_members_can(agency, team):
    member = served(agency, team["a1"])
    advance(agency, team["a1"], member, "feedback")
    with pytest.raises(PermissionDenied, match="earlier stage"):
        advance(agency, team["a1"], member, "first_recommendation")
    assert stage_of(member).stage == "feedback"
    assert advance(agency, team["manager"], member, "first_recommendation").stage == "first_recommendation"


def test_moving_to_the_same_or_an_unknown_stage_is_refused(agency, team):
    member = served(agency, team["a1"])
    advance(agency, team["a1"], member, "consulted")
    with pytest.raises(ValidationError, match="already at this stage"):
        advance(agency, team["a1"], member, "consulted")
    with pytest.raises(ValidationError, match="Unknown service stage"):
        advance(agency, team["a1"], member, "married")
    assert ServiceStageChange.unscoped.filter(member=member).count() == 1


def test_only_members_in_aftersale_service_have_a_stage(agency, team):
    lead = served(agency, team["a1"], status="following")
    unowned = served(agency, None, status="signed", presale_owner=team["a1"])
    for member in (lead, unowned):
        with pytest.raises(ValidationError, match="Only members in after-sale service"):
            advance(agency, team["a1"], member, "consulted")
    assert not ServiceStage.unscoped.exists()


def test_stage_moves_need_the_right_and_a_visible_member(agency, team):
    member = served(agency, team["a1"])
    with pytest.raises(PermissionDenied, match="cannot see"):
        advance(agency, team["b1"], member, "consulted")
    viewer = UserFactory(agency=agency, perms=["matchmakers.view_members", "matchmakers.view_followups"])
    with pytest.raises(PermissionDenied, match="does not allow"):
        advance(agency, viewer, member, "consulted")
    assert not ServiceStage.unscoped.exists()


# --- stage_enter, for other apps ---------------------------------------------------------------------


def test_stage_enter_is_idempotent(agency, team):
    member = served(agency, team["a1"])
    first = at_stage(agency, member, "first_recommendation")
    again = at_stage(agency, member, "first_recommendation")
    assert again.due_at == first.due_at and again.entered_at == first.entered_at
    change = ServiceStageChange.unscoped.get(member=member)
    assert change.changed_by is None and change.to_stage == "first_recommendation"


def test_stage_enter_never_moves_a_member_back(agency, team):
    member = served(agency, team["a1"])
    advance(agency, team["a1"], member, "feedback")
    assert at_stage(agency, member, "first_recommendation").stage == "feedback"
    assert at_stage(agency, member, "meeting_arranged").stage == "feedback"
    advance(agency, team["a1"], member, "success")
    assert at_stage(agency, member, "meeting_arranged").stage == "success"
    assert ServiceStageChange.unscoped.filter(member=member).count() == 2


def test_stage_enter_moves_forward_and_loops_for_another_meeting_with_the_actor(agency, team):
    member = served(agency, team["a1"])
    at_stage(agency, member, "meeting_arranged", actor=team["a1"])
    at_stage(agency, member, "feedback")
    advance(agency, team["a1"], member, "continuing")
    stage = at_stage(agency, member, "meeting_arranged", actor=team["lead_a"])
    assert stage.stage == "meeting_arranged"
    assert ServiceStageChange.unscoped.filter(member=member).order_by("-id").first().changed_by == team["lead_a"]


def test_stage_enter_leaves_members_outside_aftersale_alone(agency, team):
    lead = served(agency, None, status="following", presale_owner=team["a1"])
    assert at_stage(agency, lead, "first_recommendation") is None
    assert not ServiceStage.unscoped.exists()


def test_stage_enter_refuses_an_unknown_stage_and_another_agencys_member(agency, other_agency, team):
    member = served(agency, team["a1"])
    with pytest.raises(ValueError, match="unknown service stage"):
        at_stage(agency, member, "married")
    with pytest.raises(Member.DoesNotExist), agency_context(other_agency):
        services.stage_enter(agency=other_agency, member=member, stage="consulted")
    assert not ServiceStage.unscoped.exists()


# --- overdue and escalation ----------------------------------------------------------------------------


def overdue_ids(agency, user):
    with agency_context(agency):
        mine = {stage.member_id for stage in selectors.overdue_stages_mine(user=user)}
        team = {stage.member_id for stage in selectors.overdue_stages_escalated(user=user)}
    return mine, team


def test_an_overdue_step_shows_to_its_owner_and_escalates_to_every_superior_only(agency, team):
    member = served(agency, team["a1"])
    at_stage(agency, member, "consulted")
    make_overdue(member)
    assert overdue_ids(agency, team["a1"]) == ({member.pk}, set())
    assert overdue_ids(agency, team["lead_a"]) == (set(), {member.pk})
    assert overdue_ids(agency, team["manager"]) == (set(), {member.pk})
    for not_above in ("a1_peer", "lead_b", "b1"):
        assert overdue_ids(agency, team[not_above]) == (set(), set()), not_above


def test_a_subordinate_does_not_see_the_superiors_overdue_steps(agency, team):
    leads = served(agency, team["lead_a"])
    at_stage(agency, leads, "feedback")
    make_overdue(leads)
    assert overdue_ids(agency, team["a1"]) == (set(), set())
    assert overdue_ids(agency, team["lead_a"]) == ({leads.pk}, set())


def test_only_open_stages_past_their_due_time_of_members_in_service_are_overdue(agency, team):
    on_time = served(agency, team["a1"])
    at_stage(agency, on_time, "consulted")
    succeeded = served(agency, team["a1"])
    at_stage(agency, succeeded, "success")
    ServiceStage.unscoped.filter(member=succeeded).update(due_at=timezone.now() - HOUR)
    left = served(agency, team["a1"])
    at_stage(agency, left, "feedback")
    make_overdue(left)
    left.status = "abandoned"
    left.save()
    assert overdue_ids(agency, team["a1"]) == (set(), set())


def test_another_agencys_overdue_steps_never_show(agency, other_agency, team, outsider):
    member = served(agency, team["a1"])
    at_stage(agency, member, "consulted")
    make_overdue(member)
    assert overdue_ids(other_agency, outsider) == (set(), set())
    page = staff(other_agency, outsider).get(OVERDUE)
    assert page.status_code == 200 and member.name not in page.text


def test_the_overdue_page_has_mine_and_my_teams_sections(agency, team):
    mine = served(agency, team["lead_a"], name="组长的会员")
    theirs = served(agency, team["a1"], name="组员的会员")
    for member in (mine, theirs):
        at_stage(agency, member, "feedback")
        make_overdue(member)
    response = staff(agency, team["lead_a"]).get(OVERDUE)
    assert response.status_code == 200
    assert [stage.member_id for stage in response.context["mine"]] == [mine.pk]
    assert [stage.member_id for stage in response.context["team"]] == [theirs.pk]
    assert "My overdue service steps" in response.text and "甲一" in response.text  # the owner is named


def test_the_overdue_page_query_count_is_constant(agency, team, django_assert_max_num_queries):
    client = staff(agency, team["lead_a"])

    def overdue_member(owner):
        member = served(agency, owner)
        at_stage(agency, member, "consulted")
        make_overdue(member)

    overdue_member(team["a1"])
    overdue_member(team["lead_a"])
    client.get(OVERDUE)
    with CaptureQueriesContext(connection) as few:
        client.get(OVERDUE)
    for n in range(15):
        overdue_member(team["a1"] if n % 2 else team["lead_a"])
    with django_assert_max_num_queries(len(few)):
        response = client.get(OVERDUE)
    assert len(response.context["mine"]) + len(response.context["team"]) == 17


def test_the_overdue_page_needs_the_follow_up_right(agency):
    viewer = UserFactory(agency=agency, perms=["matchmakers.view_members"])
    assert staff(agency, viewer).get(OVERDUE).status_code == 403


# --- moving a stage from the member page -------------------------------------------------------------


def test_the_owner_moves_the_stage_and_returns_to_the_member(agency, team):
    member = served(agency, team["a1"])
    client = staff(agency, team["a1"])
    page = client.get(stage_url(member))
    assert page.status_code == 200 and "Not started." in page.text
    response = client.post(stage_url(member), {"stage": "consulted", "note": "已沟通需求"})
    assert response.status_code == 302 and response["Location"] == f"/staff/members/{member.pk}/"
    assert stage_of(member).stage == "consulted"
    page = client.get(stage_url(member))
    assert "Next step due" in page.text and "已沟通需求" in page.text
    timeline = client.get(f"/staff/members/{member.pk}/")
    assert 'data-kind="service_stage"' in timeline.text and "Service stage: Consulted" in timeline.text


def test_a_bad_stage_is_refused_with_400_and_nothing_changes(agency, team):
    member = served(agency, team["a1"])
    client = staff(agency, team["a1"])
    client.post(stage_url(member), {"stage": "feedback"})
    for bad in ({"stage": "married"}, {"stage": ""}, {"stage": "consulted"}, {"stage": "feedback"}):
        response = client.post(stage_url(member), bad)
        assert response.status_code == 400, bad
        assert "Select a valid choice" in response.text or "This field is required" in response.text
    assert stage_of(member).stage == "feedback"
    assert ServiceStageChange.unscoped.filter(member=member).count() == 1


def test_a_member_not_in_service_cannot_get_a_stage_from_the_page(agency, team):
    lead = served(agency, team["a1"], status="following")
    response = staff(agency, team["a1"]).post(stage_url(lead), {"stage": "consulted"})
    assert response.status_code == 400
    assert "Only members in after-sale service" in response.text
    assert not ServiceStage.unscoped.exists()


def test_the_stage_page_is_closed_to_other_agencies_other_branches_and_roles_without_the_right(agency, team, outsider):
    member = served(agency, team["a1"])
    foreign = staff(outsider.agency, outsider)
    assert foreign.get(stage_url(member)).status_code == 404
    assert foreign.post(stage_url(member), {"stage": "consulted"}).status_code == 404
    assert staff(agency, team["b1"]).post(stage_url(member), {"stage": "consulted"}).status_code == 404
    no_followups = staff(agency, UserFactory(agency=agency, perms=["matchmakers.view_members"]))
    assert no_followups.get(stage_url(member)).status_code == 403
    assert no_followups.post(stage_url(member), {"stage": "consulted"}).status_code == 403
    assert not ServiceStage.unscoped.exists()


# --- the panel on the member page ------------------------------------------------------------------


def render_panel(agency, user, member) -> str:
    with agency_context(agency), translation.override("en"):
        template = Template("{% load followup_tags %}{% service_stage_panel member %}")
        return template.render(Context({"user": user, "perms": PermWrapper(user), "member": member,
                                        "csrf_token": "token"}))  # fmt: skip


def test_the_panel_shows_the_stage_its_due_time_red_when_overdue_and_the_history(agency, team):
    member = served(agency, team["a1"])
    advance(agency, team["a1"], member, "consulted", note="面谈")
    html = render_panel(agency, team["a1"], member)
    assert "Consulted" in html and "Next step due" in html and "text-danger" not in html
    assert 'id="service-stage-form"' in html and "面谈" in html
    make_overdue(member)
    html = render_panel(agency, team["a1"], member)
    assert "Overdue since" in html and "text-danger" in html


def test_the_panel_offers_only_the_moves_the_user_may_make(agency, team):
    member = served(agency, team["a1"])
    advance(agency, team["a1"], member, "feedback")
    html = render_panel(agency, team["a1"], member)
    assert 'value="continuing"' in html and 'value="success"' in html
    assert 'value="consulted"' not in html and 'value="meeting_arranged"' not in html
    assert 'value="consulted"' in render_panel(agency, team["manager"], member)


def test_the_panel_is_hidden_without_the_follow_up_right_and_read_only_without_edit(agency, team):
    member = served(agency, team["a1"])
    nothing = UserFactory(agency=agency, perms=["matchmakers.view_members"])
    assert "service-stage-panel" not in render_panel(agency, nothing, member)
    reader = UserFactory(agency=agency, perms=["matchmakers.view_members", "matchmakers.view_followups"])
    html = render_panel(agency, reader, member)
    assert "service-stage-panel" in html and "service-stage-form" not in html
    response = staff(agency, reader).post(stage_url(member), {"stage": "consulted"})
    assert response.status_code == 403
    assert not ServiceStage.unscoped.exists()


# --- the deadline settings ---------------------------------------------------------------------------


@pytest.fixture
def admin(agency):
    return UserFactory(agency=agency, username="boss", perms=[*AFTERSALE, "matchmakers.edit_settings"])


def deadlines(**changes) -> dict:
    data = {"consulted_hours": "72", "first_recommendation_hours": "168", "meeting_arranged_hours": "168",
            "feedback_hours": "24", "continuing_hours": "720"}  # fmt: skip
    return {**data, **changes}


def test_the_admin_sets_the_deadlines(agency, admin):
    client = staff(agency, admin)
    page = client.get(DEADLINES)
    assert page.status_code == 200 and 'value="72"' in page.text
    response = client.post(DEADLINES, deadlines(feedback_hours="48"))
    assert response.status_code == 302
    settings = ServiceWorkflowSettings.unscoped.get(agency=agency)
    assert settings.feedback_hours == 48 and settings.consulted_hours == 72
    client.post(DEADLINES, deadlines(feedback_hours="12"))
    assert ServiceWorkflowSettings.unscoped.get(agency=agency).feedback_hours == 12


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("feedback_hours", "0", "greater than or equal to 1"),
        ("continuing_hours", "9000", "less than or equal to 8760"),
        ("consulted_hours", "three days", "Enter a whole number"),
        ("consulted_hours", "", "This field is required"),
    ],
)
def test_bad_deadlines_are_refused_with_400_and_nothing_is_saved(agency, admin, field, value, message):
    response = staff(agency, admin).post(DEADLINES, deadlines(**{field: value}))
    assert response.status_code == 400
    assert message in response.text
    assert not ServiceWorkflowSettings.unscoped.exists()


def test_deadline_settings_are_per_agency_and_need_the_settings_right(agency, team, outsider):
    response = staff(outsider.agency, outsider).post(DEADLINES, deadlines(consulted_hours="5"))
    assert response.status_code == 302
    assert not ServiceWorkflowSettings.unscoped.filter(agency=agency).exists()
    assert staff(agency, outsider).get(DEADLINES).status_code in (302, 403)
    assert staff(agency, team["manager"]).get(DEADLINES).status_code == 403
    assert staff(agency, team["manager"]).post(DEADLINES, deadlines()).status_code == 403
    assert not ServiceWorkflowSettings.unscoped.filter(agency=agency).exists()
    member = served(agency, team["a1"])
    assert at_stage(agency, member, "consulted").due_at - stage_of(member).entered_at == 72 * HOUR
