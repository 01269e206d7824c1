"""Birthday and contract-expiry reminders, the run record, idempotency and agency isolation."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import translation

from apps.agencies.context import agency_context
from apps.finance import services as finance_services
from apps.finance.models import Contract
from apps.finance.services import agency_today
from apps.jobs import registry, schedule
from apps.jobs.models import JobRun, JobSettings, Reminder
from apps.members.models import Member
from apps.messaging.models import Notification
from tests.agencies.test_tasks import celery_worker_process  # noqa: F401 - the real worker fixture
from tests.conftest import agency_client
from tests.finance.factories import PackageFactory, contract, finance_team
from tests.matching.factories import person
from tests.matchmakers.factories import UserFactory, root_role

pytestmark = pytest.mark.django_db


def _born_on(day: datetime.date, age: int) -> datetime.date:
    return day.replace(year=day.year - age)


def celebrant(agency, gender, owner, day: datetime.date, age: int, **fields):
    """A member whose birthday falls on `day`, turning `age` then."""
    member = person(agency, gender, age, owner=owner, **fields)
    Member.unscoped.filter(pk=member.pk).update(birth_date=_born_on(day, age))
    member.refresh_from_db()
    return member


@pytest.fixture
def today(agency):
    return agency_today(agency)


@pytest.fixture
def matchmaker(agency):
    return UserFactory(agency=agency, username="hongniang", perms=["matchmakers.view_members"])


def _run(agency, name, today=None):
    with agency_context(agency):
        return registry.run_job(agency=agency, name=name, today=today)


# --- birthdays -------------------------------------------------------------------------------------


def test_birthdays_remind_the_matchmaker_the_day_before_and_on_the_day(agency, matchmaker, today):
    on_the_day = celebrant(agency, "female", matchmaker, today, 30, name="林小雨")
    tomorrow = celebrant(agency, "male", matchmaker, today + datetime.timedelta(days=1), 32, name="周明")
    celebrant(agency, "male", matchmaker, today + datetime.timedelta(days=2), 40)
    celebrant(agency, "female", None, today, 25)  # nobody serves her yet

    with translation.override("en"):
        run = _run(agency, "birthday_reminders", today)

    assert run.status == JobRun.Status.SUCCEEDED and run.finished_at is not None
    assert run.counts == {"reminders": 2, "greetings": 0, "greetings_unreachable": 0}
    reminders = {r.member_id: r for r in Reminder.unscoped.filter(agency=agency)}
    assert set(reminders) == {on_the_day.pk, tomorrow.pk}
    assert reminders[on_the_day.pk].user == matchmaker and "林小雨" in reminders[on_the_day.pk].title
    assert reminders[on_the_day.pk].title.endswith("(30)") and reminders[tomorrow.pk].title.endswith("(32)")

    again = _run(agency, "birthday_reminders", today)  # the same day again: nothing new
    assert again.counts["reminders"] == 0 and Reminder.unscoped.count() == 2
    # Tomorrow his "eve" reminder is done; his "day" one comes.
    _run(agency, "birthday_reminders", today + datetime.timedelta(days=1))
    assert Reminder.unscoped.filter(member=tomorrow).count() == 2


def test_the_birthday_greeting_goes_out_once_in_the_agencys_wording(agency, matchmaker, today, settings, tmp_path):
    settings.SMS_BACKEND = "apps.messaging.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms"
    JobSettings.unscoped.create(agency=agency, birthday_greeting_channel="sms")
    she = celebrant(agency, "female", matchmaker, today, 30, name="林小雨", email="xiaoyu@example.com")
    no_mail = celebrant(agency, "female", matchmaker, today, 31)

    first = _run(agency, "birthday_reminders", today)
    second = _run(agency, "birthday_reminders", today)

    assert first.counts["greetings"] == 2 and second.counts["greetings"] == 0
    greetings = Notification.unscoped.filter(kind="birthday")
    assert sorted(greetings.values_list("member_id", flat=True)) == sorted([she.pk, no_mail.pk])
    assert "林小雨" in greetings.get(member=she).body
    JobSettings.unscoped.filter(agency=agency).update(birthday_greeting_channel="email")
    later = _run(agency, "birthday_reminders", today + datetime.timedelta(days=365))
    assert later.counts["greetings_unreachable"] == 1  # no email address: counted, the run still succeeds


def test_birthdays_of_another_agency_stay_there(agency, other_agency, matchmaker, today):
    theirs = UserFactory(agency=other_agency, username="theirs")
    celebrant(other_agency, "female", theirs, today, 30)
    assert _run(agency, "birthday_reminders", today).counts["reminders"] == 0
    assert not Reminder.unscoped.exists()


# --- contracts ending ------------------------------------------------------------------------------


@pytest.fixture
def team(agency):
    return finance_team(agency)


def _ending(agency, team, member, end: datetime.date) -> Contract:
    draft = contract(agency, sales=team["sales"], member_obj=member, package=PackageFactory(agency=agency),
                     service_start=end - datetime.timedelta(days=300))  # fmt: skip
    Contract.unscoped.filter(pk=draft.pk).update(service_end=end)  # a draft may still change
    with agency_context(agency):
        finance_services.contract_submit(agency=agency, actor=team["sales"], contract=draft)
        finance_services.contract_approve(agency=agency, actor=team["finance"], contract=draft)
    draft.refresh_from_db()
    return draft


def test_contracts_ending_in_30_7_and_1_days_remind_sales_and_the_matchmaker(agency, team, matchmaker, today):
    member = person(agency, "female", 30, owner=matchmaker, presale_owner=team["sales"])
    deal = _ending(agency, team, member, today + datetime.timedelta(days=30))
    far = _ending(agency, team, person(agency, "male", 30, owner=matchmaker, presale_owner=team["sales"]),
                  today + datetime.timedelta(days=45))  # fmt: skip

    run = _run(agency, "contract_expiry_reminders", today)
    assert run.counts == {"reminders": 2, "notices": 0, "notices_unreachable": 0}
    assert set(Reminder.unscoped.values_list("user_id", flat=True)) == {team["sales"].pk, matchmaker.pk}
    assert not Reminder.unscoped.filter(member=far.member).exists()
    assert _run(agency, "contract_expiry_reminders", today).counts["reminders"] == 0  # twice: nothing new
    # 7 days before: the next step; a day the job missed (8 → 6 days left) is caught up, not lost. The
    # other contract reaches its 30-day step the same day.
    assert _run(agency, "contract_expiry_reminders", today + datetime.timedelta(days=24)).counts["reminders"] == 4
    assert Reminder.unscoped.filter(member=far.member).count() == 2
    assert _run(agency, "contract_expiry_reminders", today + datetime.timedelta(days=25)).counts["reminders"] == 0
    assert _run(agency, "contract_expiry_reminders", today + datetime.timedelta(days=29)).counts["reminders"] == 2
    assert Reminder.unscoped.filter(member=deal.member).count() == 6


def test_the_member_is_told_once_per_step_when_the_agency_wants(agency, team, matchmaker, today):
    JobSettings.unscoped.create(agency=agency, contract_expiry_channel="in_site")
    member = person(agency, "female", 30, owner=matchmaker, presale_owner=team["sales"])
    _ending(agency, team, member, today + datetime.timedelta(days=7))
    assert _run(agency, "contract_expiry_reminders", today).counts["notices"] == 1
    assert _run(agency, "contract_expiry_reminders", today).counts["notices"] == 0
    notice = Notification.unscoped.get(kind="contract_expiry")
    assert notice.member == member and "7" in notice.body


# --- the run record, failures, schedule -------------------------------------------------------------


@pytest.fixture
def breaking_job():
    """A job that fails for the agency "anhe" only, registered for the test."""

    def breaks(agency, today):
        if agency.slug == "anhe":
            raise RuntimeError("the OElove database is unreachable")
        return {"done": 1}

    registry.job("breaks_for_anhe", "Breaks for anhe")(breaks)
    yield "breaks_for_anhe"
    registry._JOBS.pop("breaks_for_anhe")


def test_a_job_failing_for_one_agency_still_completes_the_others(agency, other_agency, breaking_job):
    from apps.jobs import tasks

    assert tasks.job_dispatch.delay(job=breaking_job).get() == 2
    failed = JobRun.unscoped.get(agency=agency, job=breaking_job)
    done = JobRun.unscoped.get(agency=other_agency, job=breaking_job)
    assert failed.status == "failed" and "the OElove database is unreachable" in failed.error
    assert done.status == "succeeded" and done.counts == {"done": 1}


def test_the_default_schedule_is_installed_once_and_admin_changes_stay():
    from django_celery_beat.models import PeriodicTask

    schedule.install_defaults()
    entries = {task.name: task for task in PeriodicTask.objects.all()}
    assert {"birthday reminders", "contract expiry reminders", "overdue escalation", "report roll-ups",
            "new-match discovery", "silent members"} <= set(entries)  # fmt: skip
    assert json.loads(entries["birthday reminders"].kwargs) == {"job": "birthday_reminders"}
    PeriodicTask.objects.filter(name="birthday reminders").update(enabled=False)
    assert schedule.install_defaults() == 0
    assert PeriodicTask.objects.get(name="birthday reminders").enabled is False


# --- pages -----------------------------------------------------------------------------------------


@pytest.fixture
def admin(agency):
    return UserFactory(agency=agency, username="boss", role=root_role(agency))


def test_admins_see_the_runs_and_can_run_a_job_now(agency, admin, matchmaker, today):
    celebrant(agency, "female", matchmaker, today, 30)
    client = agency_client(agency, admin)
    response = client.post(reverse("jobs:run_now"), {"job": "birthday_reminders"})
    assert response.status_code == 302
    run = JobRun.unscoped.get(agency=agency, job="birthday_reminders")
    page = client.get(reverse("jobs:runs"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Birthday reminders" in page and "reminders: <strong>1</strong>" in page
    assert client.get(reverse("jobs:run", args=[run.pk])).status_code == 200


def test_run_now_refuses_an_unknown_job(agency, admin):
    response = agency_client(agency, admin).post(reverse("jobs:run_now"), {"job": "rm -rf"}, follow=True,
                                                 HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert "Choose a job to run." in response.content.decode()
    assert not JobRun.unscoped.exists()


def test_runs_are_the_agencys_own_and_need_the_settings_permission(agency, other_agency, admin, matchmaker):
    run = _run(agency, "report_rollups")
    outsider = UserFactory(agency=other_agency, username="boss", role=root_role(other_agency))
    foreign = agency_client(other_agency, outsider)
    assert foreign.get(reverse("jobs:run", args=[run.pk])).status_code == 404
    assert f'href="{reverse("jobs:run", args=[run.pk])}"' not in foreign.get(reverse("jobs:runs")).content.decode()
    assert agency_client(agency, matchmaker).get(reverse("jobs:runs")).status_code == 403
    assert agency_client(agency, matchmaker).post(reverse("jobs:run_now"), {"job": "report_rollups"}).status_code \
        == 403  # fmt: skip


def test_the_run_list_keeps_its_query_count(agency, admin, django_assert_max_num_queries):
    client = agency_client(agency, admin)
    _run(agency, "report_rollups")
    with django_assert_max_num_queries(15) as one:
        client.get(reverse("jobs:runs"))
    few = len(one.captured_queries)
    for _n in range(20):
        _run(agency, "report_rollups")
    with django_assert_max_num_queries(few):
        assert len(client.get(reverse("jobs:runs")).context["page"]) == 21


def test_job_settings_are_saved_and_bad_input_changes_nothing(agency, admin, matchmaker):
    client = agency_client(agency, admin)
    url = reverse("jobs:settings")
    response = client.post(url, {"birthday_greeting_channel": "sms", "contract_expiry_channel": "",
                                 "discovery_threshold": 0, "silent_days": 30})  # fmt: skip
    assert response.status_code == 400 and not JobSettings.unscoped.exists()
    client.post(url, {"birthday_greeting_channel": "sms", "contract_expiry_channel": "email",
                      "discovery_threshold": 80, "silent_days": 45})  # fmt: skip
    saved = JobSettings.unscoped.get(agency=agency)
    assert (saved.birthday_greeting_channel, saved.discovery_threshold, saved.silent_days) == ("sms", 80, 45)
    assert agency_client(agency, matchmaker).post(url, {"silent_days": 10}).status_code == 403


def test_reminders_are_their_users_own(agency, other_agency, matchmaker, today):
    celebrant(agency, "female", matchmaker, today, 30, name="林小雨")
    _run(agency, "birthday_reminders", today)
    reminder = Reminder.unscoped.get()
    mine = agency_client(agency, matchmaker)
    page = mine.get(reverse("jobs:reminders"))
    assert "林小雨" in page.content.decode() and 'data-testid="reminders-badge"' in page.content.decode()
    colleague = UserFactory(agency=agency, username="colleague", perms=["matchmakers.view_members"])
    assert "林小雨" not in agency_client(agency, colleague).get(reverse("jobs:reminders")).content.decode()
    toggle = reverse("jobs:reminder_toggle", args=[reminder.pk])
    assert agency_client(agency, colleague).post(toggle).status_code == 404
    outsider = UserFactory(agency=other_agency, username="hongniang")
    assert agency_client(other_agency, outsider).post(toggle).status_code == 404
    assert mine.post(toggle).status_code == 302
    reminder.refresh_from_db()
    assert reminder.done_at is not None
    assert agency_client(agency).get(reverse("jobs:reminders")).status_code == 302  # anonymous: log in


def test_the_reminder_list_keeps_its_query_count(agency, matchmaker, today, django_assert_max_num_queries):
    celebrant(agency, "female", matchmaker, today, 30)
    _run(agency, "birthday_reminders", today)
    client = agency_client(agency, matchmaker)
    with django_assert_max_num_queries(12) as one:
        client.get(reverse("jobs:reminders"))
    few = len(one.captured_queries)
    for n in range(15):
        celebrant(agency, "male", matchmaker, today, 30 + n)
    _run(agency, "birthday_reminders", today)
    with django_assert_max_num_queries(few):
        assert len(client.get(reverse("jobs:reminders")).context["page"]) == 16


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_beat_entry_point_runs_every_agency_in_a_real_worker(agency, other_agency, celery_worker_process):  # noqa: F811
    import time

    from apps.jobs import tasks

    matchmaker = UserFactory(agency=agency, username="hongniang")
    today = agency_today(agency)
    celebrant(agency, "female", matchmaker, today, 30)
    result = tasks.job_dispatch.apply_async(kwargs={"job": "birthday_reminders"}, queue=celery_worker_process)
    assert result.get(timeout=60) == 2
    deadline = time.monotonic() + 60
    while JobRun.unscoped.filter(job="birthday_reminders", status="succeeded").count() < 2:
        assert time.monotonic() < deadline, list(JobRun.unscoped.values("agency_id", "status", "error"))
        time.sleep(0.2)
    assert JobRun.unscoped.get(agency=agency).counts["reminders"] == 1
    assert JobRun.unscoped.get(agency=other_agency).counts["reminders"] == 0
    # Twice: the second run adds nothing.
    tasks.job_run.apply_async(kwargs={"agency_id": agency.pk, "job": "birthday_reminders"},
                              queue=celery_worker_process).get(timeout=60)  # fmt: skip
    assert Reminder.unscoped.count() == 1


def test_platform_operators_edit_the_schedule_in_the_admin_and_agency_staff_cannot(agency, admin):
    from django.test import Client
    from django_celery_beat.models import PeriodicTask

    from tests.matchmakers.factories import PlatformOperatorFactory

    schedule.install_defaults()
    ops = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    ops.force_login(PlatformOperatorFactory(username="ops"))
    listing = ops.get("/admin/django_celery_beat/periodictask/")
    assert listing.status_code == 200 and "birthday reminders" in listing.text
    entry = PeriodicTask.objects.get(name="birthday reminders")
    page = ops.get(f"/admin/django_celery_beat/periodictask/{entry.pk}/change/")
    assert page.status_code == 200
    staff = Client(HTTP_HOST="localhost")
    staff.force_login(admin)  # an agency's own admin is not a platform operator
    assert staff.get("/admin/django_celery_beat/periodictask/").status_code == 302


def test_a_29_february_birthday_is_celebrated_on_28_february_with_the_right_age(agency, matchmaker):
    leapling = person(agency, "female", 30, owner=matchmaker, name="闰日")
    Member.unscoped.filter(pk=leapling.pk).update(birth_date=datetime.date(1996, 2, 29))
    with translation.override("en"):
        run = _run(agency, "birthday_reminders", datetime.date(2027, 2, 28))
    assert run.counts["reminders"] == 1
    assert Reminder.unscoped.get(member=leapling).title == "Today is 闰日's birthday (31)"
