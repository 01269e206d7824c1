"""The workbench (F-I1): each block counts exactly what its list shows, inside the role tree."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.finance.services import agency_today
from apps.members.models import Member
from tests.conftest import agency_client
from tests.matching.factories import person
from tests.matchmakers.factories import UserFactory, root_role

pytestmark = pytest.mark.django_db

WORK = ["matchmakers.view_members", "matchmakers.edit_members", "matchmakers.view_followups",
        "matchmakers.view_messages", "matchmakers.view_matches"]  # fmt: skip


def _counts(response) -> dict:
    blocks = response.context["blocks"]
    return {
        "overdue": blocks["followups"]["overdue"], "today": blocks["followups"]["today"],
        "birthdays": blocks["birthdays"]["today"],
    }  # fmt: skip


def _due(member, minutes: int):
    Member.unscoped.filter(pk=member.pk).update(next_followup_at=timezone.now() + datetime.timedelta(minutes=minutes))


def _birthday_today(member, agency):
    today = agency_today(agency)
    Member.unscoped.filter(pk=member.pk).update(birth_date=today.replace(year=today.year - 30))


@pytest.fixture
def matchmaker(agency):
    return UserFactory(agency=agency, username="hongniang", perms=WORK)


@pytest.fixture
def colleague(agency):
    return UserFactory(agency=agency, username="colleague", perms=WORK)


def test_the_counts_equal_the_users_own_lists(agency, matchmaker, colleague):
    mine_overdue = person(agency, "female", 28, owner=matchmaker)
    _due(mine_overdue, -60)
    mine_later_today = person(agency, "female", 29, owner=matchmaker)
    _due(mine_later_today, 1)
    _birthday_today(mine_later_today, agency)
    theirs = person(agency, "male", 30, owner=colleague)
    _due(theirs, -60)
    _birthday_today(theirs, agency)

    page = agency_client(agency, matchmaker).get(reverse("reports:workbench"))

    assert page.status_code == 200
    assert _counts(page) == {"overdue": 1, "today": 1, "birthdays": 1}
    due_page = agency_client(agency, matchmaker).get(reverse("followups:due"))
    assert len(due_page.context["members"]) == 2  # the block's total is the list one click away


def test_a_manager_sees_the_branch_and_the_admin_the_agency(agency, matchmaker, colleague):
    theirs = person(agency, "male", 30, owner=colleague)
    _birthday_today(theirs, agency)
    admin = UserFactory(agency=agency, username="boss", role=root_role(agency))
    assert _counts(agency_client(agency, admin).get(reverse("reports:workbench")))["birthdays"] == 1
    assert _counts(agency_client(agency, matchmaker).get(reverse("reports:workbench")))["birthdays"] == 0


def test_another_agencys_rows_never_count(agency, other_agency, matchmaker):
    theirs = UserFactory(agency=other_agency, username="hongniang", perms=WORK)
    member = person(other_agency, "female", 28, owner=theirs)
    _due(member, -60)
    _birthday_today(member, other_agency)
    assert _counts(agency_client(agency, matchmaker).get(reverse("reports:workbench"))) == {
        "overdue": 0, "today": 0, "birthdays": 0}  # fmt: skip


def test_blocks_the_role_cannot_open_are_left_out(agency):
    finance_only = UserFactory(agency=agency, username="finance", perms=["matchmakers.view_contracts"])
    page = agency_client(agency, finance_only).get(reverse("reports:workbench"))
    blocks = page.context["blocks"]
    assert "followups" not in blocks and "unread_messages" not in blocks and "consultations" not in blocks
    assert 'id="wb-followups"' not in page.content.decode()
    assert agency_client(agency).get(reverse("reports:workbench")).status_code == 302  # anonymous: log in


def test_an_empty_agency_shows_zeros_not_errors(agency):
    admin = UserFactory(agency=agency, username="boss", role=root_role(agency))
    page = agency_client(agency, admin).get(reverse("reports:workbench"))
    assert page.status_code == 200
    blocks = page.context["blocks"]
    assert blocks["reminders"] == 0 and blocks["followups"] == {"overdue": 0, "today": 0}


def test_the_workbench_keeps_its_query_count(agency, matchmaker, django_assert_max_num_queries):
    client = agency_client(agency, matchmaker)
    with django_assert_max_num_queries(30) as one:
        client.get(reverse("reports:workbench"))
    few = len(one.captured_queries)
    for n in range(20):
        member = person(agency, "female", 25 + n % 10, owner=matchmaker)
        _due(member, -n - 1)
        _birthday_today(member, agency)
    with django_assert_max_num_queries(few):
        assert _counts(client.get(reverse("reports:workbench")))["overdue"] == 20
