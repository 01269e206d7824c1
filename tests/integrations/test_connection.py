"""The connection test of the OElove settings (F-H2): every problem is a clear sentence, never an error page."""

import pytest
from django.utils import translation

from apps.integrations.models import OeloveSource
from apps.integrations.services import oelove_connection_test

from .conftest import HOST, PORT
from .oelove_data import generate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _source(database, **changes):
    values = {"host": HOST, "port": PORT, "database": database, "user": "root", "password": "", **changes}
    return OeloveSource(**values)


def test_a_working_site_reports_its_user_count(oelove_db, oelove_database):
    generate(oelove_db, users=7, activity=0)
    ok, message = oelove_connection_test(source=_source(oelove_database))
    assert ok
    assert "7 users" in message


def test_an_unreachable_port_says_so(oelove_db, oelove_database):
    ok, message = oelove_connection_test(source=_source(oelove_database, port=1))
    assert not ok
    assert message == f"Cannot reach {HOST} on port 1: check the host, the port and the firewall."


def test_a_wrong_password_says_the_credentials_were_refused(oelove_db, oelove_database):
    ok, message = oelove_connection_test(source=_source(oelove_database, password="not-the-password"))
    assert not ok
    assert message == "The server refused the user name or password (user “root”)."


def test_an_unknown_database_is_named(oelove_db):
    ok, message = oelove_connection_test(source=_source("no_such_oelove"))
    assert not ok
    assert message == "The server has no database named “no_such_oelove”."


def test_missing_tables_are_listed(oelove_db, oelove_database):
    with oelove_db.cursor() as cursor:
        cursor.execute("DROP TABLE oepre_hibox")
        cursor.execute("DROP TABLE oepre_user_cond")
    ok, message = oelove_connection_test(source=_source(oelove_database))
    assert not ok
    assert "oepre_user_cond, oepre_hibox" in message


def test_a_wrong_prefix_lists_every_table_as_missing(oelove_db, oelove_database):
    ok, message = oelove_connection_test(source=_source(oelove_database, table_prefix="oe_"))
    assert not ok
    assert "oe_user, oe_user_profile" in message
