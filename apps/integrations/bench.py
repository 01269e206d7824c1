"""The OElove bench (`manage.py bench oelove`): first import and unchanged re-run of a big OElove site.

It needs a MariaDB/MySQL server (OELOVE_BENCH_HOST / OELOVE_BENCH_PORT, default 127.0.0.1:3306 as
root with no password; OELOVE_BENCH_USER / OELOVE_BENCH_PASSWORD otherwise). There it builds the
database `oelove_bench` with OELOVE_BENCH_USERS (100,000) users and OELOVE_BENCH_ACTIVITY (1,000,000)
activity rows from the test generator (2 % dirty users), and keeps it between runs while the
generator, the schema and the sizes are unchanged (a fingerprint table in that database). Then, in
the agency `oelove-bench` (emptied of everything the sync wrote before), it times the first import
and an unchanged re-run. Without a reachable server the bench reports why and measures nothing.
"""

import hashlib
import os
import time

import pymysql
from django.db import DatabaseError, connection, transaction

from apps.agencies.models import Agency
from apps.core.bench import register

from .models import OeloveSource
from .services import oelove_sync_run

BENCH_DATABASE = "oelove_bench"
BENCH_AGENCY = "oelove-bench"
SEED = 1
DIRTY = 0.02
# What the sync writes for an agency, children first (the matching triggers clean their own table).
SYNC_TABLES = ("integrations_syncskip", "integrations_syncconflict", "integrations_memberactivity",
               "integrations_viprecord", "integrations_oelovelink", "integrations_watermark", "integrations_syncrun",
               "members_partnerpreference", "members_member")  # fmt: skip


def _server() -> dict:
    return {
        "host": os.environ.get("OELOVE_BENCH_HOST", "127.0.0.1"),
        "port": int(os.environ.get("OELOVE_BENCH_PORT", "3306")),
        "user": os.environ.get("OELOVE_BENCH_USER", "root"),
        "password": os.environ.get("OELOVE_BENCH_PASSWORD", ""),
    }


def _fingerprint(users: int, activity: int) -> str:
    from tests.integrations import oelove_data  # noqa: PLC0415 - the generator is test tooling

    digest = hashlib.sha256(f"{users}:{activity}:{SEED}:{DIRTY}".encode())
    for path in (oelove_data.SCHEMA, oelove_data.__file__):
        digest.update(open(path, "rb").read())  # noqa: SIM115
    return digest.hexdigest()


def _prepare_site(server: dict, users: int, activity: int) -> float | None:
    """Build the bench site database unless its fingerprint holds; seconds spent building, None if reused."""
    from tests.integrations import oelove_data  # noqa: PLC0415

    fingerprint = _fingerprint(users, activity)
    admin = pymysql.connect(**server, charset="utf8mb4", autocommit=True, local_infile=True)
    try:
        with admin.cursor() as cursor:
            try:
                cursor.execute(f"SELECT fingerprint FROM `{BENCH_DATABASE}`.bench_fingerprint")  # noqa: S608
                row = cursor.fetchone()
            except pymysql.MySQLError:
                row = None
            if row and row[0] == fingerprint:
                return None
            started = time.perf_counter()
            cursor.execute(f"DROP DATABASE IF EXISTS `{BENCH_DATABASE}`")
            cursor.execute(f"CREATE DATABASE `{BENCH_DATABASE}` CHARACTER SET utf8")
            cursor.execute(f"USE `{BENCH_DATABASE}`")
            oelove_data.create_schema(admin)
            oelove_data.generate(admin, users=users, activity=activity, dirty=DIRTY, seed=SEED)
            cursor.execute("CREATE TABLE bench_fingerprint (fingerprint varchar(64) NOT NULL)")
            cursor.execute("INSERT INTO bench_fingerprint VALUES (%s)", [fingerprint])
            return time.perf_counter() - started
    finally:
        admin.close()


def _empty_agency(agency: Agency) -> None:
    """Delete what the last bench run imported. Referential checks per deleted member would scan the
    big tables once per row (their indexes lead with agency_id), so when the role may, the deletes
    run with triggers off (session_replication_role = replica), the match profiles deleted by hand."""
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute("SET LOCAL session_replication_role = replica")
                for table in (*SYNC_TABLES, "matching_matchprofile"):
                    cursor.execute(f"DELETE FROM {table} WHERE agency_id = %s", [agency.pk])  # noqa: S608
        except DatabaseError:  # not a superuser: the slow, checked way
            for table in SYNC_TABLES:
                cursor.execute(f"DELETE FROM {table} WHERE agency_id = %s", [agency.pk])  # noqa: S608


@register("oelove")
def oelove(options: dict) -> dict:
    users = int(os.environ.get("OELOVE_BENCH_USERS", "100000"))
    activity = int(os.environ.get("OELOVE_BENCH_ACTIVITY", "1000000"))
    server = _server()
    try:
        pymysql.connect(**server, connect_timeout=3).close()
    except pymysql.MySQLError as error:
        return {"bench": "oelove", "skipped": f"no MariaDB/MySQL at {server['host']}:{server['port']}: {error}"}
    build_seconds = _prepare_site(server, users, activity)

    agency, _created = Agency.objects.get_or_create(slug=BENCH_AGENCY, defaults={"name": "OElove bench"})
    _empty_agency(agency)
    OeloveSource.unscoped.update_or_create(agency=agency, defaults={
        "host": server["host"], "port": server["port"], "user": server["user"], "password": server["password"],
        "database": BENCH_DATABASE,
    })  # fmt: skip

    started = time.perf_counter()
    first = oelove_sync_run(agency=agency)
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    rerun = oelove_sync_run(agency=agency)
    rerun_seconds = time.perf_counter() - started

    read = sum(values.get("read", 0) for values in first.counts.values())
    activity_read = read - first.counts.get("user", {}).get("read", 0)
    written = sum(values.get("created", 0) + values.get("merged", 0) for values in first.counts.values())
    return {
        "bench": "oelove",
        "users": first.counts.get("user", {}).get("read", 0),
        "activity_rows": activity_read,
        "first_import_s": round(first_seconds, 2),
        "import_rows_per_s": round(read / first_seconds),
        "rows_written": written,
        "first_status": first.status,
        "members_created": first.counts.get("user", {}).get("created", 0),
        "skipped": first.skip_count,
        "rerun_s": round(rerun_seconds, 2),
        "rerun_status": rerun.status,
        "rerun_unchanged": rerun.counts.get("user", {}).get("unchanged", 0),
        "rerun_written": sum(values.get("created", 0) + values.get("updated", 0) for values in rerun.counts.values()),
        "site_build_s": None if build_seconds is None else round(build_seconds, 1),
    }
