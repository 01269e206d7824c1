"""Log in as member (F-F3): a banner and an exit, every start and end recorded, never out of scope."""

import pytest
from django.urls import reverse

from apps.members.models import Member
from apps.portal.models import Impersonation
from tests.conftest import agency_client
from tests.matching.factories import person
from tests.matchmakers.factories import UserFactory, root_role
from tests.portal.conftest import PORTAL_STAFF_PERMS
from tests.portal.factories import PASSWORD, member_client

pytestmark = pytest.mark.django_db


def _login_as(client, member):
    return client.post(reverse("portal_staff:login_as", args=[member.pk]), HTTP_USER_AGENT="Firefox/140")


def test_staff_open_the_portal_as_the_member_with_a_banner_and_leave_it(agency, matchmaker, she):
    staff = agency_client(agency, matchmaker)
    response = _login_as(staff, she)
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    record = Impersonation.unscoped.get()
    assert (record.user, record.member, record.ended_at, record.ip_address) == (matchmaker, she, None, "127.0.0.1")
    assert record.user_agent == "Firefox/140"

    home = staff.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en")
    page = home.content.decode()
    assert home.status_code == 200 and 'id="impersonation-banner"' in page
    assert "You are viewing the portal as 林小雨" in page and "Exit member view" in page
    # The staff user is still staff in the back office meanwhile.
    assert staff.get(reverse("members:detail", args=[she.pk])).status_code == 200

    response = staff.post(reverse("portal:impersonation_exit"))
    assert response.status_code == 302 and response["Location"] == reverse("members:detail", args=[she.pk])
    record.refresh_from_db()
    assert record.ended_at is not None and record.end_reason == Impersonation.EndReason.EXIT
    assert staff.get(reverse("portal:home")).status_code == 302


def test_a_member_outside_the_role_tree_is_refused_and_nothing_recorded(agency, matchmaker, he):
    assert _login_as(agency_client(agency, matchmaker), he).status_code == 404
    assert not Impersonation.unscoped.exists()


def test_a_role_without_the_permission_is_refused(agency, she):
    viewer = UserFactory(agency=agency, username="viewer", perms=["matchmakers.view_members"])
    Member.unscoped.filter(pk=she.pk).update(aftersale_owner=viewer)
    assert _login_as(agency_client(agency, viewer), she).status_code == 403
    assert not Impersonation.unscoped.exists()


def test_staff_of_another_agency_cannot_log_in_as_our_member(agency, other_agency, she):
    outsider = UserFactory(agency=other_agency, username="boss", perms=PORTAL_STAFF_PERMS)
    assert _login_as(agency_client(other_agency, outsider), she).status_code == 404
    assert not Impersonation.unscoped.exists()


def test_the_member_view_ends_when_the_member_leaves_the_users_branch(agency, matchmaker, colleague, she):
    staff = agency_client(agency, matchmaker)
    _login_as(staff, she)
    Member.unscoped.filter(pk=she.pk).update(aftersale_owner=colleague)
    assert staff.get(reverse("portal:home")).status_code == 302
    record = Impersonation.unscoped.get()
    assert record.ended_at is not None and record.end_reason == Impersonation.EndReason.REVOKED


def test_a_staff_log_out_ends_the_member_view(agency, matchmaker, she):
    staff = agency_client(agency, matchmaker)
    _login_as(staff, she)
    staff.post(reverse("matchmakers:logout"))
    record = Impersonation.unscoped.get()
    assert record.end_reason == Impersonation.EndReason.LOGOUT


def test_opening_another_member_closes_the_first(agency, matchmaker, she):
    other = person(agency, "female", 31, owner=matchmaker)
    staff = agency_client(agency, matchmaker)
    _login_as(staff, she)
    _login_as(staff, other)
    first, second = Impersonation.unscoped.order_by("pk")
    assert first.end_reason == Impersonation.EndReason.REPLACED and second.ended_at is None
    assert "会员" in staff.get(reverse("portal:home")).content.decode()


def test_the_members_password_cannot_be_changed_in_the_member_view(agency, matchmaker, she):
    from apps.portal.models import MemberAccount

    member_client(agency, she)  # she has an account
    staff = agency_client(agency, matchmaker)
    _login_as(staff, she)
    response = staff.post(reverse("portal:password"), {"old_password": PASSWORD, "password1": "Brand-New-2029!",
                                                        "password2": "Brand-New-2029!"})  # fmt: skip
    assert response.status_code == 302
    assert MemberAccount.unscoped.get(member=she).check_password(PASSWORD)


def test_the_log_in_as_log_follows_the_role_tree(agency, other_agency, matchmaker, she):
    _login_as(agency_client(agency, matchmaker), she)
    admin = UserFactory(agency=agency, username="boss", role=root_role(agency))
    page = agency_client(agency, admin).get(reverse("portal_staff:impersonations"))
    assert page.status_code == 200 and "林小雨" in page.content.decode()
    assert agency_client(agency, matchmaker).get(reverse("portal_staff:impersonations")).status_code == 403
    sibling = UserFactory(agency=agency, username="hr", perms=["matchmakers.view_staff", "matchmakers.view_members"])
    assert "林小雨" not in agency_client(agency, sibling).get(reverse("portal_staff:impersonations")).content.decode()
    outsider = UserFactory(agency=other_agency, username="boss", role=root_role(other_agency))
    foreign = agency_client(other_agency, outsider).get(reverse("portal_staff:impersonations"))
    assert foreign.status_code == 200 and "林小雨" not in foreign.content.decode()


def test_a_deactivated_staff_users_member_view_is_recorded_as_ended(agency, matchmaker, she):
    staff = agency_client(agency, matchmaker)
    _login_as(staff, she)
    type(matchmaker).objects.filter(pk=matchmaker.pk).update(is_active=False)
    assert staff.get(reverse("portal:home")).status_code == 302
    record = Impersonation.unscoped.get()
    assert record.ended_at is not None and record.end_reason == Impersonation.EndReason.REVOKED


def test_logging_out_of_the_portal_in_the_member_view_only_exits_it(agency, matchmaker, she):
    staff = agency_client(agency, matchmaker)
    _login_as(staff, she)
    staff.post(reverse("portal:logout"))
    assert Impersonation.unscoped.get().end_reason == Impersonation.EndReason.EXIT
    assert staff.get(reverse("members:detail", args=[she.pk])).status_code == 200  # still staff


def test_member_views_left_open_are_closed_after_a_session_lifetime(agency, matchmaker, she, settings):
    import datetime

    from django.utils import timezone

    from apps.portal.tasks import impersonations_close_stale

    _login_as(agency_client(agency, matchmaker), she)
    _login_as(agency_client(agency, matchmaker), person(agency, "female", 30, owner=matchmaker))
    old = Impersonation.unscoped.order_by("pk").last()
    Impersonation.unscoped.filter(pk=old.pk).update(
        started_at=timezone.now() - datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)
    )
    assert impersonations_close_stale.delay(agency_id=agency.pk).get() == 1
    assert impersonations_close_stale.delay(agency_id=agency.pk).get() == 0  # idempotent
    old.refresh_from_db()
    assert old.end_reason == Impersonation.EndReason.EXPIRED


def test_staff_in_the_member_view_cannot_answer_for_the_member(agency, matchmaker, she):
    from apps.matching.models import Recommendation

    him = person(agency, "male", 31, owner=matchmaker)
    recommendation = Recommendation.unscoped.create(agency=agency, member=she, candidate=him, score=80, reason="r",
                                                    recommended_by=matchmaker)  # fmt: skip
    staff = agency_client(agency, matchmaker)
    _login_as(staff, she)
    response = staff.post(reverse("portal:recommendation_answer", args=[recommendation.pk]), {"answer": "accept"},
                          follow=True, HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert "Only the member can give this answer" in response.content.decode()
    recommendation.refresh_from_db()
    assert recommendation.status == Recommendation.Status.PROPOSED


def test_the_log_in_as_log_keeps_its_query_count(agency, matchmaker, she, django_assert_max_num_queries):
    admin = UserFactory(agency=agency, username="boss", role=root_role(agency))
    browser = agency_client(agency, admin)
    staff = agency_client(agency, matchmaker)
    _login_as(staff, she)
    with django_assert_max_num_queries(12) as one:
        browser.get(reverse("portal_staff:impersonations"))
    few = len(one.captured_queries)  # read now: the next requests reset the connection's query log
    for _n in range(20):
        _login_as(staff, person(agency, "male", 35, owner=matchmaker))
    with django_assert_max_num_queries(few):
        assert len(browser.get(reverse("portal_staff:impersonations")).context["page"]) == 21
