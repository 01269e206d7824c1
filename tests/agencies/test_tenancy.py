"""Tenant resolution (host, custom domain, /a/<slug>/ prefix) and the fail-closed tenant manager."""

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django_scopes import ScopeError

from apps.agencies.context import agency_context, current_agency
from apps.agencies.models import Agency, SiteSettings, TenantModel
from apps.agencies.services import agency_set_status
from tests.agencies.factories import AgencyDomainFactory
from tests.conftest import agency_client

pytestmark = pytest.mark.django_db


def test_agency_is_resolved_from_its_subdomain(agency, other_agency):
    response = Client(HTTP_HOST="anhe.localhost:8000").get("/")
    assert response.status_code == 200
    assert response.context["agency"] == agency
    assert "安和婚恋" in response.text
    assert "月老婚介" not in response.text


def test_agency_is_resolved_from_a_custom_domain(agency, other_agency):
    AgencyDomainFactory(agency=other_agency, host="crm.yuelao.cn")
    response = Client(HTTP_HOST="crm.yuelao.cn").get("/")
    assert response.status_code == 200
    assert response.context["agency"] == other_agency


def test_agency_is_resolved_from_the_path_prefix_on_a_platform_host(agency):
    response = Client(HTTP_HOST="127.0.0.1:8000").get("/a/anhe/")
    assert response.status_code == 200
    assert response.context["agency"] == agency


def test_links_keep_the_path_prefix(agency):
    response = Client(HTTP_HOST="localhost").get("/a/anhe/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/a/anhe/staff/login/?next=/a/anhe/staff/"
    login_page = Client(HTTP_HOST="localhost").get(response["Location"])
    assert 'action="/a/anhe/i18n/setlang/"' in login_page.text


def test_prefix_without_trailing_slash_redirects(agency):
    response = Client(HTTP_HOST="localhost").get("/a/anhe")
    assert response.status_code == 301
    assert response["Location"] == "/a/anhe/"


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("nosuch.localhost", "/"),  # unknown subdomain
        ("evil.example.com", "/"),  # unknown custom domain
        ("localhost", "/a/nosuch/"),  # unknown prefix
        ("deep.anhe.localhost", "/"),  # only one label under the base domain
    ],
)
def test_unknown_agency_addresses_answer_not_found(agency, host, path):
    response = Client(HTTP_HOST=host).get(path)
    assert response.status_code == 404
    assert "安和婚恋" not in response.text


def test_agency_hosts_cannot_reach_the_platform_admin(agency):
    assert agency_client(agency).get("/admin/").status_code == 404
    assert Client(HTTP_HOST="localhost").get("/a/anhe/admin/").status_code == 404


def test_platform_host_serves_the_admin_login_but_no_agency_page(agency):
    client = Client(HTTP_HOST="localhost")
    assert client.get("/admin/login/").status_code == 200
    assert client.get("/staff/login/").status_code == 404


def test_suspended_agency_shows_a_suspended_page_everywhere(agency):
    agency_set_status(agency=agency, status=Agency.Status.SUSPENDED)
    client = agency_client(agency)
    for path in ["/", "/staff/login/", "/staff/"]:
        response = client.get(path)
        assert response.status_code == 503
        assert "暂停" in response.text or "suspended" in response.text


def test_suspended_agency_page_in_english(agency):
    agency_set_status(agency=agency, status=Agency.Status.SUSPENDED)
    response = agency_client(agency).get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert "安和婚恋 is currently suspended" in response.text


def test_tenant_manager_fails_closed_without_an_agency(agency):
    with pytest.raises(ScopeError):
        list(SiteSettings.objects.all())
    with pytest.raises(ScopeError):
        SiteSettings.objects.filter(site_name="x").count()


def test_tenant_manager_only_returns_the_current_agencys_rows(agency, other_agency):
    with agency_context(agency):
        assert current_agency() == agency
        assert list(SiteSettings.objects.values_list("agency__slug", flat=True)) == ["anhe"]
    with agency_context(other_agency):
        assert list(SiteSettings.objects.values_list("agency__slug", flat=True)) == ["yuelao"]
    assert current_agency() is None
    assert SiteSettings.unscoped.count() == 2


def test_agency_context_refuses_no_agency():
    with pytest.raises(ValueError, match="saved agency"), agency_context(None):
        pass
    with pytest.raises(ValueError, match="saved agency"), agency_context(Agency(slug="unsaved")):
        pass


def test_every_tenant_model_is_keyed_by_agency_first():
    """Indexes and unique constraints start with agency_id (design.md § Tenancy)."""
    tenant_models = [m for m in apps.get_models() if issubclass(m, TenantModel)]
    assert tenant_models
    with connection.cursor() as cursor:
        for model in tenant_models:
            table = model._meta.db_table
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname <> %s",
                [table, f"{table}_pkey"],
            )
            for name, definition in cursor.fetchall():
                columns = definition.split("(", 1)[1]
                if columns.startswith("tree_id, lft)"):
                    continue  # django-mptt's own index; tree ids are unique across agencies
                if " USING gin " in definition:
                    # Array indexes: a GIN index can only lead with agency_id through btree_gin, which
                    # the embedded PostgreSQL lacks; queries AND it with the agency's btree index.
                    continue
                # A single-column index on agency_id itself (the FK index) also starts with it.
                assert columns.startswith("agency_id"), f"{table}.{name} does not start with agency_id"
            constraint_names = {c.name for c in model._meta.constraints}
            assert f"{model._meta.app_label}_{model._meta.model_name}_agency_id_uniq" in constraint_names
