"""New-match discovery (001 §2.3, F-H1): members who joined or changed, their new candidates above the
agency's threshold, one reminder for their after-sale matchmaker."""

import datetime

import pytest
from django.utils import timezone, translation

from apps.agencies.context import agency_context
from apps.jobs import discovery, registry
from apps.jobs import tasks as job_tasks
from apps.jobs.models import JobRun, JobSettings, Reminder
from apps.matching.models import Recommendation
from apps.members.models import Member
from tests.agencies.test_tasks import celery_worker_process  # noqa: F401 - the real worker fixture
from tests.matching.factories import person, wants
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

JOB = "new_match_discovery"
DAY = datetime.timedelta(days=1)


@pytest.fixture
def matchmaker(agency):
    return UserFactory(agency=agency, username="hongniang", name="小红", perms=["matchmakers.view_members"])


@pytest.fixture
def pool(agency):
    """Three men nobody serves after-sale: scored 79, 70 and 60 against a 28-year-old woman of 杭州."""
    return {
        "best": person(agency, "male", 30, name="陈伟"),
        "good": person(agency, "male", 29, name="王磊", education=2, income=1),
        "far": person(agency, "male", 33, name="李强", residence_city="1101", residence_province="11"),
    }


def run(agency, today=None) -> JobRun:
    with agency_context(agency), translation.override("en"):
        return registry.run_job(agency=agency, name=JOB, today=today)


def threshold(agency, value: int) -> None:
    JobSettings.unscoped.update_or_create(agency=agency, defaults={"discovery_threshold": value})


def settled(*members, days=3) -> None:
    """Members who joined, and last changed, `days` days ago."""
    when = timezone.now() - days * DAY
    Member.unscoped.filter(pk__in=[m.pk for m in members]).update(created_at=when, updated_at=when)


def new_match_reminders(agency):
    return list(Reminder.unscoped.filter(agency=agency, kind=Reminder.Kind.NEW_MATCHES).order_by("pk"))


def test_a_new_member_gets_one_reminder_listing_candidates_at_or_above_the_threshold(agency, matchmaker, pool):
    threshold(agency, 70)
    member = person(agency, "female", 28, owner=matchmaker, name="林小雨")

    result = run(agency)

    assert result.status == JobRun.Status.SUCCEEDED
    assert result.counts == {"members_checked": 1, "with_new_matches": 1, "reminders": 1, "capped": 0}
    [reminder] = new_match_reminders(agency)
    assert (reminder.user, reminder.member) == (matchmaker, member)
    assert "林小雨" in reminder.title and member.member_no in reminder.title and "70" in reminder.title
    assert reminder.body.splitlines() == [
        f"{pool['best'].member_no} 陈伟 — score 79",
        f"{pool['good'].member_no} 王磊 — score 70",
    ]


def test_candidates_already_recommended_to_the_member_are_not_new(agency, matchmaker, pool):
    threshold(agency, 70)
    member = person(agency, "female", 28, owner=matchmaker)
    Recommendation.unscoped.create(agency=agency, member=member, candidate=pool["best"], score=79, reason="同城",
                                   recommended_by=matchmaker)  # fmt: skip

    run(agency)

    [reminder] = new_match_reminders(agency)
    assert reminder.body.splitlines() == [f"{pool['good'].member_no} 王磊 — score 70"]


def test_nothing_above_the_threshold_leaves_no_reminder(agency, matchmaker, pool):
    threshold(agency, 80)
    person(agency, "female", 28, owner=matchmaker)

    result = run(agency)

    assert result.counts == {"members_checked": 1, "with_new_matches": 0, "reminders": 0, "capped": 0}
    assert new_match_reminders(agency) == []


def test_only_members_who_joined_or_changed_since_the_last_run_are_searched(agency, matchmaker, pool):
    quiet = person(agency, "female", 28, owner=matchmaker, name="老会员")
    new_preferences = person(agency, "female", 27, owner=matchmaker, name="改了要求")
    edited = person(agency, "female", 29, owner=matchmaker, name="改了资料")
    settled(quiet, new_preferences, edited)
    wants(new_preferences, age_min=25, age_max=35)  # saving the preferences is the change
    with agency_context(agency):
        Member.objects.get(pk=edited.pk).save()

    result = run(agency)

    assert result.counts["members_checked"] == 2  # the first run looks back 24 hours
    assert {reminder.member_id for reminder in new_match_reminders(agency)} == {new_preferences.pk, edited.pk}


def test_members_not_looking_or_without_an_after_sale_matchmaker_are_skipped(agency, matchmaker, pool):
    person(agency, "female", 28, owner=matchmaker, status=Member.Status.PAUSED)
    person(agency, "female", 28, owner=None)
    left = UserFactory(agency=agency, username="left", is_active=False)
    person(agency, "female", 28, owner=left)

    result = run(agency)

    assert result.counts["members_checked"] == 0 and new_match_reminders(agency) == []


def test_a_second_run_adds_nothing_and_a_later_change_is_searched_again(agency, matchmaker, pool):
    member = person(agency, "female", 28, owner=matchmaker)
    today = timezone.localdate()

    first = run(agency, today)
    second = run(agency, today)

    assert first.counts["reminders"] == 1
    assert second.status == JobRun.Status.SUCCEEDED
    assert second.counts == {"members_checked": 0, "with_new_matches": 0, "reminders": 0, "capped": 0}
    ran_at = JobSettings.unscoped.get(agency=agency).discovery_ran_at
    assert ran_at is not None and ran_at >= first.started_at

    wants(member, age_min=25, age_max=40)  # changed again the same day: searched, but one reminder a day
    third = run(agency, today)
    assert third.counts == {"members_checked": 1, "with_new_matches": 1, "reminders": 0, "capped": 0}

    wants(member, age_min=26, age_max=40)  # and the next day
    fourth = run(agency, today + DAY)
    assert fourth.counts["reminders"] == 1 and len(new_match_reminders(agency)) == 2


def test_a_full_batch_leaves_the_rest_for_the_next_run(agency, matchmaker, pool, monkeypatch):
    monkeypatch.setattr(discovery, "DISCOVERY_BATCH", 1)
    earlier = person(agency, "female", 28, owner=matchmaker)
    later = person(agency, "female", 27, owner=matchmaker)
    two_hours_ago = timezone.now() - datetime.timedelta(hours=2)
    Member.unscoped.filter(pk=earlier.pk).update(created_at=two_hours_ago, updated_at=two_hours_ago)

    first = run(agency)
    assert first.counts == {"members_checked": 1, "with_new_matches": 1, "reminders": 1, "capped": 1}
    assert [r.member_id for r in new_match_reminders(agency)] == [earlier.pk]

    second = run(agency)
    assert second.counts == {"members_checked": 1, "with_new_matches": 1, "reminders": 1, "capped": 1}
    assert [r.member_id for r in new_match_reminders(agency)] == [earlier.pk, later.pk]
    assert run(agency).counts["members_checked"] == 0


def test_members_changed_at_the_same_moment_across_a_full_batch_are_all_searched(agency, matchmaker, pool,
                                                                                  monkeypatch):  # fmt: skip
    """A bulk import stamps many members with one change time; the cut of a full batch falls among them."""
    monkeypatch.setattr(discovery, "DISCOVERY_BATCH", 1)
    twins = [person(agency, "female", 28, owner=matchmaker), person(agency, "female", 27, owner=matchmaker)]
    moment = timezone.now() - datetime.timedelta(hours=1)
    Member.unscoped.filter(pk__in=[m.pk for m in twins]).update(created_at=moment, updated_at=moment)

    assert run(agency).counts["members_checked"] == 1
    assert run(agency).counts["members_checked"] == 1
    assert sorted(r.member_id for r in new_match_reminders(agency)) == sorted(m.pk for m in twins)


def test_the_settings_row_is_created_on_the_first_run(agency, matchmaker, pool):
    assert not JobSettings.unscoped.filter(agency=agency).exists()
    run(agency)
    assert JobSettings.unscoped.get(agency=agency).discovery_ran_at is not None


def test_another_agencys_members_are_neither_searched_nor_proposed(agency, other_agency, matchmaker):
    their_matchmaker = UserFactory(agency=other_agency, username="hongniang")
    person(other_agency, "male", 30)  # would suit her perfectly, in another agency
    person(other_agency, "female", 28, owner=their_matchmaker)
    mine = person(agency, "female", 28, owner=matchmaker)

    result = run(agency)

    assert result.counts == {"members_checked": 1, "with_new_matches": 0, "reminders": 0, "capped": 0}
    assert not Reminder.unscoped.exists()
    person(agency, "male", 30)
    wants(mine, age_min=25, age_max=35)
    run(other_agency)
    assert not Reminder.unscoped.filter(agency=agency).exists()
    assert Reminder.unscoped.filter(agency=other_agency).count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_discovery_runs_in_a_real_worker_twice_without_doubling(agency, celery_worker_process):  # noqa: F811
    matchmaker = UserFactory(agency=agency, username="hongniang")
    member = person(agency, "female", 28, owner=matchmaker)
    person(agency, "male", 30)

    def in_worker():
        result = job_tasks.job_run.apply_async(kwargs={"agency_id": agency.pk, "job": JOB}, queue=celery_worker_process)
        return result.get(timeout=60)

    first, second = in_worker(), in_worker()

    assert first["status"] == "succeeded" and first["counts"]["reminders"] == 1
    assert second["status"] == "succeeded" and second["counts"] == {
        "members_checked": 0, "with_new_matches": 0, "reminders": 0, "capped": 0,
    }  # fmt: skip
    assert [(r.user_id, r.member_id) for r in new_match_reminders(agency)] == [(matchmaker.pk, member.pk)]
