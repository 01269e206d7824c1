"""Member analysis (F-C6) on the member page: figures equal the synced rows, a fixed query count."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from apps.agencies.context import agency_context
from apps.finance.services import agency_today
from apps.integrations.analysis import member_analysis
from apps.integrations.models import MemberActivity, OeloveLink, VipRecord
from tests.conftest import agency_client
from tests.matching.factories import person
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

_sources = iter(range(1_000_000))


def _link(member, userid=100):
    return OeloveLink.unscoped.create(
        agency_id=member.agency_id, member=member, oelove_userid=userid, vip_level=2, login_count=41,
        mobile_verified=True, last_seen_on=datetime.date.today(),
    )  # fmt: skip


def _did(member, kind, days_ago=0, counterpart=None, amount=None):
    return MemberActivity.unscoped.create(
        agency_id=member.agency_id, member=member, kind=kind, counterpart_member=counterpart, amount=amount,
        at=timezone.now() - datetime.timedelta(days=days_ago), source_id=str(next(_sources)),
    )  # fmt: skip


@pytest.fixture
def matchmaker(agency):
    return UserFactory(agency=agency, username="hongniang", perms=["matchmakers.view_members"])


def test_the_analysis_counts_what_the_member_did(agency, matchmaker):
    he = person(agency, "male", 32, owner=matchmaker, name="周明")
    _link(he)
    hangzhou_28 = person(agency, "female", 28, residence_province="33", residence_city="3301", education=4)
    shanghai_31 = person(agency, "female", 31, residence_province="31", residence_city="3101", education=5)
    for _n in range(3):
        _did(he, "view_given", counterpart=hangzhou_28)
    _did(he, "view_given", counterpart=shanghai_31)
    _did(he, "login")
    _did(he, "login", days_ago=40)
    _did(he, "login", days_ago=500)  # older than 12 months: not in the table
    _did(he, "message_sent")
    _did(he, "payment", amount=Decimal("199.00"))
    _did(he, "payment", amount=Decimal("99.50"), days_ago=600)  # spending counts all of it
    VipRecord.unscoped.create(agency=agency, member=he, level=2, amount=Decimal("199.00"), source_id="v1",
                              start=timezone.now(), end=timezone.now() + datetime.timedelta(days=90))  # fmt: skip

    with translation.override("en"), agency_context(agency):
        analysis = member_analysis(member=he)

    this_month = agency_today(agency).replace(day=1)
    assert analysis.months[-1].month == this_month and len(analysis.months) == 12
    kinds = dict(zip(["login", "view_given", "view_received", "message_sent", "message_received", "greeting_sent",
                      "greeting_received"], analysis.totals, strict=True))  # fmt: skip
    assert kinds == {"login": 2, "view_given": 4, "view_received": 0, "message_sent": 1, "message_received": 0,
                     "greeting_sent": 0, "greeting_received": 0}  # fmt: skip
    assert (analysis.spent, analysis.payments) == (Decimal("298.50"), 2)
    assert analysis.viewed_total == 4
    assert analysis.viewed_ages[0] == ("25-29", 3) and ("30-34", 1) in analysis.viewed_ages
    assert analysis.viewed_cities[0] == ("杭州市", 3)
    assert dict(analysis.viewed_education) == {"Bachelor's degree": 3, "Master's degree": 1}
    assert [vip.level for vip in analysis.vip_history] == [2]

    page = agency_client(agency, matchmaker).get(reverse("members:detail", args=[he.pk]))
    assert 'id="analysis-panel"' in page.content.decode() and "¥298.50" in page.content.decode()


def test_members_not_from_the_site_have_no_panel(agency, matchmaker):
    she = person(agency, "female", 28, owner=matchmaker)
    with agency_context(agency):
        assert member_analysis(member=she) is None
    page = agency_client(agency, matchmaker).get(reverse("members:detail", args=[she.pk]))
    assert 'id="analysis-panel"' not in page.content.decode()


def test_another_agencys_activity_never_counts(agency, other_agency, matchmaker):
    he = person(agency, "male", 32, owner=matchmaker)
    _link(he)
    theirs = person(other_agency, "male", 30)
    _link(theirs, userid=100)
    _did(theirs, "login")
    with agency_context(agency):
        assert sum(member_analysis(member=he).totals) == 0


def test_the_panel_keeps_its_query_count(agency, matchmaker, django_assert_max_num_queries):
    he = person(agency, "male", 32, owner=matchmaker)
    _link(he)
    client = agency_client(agency, matchmaker)
    url = reverse("members:detail", args=[he.pk])
    _did(he, "login")
    with django_assert_max_num_queries(80) as one:
        client.get(url)
    few = len(one.captured_queries)
    for n in range(30):
        _did(he, "view_given", days_ago=n * 10, counterpart=person(agency, "female", 25 + n % 10))
        _did(he, "payment", amount=Decimal("10.00"), days_ago=n)
    with django_assert_max_num_queries(few):
        client.get(url)
