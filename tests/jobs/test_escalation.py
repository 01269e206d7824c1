"""Overdue follow-ups and service steps escalated to the owner's superior (F-F9, F-H1)."""

import datetime

import pytest
from django.utils import timezone, translation

from apps.agencies.context import agency_context
from apps.jobs import registry
from apps.jobs import tasks as job_tasks
from apps.jobs.models import JobRun, Reminder
from apps.members.models import Member
from tests.agencies.test_tasks import celery_worker_process  # noqa: F401 - the real worker fixture
from tests.followups.factories import AFTERSALE, aftersale_team, at_stage, served
from tests.followups.test_service_stages import make_overdue
from tests.matchmakers.factories import RoleFactory, UserFactory, root_role

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)
JOB = "overdue_escalation"


@pytest.fixture
def team(agency):
    return aftersale_team(agency)


def run(agency) -> JobRun:
    with agency_context(agency), translation.override("en"):
        return registry.run_job(agency=agency, name=JOB)


def overdue_followup(agency, owner, *, hours=2, presale=False, **fields) -> Member:
    """A member whose next follow-up with `owner` was due `hours` ago."""
    member = served(agency, None, presale_owner=owner, **fields) if presale else served(agency, owner, **fields)
    Member.unscoped.filter(pk=member.pk).update(next_followup_at=timezone.now() - hours * HOUR)
    member.refresh_from_db()
    return member


def overdue_step(agency, owner, stage="consulted", hours=2) -> Member:
    member = served(agency, owner)
    at_stage(agency, member, stage)
    make_overdue(member, hours=hours)
    return member


def reminders(agency, kind=None) -> set[tuple[str, int, int]]:
    """(kind, user id, member id) of the agency's reminders."""
    rows = Reminder.unscoped.filter(agency=agency)
    if kind:
        rows = rows.filter(kind=kind)
    return set(rows.values_list("kind", "user_id", "member_id"))


# --- who gets what ----------------------------------------------------------------------------------


def test_an_overdue_follow_up_goes_to_the_holders_of_the_parent_role_only(agency, team):
    member = overdue_followup(agency, team["a1"], name="林小雨")
    overdue_followup(agency, team["a1"], hours=-2)  # due in two hours: not overdue yet

    result = run(agency)

    assert result.status == JobRun.Status.SUCCEEDED
    assert result.counts == {"overdue_followups": 1, "overdue_stages": 0, "followup_reminders": 1,
                             "stage_reminders": 0}  # fmt: skip
    assert reminders(agency) == {(Reminder.Kind.OVERDUE_FOLLOWUP, team["lead_a"].pk, member.pk)}
    reminder = Reminder.unscoped.get(agency=agency)
    assert reminder.title.startswith("甲一's follow-up of 林小雨") and member.member_no in reminder.title


def test_every_active_holder_of_the_parent_role_is_told(agency, team):
    second_lead = UserFactory(agency=agency, username="lead_a2", role=team["lead_a"].role)
    UserFactory(agency=agency, username="lead_a_left", role=team["lead_a"].role, is_active=False)
    member = overdue_followup(agency, team["a1_peer"])

    run(agency)

    assert reminders(agency) == {
        (Reminder.Kind.OVERDUE_FOLLOWUP, team["lead_a"].pk, member.pk),
        (Reminder.Kind.OVERDUE_FOLLOWUP, second_lead.pk, member.pk),
    }


def test_a_parent_role_without_active_staff_is_skipped_for_the_nearest_ancestor_with_some(agency, team):
    team["lead_a"].is_active = False
    team["lead_a"].save(update_fields=["is_active"])
    member = overdue_followup(agency, team["a1"])

    run(agency)

    assert reminders(agency) == {(Reminder.Kind.OVERDUE_FOLLOWUP, team["manager"].pk, member.pk)}


def test_the_agency_admins_are_the_last_resort_and_have_no_superior_themselves(agency):
    admin = UserFactory(agency=agency, username="boss", role=root_role(agency))
    empty = RoleFactory(agency=agency, parent=root_role(agency), perms=AFTERSALE)
    deep = UserFactory(agency=agency, username="deep", role=RoleFactory(agency=agency, parent=empty, perms=AFTERSALE))
    roleless = UserFactory(agency=agency, username="roleless")
    of_deep = overdue_followup(agency, deep)
    of_roleless = overdue_followup(agency, roleless)
    overdue_followup(agency, admin)  # the admin's own: nobody above, never the admin themselves

    result = run(agency)

    assert reminders(agency) == {
        (Reminder.Kind.OVERDUE_FOLLOWUP, admin.pk, of_deep.pk),
        (Reminder.Kind.OVERDUE_FOLLOWUP, admin.pk, of_roleless.pk),
    }
    assert result.counts["overdue_followups"] == 3 and result.counts["followup_reminders"] == 2


def test_the_presale_owner_is_the_owner_until_an_after_sale_matchmaker_serves_the_member(agency, team):
    lead = overdue_followup(agency, team["b1"], presale=True, status=Member.Status.FOLLOWING)
    both = overdue_followup(agency, team["b1"], presale=True, status=Member.Status.SIGNED)
    Member.unscoped.filter(pk=both.pk).update(aftersale_owner=team["a1"])

    run(agency)

    assert reminders(agency) == {
        (Reminder.Kind.OVERDUE_FOLLOWUP, team["lead_b"].pk, lead.pk),
        (Reminder.Kind.OVERDUE_FOLLOWUP, team["lead_a"].pk, both.pk),
    }


def test_members_given_up_finished_unowned_or_long_overdue_are_not_escalated(agency, team):
    overdue_followup(agency, team["a1"], status=Member.Status.ABANDONED)
    overdue_followup(agency, team["a1"], status=Member.Status.SUCCESS)
    overdue_followup(agency, None)
    overdue_followup(agency, team["a1"], hours=24 * 8)  # older than the window: escalated when it fell due

    result = run(agency)

    assert reminders(agency) == set()
    assert result.counts["overdue_followups"] == 0


def test_an_overdue_service_step_goes_to_the_owners_superior(agency, team):
    late = overdue_step(agency, team["b1"])
    on_time = served(agency, team["b1"])
    at_stage(agency, on_time, "consulted")  # due in 72 hours
    finished = overdue_step(agency, team["b1"])
    at_stage(agency, finished, "success")

    result = run(agency)

    assert reminders(agency) == {(Reminder.Kind.OVERDUE_STAGE, team["lead_b"].pk, late.pk)}
    assert result.counts["overdue_stages"] == 1 and result.counts["stage_reminders"] == 1
    title = Reminder.unscoped.get(agency=agency).title
    assert "Consulted" in title and "乙一" in title and late.member_no in title


# --- idempotency ------------------------------------------------------------------------------------


def test_a_second_run_adds_nothing_but_a_new_due_moment_is_escalated_again(agency, team):
    member = overdue_followup(agency, team["a1"])
    stepped = overdue_step(agency, team["b1"])

    first = run(agency)
    second = run(agency)

    assert first.counts["followup_reminders"] == 1 and first.counts["stage_reminders"] == 1
    assert second.status == JobRun.Status.SUCCEEDED
    assert second.counts == {"overdue_followups": 1, "overdue_stages": 1, "followup_reminders": 0,
                             "stage_reminders": 0}  # fmt: skip
    assert Reminder.unscoped.filter(agency=agency).count() == 2

    # The matchmaker set a new follow-up time and missed that too; the step got a new deadline and passed it.
    Member.unscoped.filter(pk=member.pk).update(next_followup_at=timezone.now() - 10 * datetime.timedelta(minutes=1))
    make_overdue(stepped, hours=1)
    third = run(agency)

    assert third.counts["followup_reminders"] == 1 and third.counts["stage_reminders"] == 1
    assert Reminder.unscoped.filter(agency=agency, member=member).count() == 2
    assert Reminder.unscoped.filter(agency=agency, member=stepped).count() == 2


# --- agencies ---------------------------------------------------------------------------------------


def test_another_agencys_overdue_items_never_reach_this_one(agency, other_agency, team):
    theirs = aftersale_team(other_agency)
    their_member = overdue_followup(other_agency, theirs["a1"])
    their_step = overdue_step(other_agency, theirs["b1"])
    mine = overdue_followup(agency, team["a1"])

    result = run(agency)

    assert result.counts["overdue_followups"] == 1 and result.counts["overdue_stages"] == 0
    assert reminders(agency) == {(Reminder.Kind.OVERDUE_FOLLOWUP, team["lead_a"].pk, mine.pk)}
    assert not Reminder.unscoped.filter(agency=other_agency).exists()

    run(other_agency)

    assert reminders(other_agency) == {
        (Reminder.Kind.OVERDUE_FOLLOWUP, theirs["lead_a"].pk, their_member.pk),
        (Reminder.Kind.OVERDUE_STAGE, theirs["lead_b"].pk, their_step.pk),
    }


def test_a_failure_for_one_agency_is_recorded_and_the_others_still_run(agency, other_agency, team, monkeypatch):
    theirs = aftersale_team(other_agency)
    their_member = overdue_followup(other_agency, theirs["a1"])
    overdue_followup(agency, team["a1"])
    original = job_tasks.registry.get(JOB).function

    def broken_for_agency(target, today):
        if target.pk == agency.pk:
            raise RuntimeError("database hiccup")
        return original(target, today)

    monkeypatch.setitem(registry._JOBS, JOB, registry.Job(JOB, "Overdue escalation", broken_for_agency))

    assert job_tasks.job_dispatch.delay(job=JOB).get() == 2

    failed = JobRun.unscoped.get(agency=agency, job=JOB)
    succeeded = JobRun.unscoped.get(agency=other_agency, job=JOB)
    assert failed.status == JobRun.Status.FAILED and "database hiccup" in failed.error
    assert succeeded.status == JobRun.Status.SUCCEEDED and succeeded.counts["followup_reminders"] == 1
    assert reminders(other_agency) == {(Reminder.Kind.OVERDUE_FOLLOWUP, theirs["lead_a"].pk, their_member.pk)}
    assert reminders(agency) == set()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_escalation_runs_in_a_real_worker_twice_without_doubling(agency, other_agency, celery_worker_process):  # noqa: F811
    team = aftersale_team(agency)
    member = overdue_followup(agency, team["a1"])
    overdue_followup(other_agency, aftersale_team(other_agency)["a1"])

    def in_worker():
        result = job_tasks.job_run.apply_async(kwargs={"agency_id": agency.pk, "job": JOB}, queue=celery_worker_process)
        return result.get(timeout=60)

    first, second = in_worker(), in_worker()

    assert first["status"] == "succeeded" and first["counts"]["followup_reminders"] == 1
    assert second["status"] == "succeeded" and second["counts"]["followup_reminders"] == 0
    assert reminders(agency) == {(Reminder.Kind.OVERDUE_FOLLOWUP, team["lead_a"].pk, member.pk)}
    assert not Reminder.unscoped.filter(agency=other_agency).exists()
