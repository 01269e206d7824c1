"""Silent members (F-H1): who counts as silent, the weekly reminder to their matchmakers, and the list page."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from apps.agencies.context import agency_context
from apps.integrations.models import MemberActivity
from apps.jobs import registry, selectors
from apps.jobs import tasks as job_tasks
from apps.jobs.models import JobRun, JobSettings, Reminder
from apps.members import services as member_services
from apps.members.models import Member
from apps.messaging.models import Message, Thread
from apps.portal.models import MemberAccount
from tests.agencies.test_tasks import celery_worker_process  # noqa: F401 - the real worker fixture
from tests.appointments.factories import book, move_to_past, served_member, service_team
from tests.conftest import agency_client
from tests.followups.factories import aftersale_team, served
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

JOB = "silent_members"
PAGE = "/staff/silent-members/"
DAY = datetime.timedelta(days=1)


@pytest.fixture
def team(agency):
    return aftersale_team(agency)


def ago(days: float) -> datetime.datetime:
    return timezone.now() - days * DAY


def quiet(agency, owner=None, *, registered_days_ago=90, **fields) -> Member:
    """A member who registered long ago and has not been heard from since (until a test says otherwise)."""
    member = served(agency, owner, **fields)
    Member.unscoped.filter(pk=member.pk).update(created_at=ago(registered_days_ago))
    member.refresh_from_db()
    return member


def followed_up(member, days_ago: float) -> None:
    Member.unscoped.filter(pk=member.pk).update(last_followup_at=ago(days_ago))


def logged_in(member, days_ago: float) -> MemberAccount:
    return MemberAccount.unscoped.create(agency_id=member.agency_id, member=member, password="!",
                                         last_login=ago(days_ago))  # fmt: skip


def wrote(member, days_ago: float, *, from_member=True) -> Message:
    thread = Thread.unscoped.create(agency_id=member.agency_id, member=member, subject="问候", last_message_at=ago(0))
    message = Message.unscoped.create(agency_id=member.agency_id, thread=thread, from_member=from_member, body="你好")
    Message.unscoped.filter(pk=message.pk).update(created_at=ago(days_ago))
    return message


def silent_ids(agency, user=None, days=30) -> set[int]:
    with agency_context(agency):
        return set(selectors.silent_members(agency=agency, user=user, days=days).values_list("pk", flat=True))


def run(agency, today=None) -> JobRun:
    with agency_context(agency), translation.override("en"):
        return registry.run_job(agency=agency, name=JOB, today=today)


def staff(agency, user):
    client = agency_client(agency, user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


# --- who is silent ----------------------------------------------------------------------------------


def test_silent_means_no_follow_up_log_in_own_message_or_appointment_within_the_days(agency, team):
    never = quiet(agency, team["a1"])
    old_follow_up = quiet(agency, team["a1"])
    followed_up(old_follow_up, 45)
    recent_follow_up = quiet(agency, team["a1"])
    followed_up(recent_follow_up, 5)
    old_log_in = quiet(agency, team["a1"])
    logged_in(old_log_in, 31)
    recent_log_in = quiet(agency, team["a1"])
    logged_in(recent_log_in, 2)
    wrote_us = quiet(agency, team["a1"])
    wrote(wrote_us, 3)
    only_we_wrote = quiet(agency, team["a1"])
    wrote(only_we_wrote, 3, from_member=False)
    wrote_long_ago = quiet(agency, team["a1"])
    wrote(wrote_long_ago, 40)

    assert silent_ids(agency) == {never.pk, old_follow_up.pk, old_log_in.pk, only_we_wrote.pk, wrote_long_ago.pk}


def test_what_the_member_did_on_the_oelove_site_is_activity_but_what_others_did_to_them_is_not(agency, team):
    def did(member, kind, days_ago):
        MemberActivity.unscoped.create(agency=agency, member=member, kind=kind, at=ago(days_ago),
                                       source_id=f"{kind}-{member.pk}-{days_ago}")  # fmt: skip

    active = {}
    for kind in ("login", "view_given", "message_sent", "greeting_sent"):
        active[kind] = quiet(agency, team["a1"])
        did(active[kind], kind, 3)
    only_received = quiet(agency, team["a1"])
    for kind in ("view_received", "message_received", "greeting_received", "payment"):
        did(only_received, kind, 3)
    long_ago = quiet(agency, team["a1"])
    did(long_ago, "login", 40)

    assert silent_ids(agency) == {only_received.pk, long_ago.pk}


def test_only_members_still_served_and_registered_before_the_period_can_be_silent(agency, team):
    lead = quiet(agency, None, status=Member.Status.LEAD, presale_owner=team["b1"])
    paused = quiet(agency, team["a1"], status=Member.Status.PAUSED)
    quiet(agency, team["a1"], status=Member.Status.ABANDONED)
    quiet(agency, team["a1"], status=Member.Status.SUCCESS)
    recent = quiet(agency, team["a1"], registered_days_ago=20)

    assert silent_ids(agency) == {lead.pk, paused.pk}
    assert silent_ids(agency, days=14) == {lead.pk, paused.pk, recent.pk}


def test_an_appointment_past_or_booked_within_the_days_is_activity(agency):
    team = service_team(agency)
    met = served_member(agency, team, name="见过面")
    partner = served_member(agency, team, name="对象")
    booked = served_member(agency, team, name="约好了")
    booked_partner = served_member(agency, team, name="约好的对象")
    move_to_past(book(agency, team["matchmaker"], met, partner), hours=24 * 10)
    book(agency, team["matchmaker"], booked_partner, booked)  # in two days; booked is the second member
    alone = served_member(agency, team, name="没人约")
    Member.unscoped.filter(agency=agency).update(created_at=ago(90))

    assert silent_ids(agency) == {alone.pk}


def test_with_a_user_only_the_members_they_may_see(agency, team):
    mine = quiet(agency, team["a1"])
    peers = quiet(agency, team["a1_peer"])
    branch_b = quiet(agency, team["b1"])
    shared = quiet(agency, team["b1"])
    with agency_context(agency):
        member_services.member_share(agency=agency, actor=team["lead_b"], member=shared, with_user=team["a1"])

    assert silent_ids(agency, team["a1"]) == {mine.pk, shared.pk}
    assert silent_ids(agency, team["lead_a"]) == {mine.pk, peers.pk}
    assert silent_ids(agency, team["manager"]) == {mine.pk, peers.pk, branch_b.pk, shared.pk}


# --- the weekly reminder ----------------------------------------------------------------------------


def test_each_matchmaker_gets_one_reminder_a_week_with_their_count(agency, team):
    quiet(agency, team["a1"])
    quiet(agency, team["a1"])
    quiet(agency, None, status=Member.Status.FOLLOWING, presale_owner=team["b1"])
    quiet(agency, None)  # nobody's: counted, nobody to tell
    JobSettings.unscoped.create(agency=agency, silent_days=30)
    monday = datetime.date(2026, 11, 30)

    first = run(agency, monday)

    assert first.status == JobRun.Status.SUCCEEDED
    assert first.counts == {"silent": 4, "reminders": 2}
    titles = dict(Reminder.unscoped.filter(agency=agency, kind=Reminder.Kind.SILENT).values_list("user", "title"))
    assert titles == {
        team["a1"].pk: "2 of your members have been silent for 30 days",
        team["b1"].pk: "1 of your members has been silent for 30 days",
    }
    # The reminder leads to the list of silent members.
    page = agency_client(agency, team["a1"]).get(reverse("jobs:reminders")).content.decode()
    assert f'href="{reverse("jobs:silent")}"' in page

    again = run(agency, monday)
    later_that_week = run(agency, monday + 4 * DAY)
    assert again.counts == {"silent": 4, "reminders": 0} and later_that_week.counts["reminders"] == 0
    assert run(agency, monday + 7 * DAY).counts["reminders"] == 2
    assert Reminder.unscoped.filter(agency=agency).count() == 4


def test_another_agencys_silent_members_never_reach_this_one(agency, other_agency, team):
    theirs = aftersale_team(other_agency)
    quiet(other_agency, theirs["a1"])
    quiet(agency, team["b1"])

    assert run(agency).counts == {"silent": 1, "reminders": 1}
    assert list(Reminder.unscoped.values_list("agency", "user")) == [(agency.pk, team["b1"].pk)]
    assert run(other_agency).counts == {"silent": 1, "reminders": 1}
    assert Reminder.unscoped.filter(agency=other_agency, user=theirs["a1"]).count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_silent_job_runs_in_a_real_worker_twice_without_doubling(agency, celery_worker_process):  # noqa: F811
    team = aftersale_team(agency)
    quiet(agency, team["a1"])

    def in_worker():
        result = job_tasks.job_run.apply_async(kwargs={"agency_id": agency.pk, "job": JOB}, queue=celery_worker_process)
        return result.get(timeout=60)

    first, second = in_worker(), in_worker()

    assert first["status"] == "succeeded" and first["counts"] == {"silent": 1, "reminders": 1}
    assert second["status"] == "succeeded" and second["counts"] == {"silent": 1, "reminders": 0}
    assert list(Reminder.unscoped.values_list("user", "kind")) == [(team["a1"].pk, Reminder.Kind.SILENT)]


# --- the page ---------------------------------------------------------------------------------------


def test_the_page_lists_the_silent_members_with_owner_and_last_contact(agency, team):
    member = quiet(agency, team["a1"], name="林小雨")
    followed_up(member, 40)
    logged_in(member, 35)
    followed_up(quiet(agency, team["a1"], name="刚联系过"), 1)

    response = staff(agency, team["lead_a"]).get(PAGE)

    assert response.status_code == 200
    assert [row.pk for row in response.context["page"]] == [member.pk]
    assert "林小雨" in response.text and "甲一" in response.text and "刚联系过" not in response.text
    assert ago(40).strftime("%Y-%m-%d") in response.text and ago(35).strftime("%Y-%m-%d") in response.text


def test_a_matchmaker_sees_only_their_branch_and_may_filter_by_owner(agency, team):
    a1s = quiet(agency, team["a1"])
    peers = quiet(agency, team["a1_peer"])
    quiet(agency, team["b1"])

    mine = staff(agency, team["a1"]).get(PAGE)
    lead = staff(agency, team["lead_a"]).get(PAGE)
    filtered = staff(agency, team["lead_a"]).get(PAGE, {"owner": team["a1_peer"].pk})
    not_below = staff(agency, team["lead_a"]).get(PAGE, {"owner": team["b1"].pk})  # not theirs: ignored

    assert [row.pk for row in mine.context["page"]] == [a1s.pk]
    assert {row.pk for row in lead.context["page"]} == {a1s.pk, peers.pk}
    assert [row.pk for row in filtered.context["page"]] == [peers.pk]
    assert {row.pk for row in not_below.context["page"]} == {a1s.pk, peers.pk}


def test_another_agencys_staff_see_none_of_ours(agency, other_agency, team):
    quiet(agency, team["a1"], name="本店会员")
    outsider = UserFactory(agency=other_agency, username="boss", perms=["matchmakers.view_members"])

    response = staff(other_agency, outsider).get(PAGE)

    assert response.status_code == 200 and list(response.context["page"]) == []
    assert "本店会员" not in response.text
    assert staff(agency, outsider).get(PAGE).status_code in (302, 403, 404)  # not a user of this agency


def test_the_page_needs_the_member_view_right(agency):
    no_members = UserFactory(agency=agency, perms=["matchmakers.view_followups"])
    assert staff(agency, no_members).get(PAGE).status_code == 403


def test_the_page_query_count_is_constant(agency, team, django_assert_max_num_queries):
    client = staff(agency, team["lead_a"])
    logged_in(quiet(agency, team["a1"]), 60)
    quiet(agency, team["a1_peer"])
    client.get(PAGE)
    with CaptureQueriesContext(connection) as few:
        client.get(PAGE)
    for n in range(20):
        member = quiet(agency, team["a1"] if n % 2 else team["a1_peer"], status="lead" if n % 3 else "in_service")
        followed_up(member, 31 + n)
        if n % 4:
            logged_in(member, 40 + n)
    with django_assert_max_num_queries(len(few)):
        response = client.get(PAGE)
    assert len(response.context["page"]) == 22
