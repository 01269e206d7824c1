"""The OElove back-office pages: settings with a connection test, run now, the run log, conflicts."""

import pytest
from django.urls import reverse

from apps.integrations.models import OeloveSource, SyncConflict, SyncRun, SyncSkip
from apps.members.models import Member
from tests.conftest import SITE_PERM
from tests.conftest import agency_client as _agency_client
from tests.matchmakers.factories import UserFactory

from .conftest import HOST, PORT
from .oelove_data import generate

pytestmark = pytest.mark.django_db


def agency_client(agency, user=None):
    client = _agency_client(agency, user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _form(database, **changes):
    return {"host": HOST, "port": PORT, "database": database, "user": "root", "password": "", "table_prefix": "oepre_",
            "enabled": "on", "action": "save", **changes}  # fmt: skip


def test_an_admin_saves_the_site_and_the_password_is_kept_encrypted(agency, site_admin, oelove_database):
    client = agency_client(agency, site_admin)
    assert client.get(reverse("integrations:oelove")).status_code == 200

    response = client.post(reverse("integrations:oelove"), _form(oelove_database, password="s3cret"))

    assert response.status_code == 302
    source = OeloveSource.unscoped.get(agency=agency)
    assert (source.database, source.password, source.enabled) == (oelove_database, "s3cret", True)
    client.post(reverse("integrations:oelove"), _form(oelove_database, table_prefix="oe_"))  # password left empty
    source.refresh_from_db()
    assert (source.table_prefix, source.password) == ("oe_", "s3cret")
    # Another port needs the password typed again (see the test below); with it, it is saved.
    assert client.post(reverse("integrations:oelove"), _form(oelove_database, port="3307")).status_code == 400
    client.post(reverse("integrations:oelove"), _form(oelove_database, port="3307", password="s3cret"))
    source.refresh_from_db()
    assert (source.port, source.password) == (3307, "s3cret")


def test_bad_input_gets_a_clear_message_and_saves_nothing(agency, site_admin):
    response = agency_client(agency, site_admin).post(
        reverse("integrations:oelove"), _form("oe", host="db host; drop", port="99999", table_prefix="oe-pre")
    )
    assert response.status_code == 400
    assert "Enter a host name or IP address" in response.text
    assert "Use at most 20 letters, digits or underscores" in response.text
    assert not OeloveSource.unscoped.filter(agency=agency).exists()


def test_the_connection_test_reports_problems_as_a_message(agency, site_admin, oelove_db, oelove_database):
    client = agency_client(agency, site_admin)
    response = client.post(reverse("integrations:oelove"), _form(oelove_database, port="1", action="test"))
    assert response.status_code == 400
    assert "Cannot reach" in response.text
    generate(oelove_db, users=3, activity=0)
    response = client.post(reverse("integrations:oelove"), _form(oelove_database, action="test"))
    assert response.status_code == 200
    assert "3 users" in response.text
    assert not OeloveSource.unscoped.filter(agency=agency).exists()  # a test saves nothing


def test_run_now_queues_the_sync(agency, site_admin, source, oelove_db, django_capture_on_commit_callbacks):
    generate(oelove_db, users=4, activity=20)
    with django_capture_on_commit_callbacks(execute=True):
        response = agency_client(agency, site_admin).post(reverse("integrations:run_now"))
    assert response.status_code == 302
    run = SyncRun.unscoped.get(agency=agency)
    assert (run.status, run.requested_by) == ("succeeded", site_admin)
    assert Member.unscoped.filter(agency=agency).count() == 4


def test_staff_without_the_settings_permission_are_refused(agency, plain_staff, source):
    client = agency_client(agency, plain_staff)
    run = SyncRun.unscoped.create(agency=agency, source=source)
    urls = [reverse("integrations:oelove"), reverse("integrations:runs"), reverse("integrations:run", args=[run.pk]),
            reverse("integrations:conflicts")]  # fmt: skip
    for url in urls:
        assert client.get(url).status_code == 403
    assert client.post(reverse("integrations:run_now")).status_code == 403


def test_another_agencys_runs_and_conflicts_are_not_found(agency, other_agency, site_admin, other_admin):
    theirs = OeloveSource.unscoped.create(agency=other_agency, host="10.0.0.9", database="oe", user="ro",
                                          password="their-secret")  # fmt: skip
    run = SyncRun.unscoped.create(agency=other_agency, source=theirs)
    conflict = SyncConflict.unscoped.create(agency=other_agency, source=theirs, oelove_userid=5, candidate_ids=[1, 2])
    client = agency_client(agency, site_admin)
    assert client.get(reverse("integrations:run", args=[run.pk])).status_code == 404
    assert client.post(reverse("integrations:conflict_resolve", args=[conflict.pk]),
                       {"action": "ignore"}).status_code == 404  # fmt: skip
    page = client.get(reverse("integrations:oelove"))
    assert "10.0.0.9" not in page.text
    assert client.get(reverse("integrations:runs")).context["page"].paginator.count == 0


def _runs(agency, source, count):
    for _n in range(count):
        run = SyncRun.unscoped.create(agency=agency, source=source, status="succeeded",
                                      counts={"user": {"read": 5, "created": 5}}, requested_by=None)  # fmt: skip
        SyncSkip.unscoped.create(agency=agency, run=run, table="user", source_id="1", reason="blocked")


def test_the_run_log_costs_the_same_queries_for_3_or_30_runs(agency, site_admin, source, django_assert_num_queries):
    client = agency_client(agency, site_admin)
    _runs(agency, source, 3)
    client.get(reverse("integrations:runs"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("integrations:runs")).status_code == 200
    _runs(agency, source, 27)
    with django_assert_num_queries(len(few)):
        response = client.get(reverse("integrations:runs"))
    assert len(response.context["runs"]) == 25


def test_a_runs_page_lists_counts_and_paginated_skips(agency, site_admin, source):
    run = SyncRun.unscoped.create(agency=agency, source=source, status="succeeded", skip_count=60,
                                  counts={"user": {"read": 80, "created": 20, "skipped": 60}})  # fmt: skip
    SyncSkip.unscoped.bulk_create([SyncSkip(agency=agency, run=run, table="user", source_id=str(n),
                                            reason=f"reason {n}") for n in range(60)])  # fmt: skip
    client = agency_client(agency, site_admin)
    first = client.get(reverse("integrations:run", args=[run.pk]))
    assert first.status_code == 200
    assert "reason 0" in first.text and "reason 55" not in first.text
    assert "reason 55" in client.get(reverse("integrations:run", args=[run.pk]) + "?page=2").text


def test_a_conflict_is_linked_to_the_chosen_member(agency, site_admin, source, oelove_db):
    one = Member.unscoped.create(agency=agency, member_no="M1", name="甲", gender="male", phone="13800000001")
    two = Member.unscoped.create(agency=agency, member_no="M2", name="乙", gender="male", phone="13800000002")
    conflict = SyncConflict.unscoped.create(agency=agency, source=source, oelove_userid=77, username="13800000001",
                                            candidate_ids=[one.pk, two.pk])  # fmt: skip
    client = agency_client(agency, site_admin)
    page = client.get(reverse("integrations:conflicts"))
    assert "甲" in page.text and "乙" in page.text
    # The site's user name is the mobile number: masked for a role that may not reveal contacts.
    assert "138****0001" in page.text and "13800000001" not in page.text
    revealer = UserFactory(agency=agency, username="boss", perms=["matchmakers.edit_settings",
                                                                  "matchmakers.reveal_contact"])  # fmt: skip
    assert "13800000001" in agency_client(agency, revealer).get(reverse("integrations:conflicts")).text

    client.post(reverse("integrations:conflict_resolve", args=[conflict.pk]), {"action": "link", "member": two.pk})

    conflict.refresh_from_db()
    assert (conflict.status, conflict.member) == ("linked", two)
    assert client.post(reverse("integrations:conflict_resolve", args=[conflict.pk]),
                       {"action": "ignore"}, follow=True).text.count("already decided") == 1  # fmt: skip


def test_a_member_outside_the_candidates_cannot_be_linked(agency, site_admin, source):
    stranger = Member.unscoped.create(agency=agency, member_no="M9", name="丙", gender="male", phone="13800000009")
    conflict = SyncConflict.unscoped.create(agency=agency, source=source, oelove_userid=78, candidate_ids=[1, 2])
    response = agency_client(agency, site_admin).post(
        reverse("integrations:conflict_resolve", args=[conflict.pk]),
        {"action": "link", "member": stranger.pk},
        follow=True,
    )
    assert "Choose one of the matching members." in response.text
    conflict.refresh_from_db()
    assert conflict.status == "open"


def test_the_settings_menu_links_to_the_sync(agency, site_admin):
    response = agency_client(agency, site_admin).get(reverse("integrations:oelove"))
    assert reverse("integrations:oelove") in response.text
    assert SITE_PERM == "matchmakers.edit_settings"


def test_the_stored_password_is_never_sent_to_another_server(agency, oelove_database):
    """Changing the host (or port, database, user) needs the password typed again, for a test or a save."""
    from django.urls import reverse

    from apps.integrations.models import OeloveSource
    from tests.conftest import agency_client
    from tests.matchmakers.factories import UserFactory, root_role

    from .conftest import HOST, PORT

    OeloveSource.unscoped.create(agency=agency, host=HOST, port=PORT, database=oelove_database, user="root",
                                 password="s3cret")  # fmt: skip
    admin = agency_client(agency, UserFactory(agency=agency, username="boss", role=root_role(agency)))
    moved = {"host": "203.0.113.7", "port": PORT, "database": oelove_database, "user": "root", "password": "",
             "table_prefix": "oepre_", "enabled": "on"}  # fmt: skip
    for action in ("test", "save"):
        response = admin.post(reverse("integrations:oelove"), {**moved, "action": action}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400
        assert "Type the password again" in response.content.decode()
    stored = OeloveSource.unscoped.get(agency=agency)
    assert (stored.host, stored.password) == (HOST, "s3cret")
