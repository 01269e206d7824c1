"""The OElove tests read a real MariaDB: 127.0.0.1:3306 as root with no password (OELOVE_TEST_HOST /
OELOVE_TEST_PORT override it). Each test session (each xdist worker) creates its own database,
oelove_test_<worker>_<random>, and drops it at the end; each test starts from freshly created tables.
The random part keeps two test runs on one machine (a developer's and CI's) out of each other's way.

Without a reachable MariaDB the tests that need it are skipped, except under CI, where they fail loudly.
"""

import os
import uuid

import pymysql
import pytest

from apps.agencies.context import agency_context
from apps.integrations.models import OeloveSource
from apps.integrations.services import oelove_sync_run

from .oelove_data import create_schema

HOST = os.environ.get("OELOVE_TEST_HOST", "127.0.0.1")
PORT = int(os.environ.get("OELOVE_TEST_PORT", "3306"))
USER = "root"
NEEDS_MARIADB = "oelove_db"


def mariadb_connect(database: str | None = None, **kwargs):
    return pymysql.connect(host=HOST, port=PORT, user=USER, password="", database=database, charset="utf8mb4",
                           autocommit=True, local_infile=True, connect_timeout=3, **kwargs)  # fmt: skip


def _unreachable_reason() -> str | None:
    try:
        mariadb_connect().close()
    except pymysql.MySQLError as error:
        return f"no MariaDB at {HOST}:{PORT} ({error}): OElove sync tests skipped (CI runs them)"
    return None


def pytest_collection_modifyitems(config, items):
    wanting = [item for item in items if NEEDS_MARIADB in getattr(item, "fixturenames", ())]
    if not wanting or os.environ.get("CI"):
        return  # CI always runs them: a missing MariaDB fails loudly instead of skipping
    reason = _unreachable_reason()
    if reason:
        for item in wanting:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def oelove_database(worker_id):
    name = f"oelove_test_{worker_id}_{uuid.uuid4().hex[:8]}"
    server = mariadb_connect()
    with server.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8")
    yield name
    with server.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    server.close()


@pytest.fixture
def oelove_db(oelove_database):
    """A connection to this session's OElove database, with every table freshly created and empty."""
    connection = mariadb_connect(oelove_database)
    create_schema(connection)
    yield connection
    connection.close()


@pytest.fixture
def source(agency, oelove_db, oelove_database):
    return OeloveSource.unscoped.create(agency=agency, host=HOST, port=PORT, database=oelove_database, user=USER)


@pytest.fixture(autouse=True)
def _small_batches(settings):
    """Small batches, so a few dozen users already take several batches (and checkpoints)."""
    settings.OELOVE_SYNC_BATCH_SIZE = 20
    settings.OELOVE_SYNC_ACTIVITY_BATCH_SIZE = 100


def sync(agency):
    run = oelove_sync_run(agency=agency)
    run.refresh_from_db()
    return run


def in_agency(agency):
    return agency_context(agency)
