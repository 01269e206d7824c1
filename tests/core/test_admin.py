"""The platform operators' Django admin on the platform hosts: agencies, their accounts, and who may enter."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.agencies.models import Agency, SiteSettings
from apps.matchmakers.models import User
from tests.agencies.factories import AgencyFactory
from tests.conftest import agency_client
from tests.matchmakers.factories import PASSWORD, PlatformOperatorFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    return PlatformOperatorFactory(username="ops")


@pytest.fixture
def ops_client(operator) -> Client:
    """The operator's browser on the platform host, logged in, reading English."""
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(operator)
    return client


def _count_queries(client, path) -> int:
    client.get(path)  # warm up one-off lookups (content types, session)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


# --- agencies ------------------------------------------------------------------------------------


def test_operator_sees_the_agency_list(ops_client, agency, other_agency):
    response = ops_client.get("/admin/agencies/agency/")
    assert response.status_code == 200
    assert "安和婚恋" in response.text
    assert "月老婚介" in response.text
    assert {a.slug for a in response.context["cl"].result_list} == {"anhe", "yuelao"}


def test_operator_sees_the_admin_index_on_any_platform_host(operator):
    for host in ("localhost", "127.0.0.1"):
        client = Client(HTTP_HOST=host)
        client.force_login(operator)
        response = client.get("/admin/")
        assert response.status_code == 200, host
        assert "/admin/agencies/agency/" in response.text


def test_operator_can_search_agencies_by_custom_domain(ops_client, agency, other_agency):
    other_agency.domains.create(host="crm.yuelao.cn")
    response = ops_client.get("/admin/agencies/agency/?q=crm.yuelao")
    assert [a.slug for a in response.context["cl"].result_list] == ["yuelao"]


def test_agency_changelist_query_count_does_not_grow_with_agencies(ops_client, agency, django_assert_max_num_queries):
    baseline = _count_queries(ops_client, "/admin/agencies/agency/")
    for i in range(10):
        AgencyFactory(slug=f"agency-{i:02d}", name=f"红娘之家 {i}")
    with django_assert_max_num_queries(baseline):
        response = ops_client.get("/admin/agencies/agency/")
    assert response.context["cl"].result_count == 11


def test_suspend_action_suspends_the_agency_and_its_site_answers_503(ops_client, agency, other_agency):
    assert agency_client(agency).get("/").status_code == 200
    response = ops_client.post(
        "/admin/agencies/agency/", {"action": "suspend", "_selected_action": [agency.pk], "index": 0}
    )
    assert response.status_code == 302
    agency.refresh_from_db()
    other_agency.refresh_from_db()
    assert agency.status == Agency.Status.SUSPENDED
    assert other_agency.status == Agency.Status.ACTIVE
    assert "1 agency updated." in ops_client.get("/admin/agencies/agency/").text

    public = agency_client(agency).get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert public.status_code == 503
    assert "安和婚恋 is currently suspended" in public.text
    assert Client(HTTP_HOST="localhost").get("/a/anhe/").status_code == 503
    assert agency_client(other_agency).get("/").status_code == 200


def test_activate_action_brings_a_suspended_agency_back(ops_client, agency):
    agency.status = Agency.Status.SUSPENDED
    agency.save()
    ops_client.post("/admin/agencies/agency/", {"action": "activate", "_selected_action": [agency.pk], "index": 0})
    agency.refresh_from_db()
    assert agency.status == Agency.Status.ACTIVE
    assert agency_client(agency).get("/").status_code == 200


def test_suspended_agency_staff_cannot_reach_the_back_office(ops_client, agency, site_admin):
    staff = agency_client(agency, site_admin)
    assert staff.get("/staff/").status_code == 200
    ops_client.post("/admin/agencies/agency/", {"action": "suspend", "_selected_action": [agency.pk], "index": 0})
    assert staff.get("/staff/").status_code == 503
    assert staff.get("/staff/settings/site/").status_code == 503


def _agency_add_form(**fields):
    return {
        "slug": "hongniang",
        "name": "红娘在线",
        "status": "active",
        "timezone": "Asia/Shanghai",
        "domains-TOTAL_FORMS": "0",
        "domains-INITIAL_FORMS": "0",
        "domains-MIN_NUM_FORMS": "0",
        "domains-MAX_NUM_FORMS": "1000",
        **fields,
    }


def test_creating_an_agency_in_the_admin_creates_its_site_settings(ops_client):
    response = ops_client.post("/admin/agencies/agency/add/", _agency_add_form())
    assert response.status_code == 302, response.context["errors"] if response.context else response
    agency = Agency.objects.get(slug="hongniang")
    site = SiteSettings.unscoped.get(agency=agency)
    assert site.site_name == "红娘在线"
    # The new agency's public site works straight away.
    home = agency_client(agency).get("/")
    assert home.status_code == 200
    assert "红娘在线" in home.text


def test_creating_an_agency_with_a_custom_domain_in_the_admin(ops_client):
    data = _agency_add_form(**{"domains-TOTAL_FORMS": "1", "domains-0-host": "crm.hongniang.cn"})
    assert ops_client.post("/admin/agencies/agency/add/", data).status_code == 302
    response = Client(HTTP_HOST="crm.hongniang.cn").get("/")
    assert response.status_code == 200
    assert response.context["agency"].slug == "hongniang"


@pytest.mark.parametrize(
    ("slug", "message"),
    [("Bad_Slug", "Use 3-40 lower-case letters"), ("ab", "Use 3-40 lower-case letters"), ("anhe", "already exists")],
)
def test_creating_an_agency_with_a_bad_slug_is_refused(ops_client, agency, slug, message):
    response = ops_client.post("/admin/agencies/agency/add/", _agency_add_form(slug=slug))
    assert response.status_code == 200
    assert message in response.text
    assert not Agency.objects.filter(name="红娘在线").exists()


@pytest.mark.parametrize("slug", ["admin", "www", "static"])
def test_creating_an_agency_with_a_reserved_slug_is_refused(ops_client, slug):
    """apps.agencies.models.RESERVED_SLUGS names slugs no agency may take."""
    response = ops_client.post("/admin/agencies/agency/add/", _agency_add_form(slug=slug))
    assert response.status_code == 200, f"the reserved slug {slug!r} was accepted"
    assert not Agency.objects.filter(slug=slug).exists()


# --- accounts ------------------------------------------------------------------------------------


def test_operator_can_filter_users_by_agency(ops_client, agency, other_agency, operator):
    UserFactory(agency=agency, username="mei")
    UserFactory(agency=agency, username="lan")
    UserFactory(agency=other_agency, username="mei")
    UserFactory(agency=other_agency, username="zhu")

    response = ops_client.get(f"/admin/matchmakers/user/?agency__id__exact={agency.pk}")
    assert response.status_code == 200
    listed = response.context["cl"].result_list
    assert sorted((u.agency_id, u.username) for u in listed) == [(agency.pk, "lan"), (agency.pk, "mei")]
    assert "zhu" not in response.text

    everyone = ops_client.get("/admin/matchmakers/user/").context["cl"].result_list
    assert {u.username for u in everyone} == {"mei", "lan", "zhu", "ops"}


def test_user_changelist_query_count_does_not_grow_with_users(
    ops_client, agency, other_agency, django_assert_max_num_queries
):
    UserFactory(agency=agency, username="first")
    baseline = _count_queries(ops_client, "/admin/matchmakers/user/")
    for i in range(10):
        UserFactory(agency=agency if i % 2 else other_agency, username=f"staff-{i}")
    with django_assert_max_num_queries(baseline):
        response = ops_client.get("/admin/matchmakers/user/")
    assert response.context["cl"].result_count == 12  # 11 staff and the operator


def test_user_changelist_filtered_query_count_does_not_grow_with_users(
    ops_client, agency, django_assert_max_num_queries
):
    path = f"/admin/matchmakers/user/?agency__id__exact={agency.pk}"
    UserFactory(agency=agency, username="first")
    baseline = _count_queries(ops_client, path)
    for i in range(10):
        UserFactory(agency=agency, username=f"staff-{i}")
    with django_assert_max_num_queries(baseline):
        assert ops_client.get(path).context["cl"].result_count == 11


def test_operator_can_create_an_agency_user_whose_name_exists_in_another_agency(ops_client, agency, other_agency):
    UserFactory(agency=other_agency, username="mei")
    response = ops_client.post(
        "/admin/matchmakers/user/add/",
        {
            "agency": agency.pk,
            "username": "mei",
            "name": "王美",
            "email": "mei@example.com",
            "password1": "Blue-Lantern-Harbor-77",
            "password2": "Blue-Lantern-Harbor-77",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    created = User.objects.get(agency=agency, username="mei")
    assert created.check_password("Blue-Lantern-Harbor-77")
    assert not created.is_staff


def test_admin_refuses_a_duplicate_username_within_one_agency(ops_client, agency):
    UserFactory(agency=agency, username="mei")
    response = ops_client.post(
        "/admin/matchmakers/user/add/",
        {
            "agency": agency.pk,
            "username": "mei",
            "password1": "Blue-Lantern-Harbor-77",
            "password2": "Blue-Lantern-Harbor-77",
            "usable_password": "true",
        },
    )
    assert response.status_code == 200
    assert User.objects.filter(agency=agency, username="mei").count() == 1


def test_admin_refuses_to_make_an_agency_user_a_platform_operator(ops_client, agency):
    """The change form must answer with an error, not a database crash (the CheckConstraint)."""
    mei = UserFactory(agency=agency, username="mei")
    ops_client.raise_request_exception = False  # a crash must show up as a 500, not abort the test
    response = ops_client.post(
        f"/admin/matchmakers/user/{mei.pk}/change/",
        {
            "name": "王美",
            "email": "mei@example.com",
            "phone": "",
            "is_active": "on",
            "is_staff": "on",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2025-01-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 200, f"the admin answered {response.status_code} instead of a form error"
    mei.refresh_from_db()
    assert mei.is_staff is False


# --- who may enter -------------------------------------------------------------------------------


def test_agency_user_is_redirected_to_the_admin_login(agency, site_admin):
    client = Client(HTTP_HOST="localhost")
    client.force_login(site_admin)
    for path in ("/admin/", "/admin/agencies/agency/", "/admin/matchmakers/user/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == f"/admin/login/?next={path}"


def test_agency_user_logged_in_on_the_agency_cannot_use_the_admin(agency, site_admin):
    client = Client(HTTP_HOST="localhost")
    response = client.post("/a/anhe/staff/login/", {"username": "admin", "password": PASSWORD})
    assert response["Location"] == "/a/anhe/staff/"
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"
    response = client.post(
        "/admin/agencies/agency/", {"action": "suspend", "_selected_action": [agency.pk], "index": 0}
    )
    assert response.status_code == 302
    agency.refresh_from_db()
    assert agency.status == Agency.Status.ACTIVE


def test_anonymous_visitor_is_redirected_to_the_admin_login(agency):
    response = Client(HTTP_HOST="localhost").get("/admin/agencies/agency/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/agencies/agency/"


def test_platform_user_who_is_not_staff_is_redirected_to_the_admin_login(db):
    user = UserFactory(agency=None, username="viewer", is_staff=False)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"
