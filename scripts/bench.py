"""`make bench`: run the benchmarks on a scratch database of their own, one JSON object per line.

The database (`matchcrm_bench`, or BENCH_DB_NAME) lives on the server the tests would use
(DATABASE_URL's server, else 127.0.0.1:5432 when it answers, else the embedded one; Redis the same
way, see scripts/dev.py). It is built once: migrated, then seeded with BENCH_MEMBERS (200,000)
members in the agency `bench`, a year of sales with BENCH_PAYMENTS (100,000) confirmed payments and
a year of service activity (follow-ups, recommendations, appointments, successes).
Later runs reuse it while its fingerprint holds: a hash of the project's migration files, of the
seed commands and of the seeded sizes, plus the list of applied migrations (which catches
third-party migrations). Both live in a `bench_fingerprint` table of the bench database; when
either changes the database is dropped and rebuilt. A reused database gets the sales days that
have ended since rolled up, as the nightly job would.

stdout carries only the JSON lines of `manage.py bench`; progress goes to stderr.
`--only NAME` (or ONLY=NAME in the environment, as `make bench ONLY=members` passes it) runs one bench.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import dev

ROOT = dev.ROOT
PYTHON = dev.PYTHON
BENCH_DB = os.environ.get("BENCH_DB_NAME", "matchcrm_bench")
BENCH_AGENCY = "bench"
BENCH_MEMBERS = int(os.environ.get("BENCH_MEMBERS", "200000"))
BENCH_PAYMENTS = int(os.environ.get("BENCH_PAYMENTS", "100000"))
BENCH_SEED = 1
SEED_COMMANDS = [
    ROOT / "apps" / "members" / "management" / "commands" / "seed_members.py",
    ROOT / "apps" / "finance" / "management" / "commands" / "seed_finance.py",
    ROOT / "apps" / "reports" / "management" / "commands" / "seed_activity.py",
    ROOT / "apps" / "core" / "seeding.py",
]


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def connect(url: str, **kwargs):
    import psycopg  # noqa: PLC0415 - from the venv; dev.py's imports stay standard-library only

    return psycopg.connect(url, **kwargs)


def files_fingerprint() -> str:
    """What the seeded data depends on in this checkout: the project's migrations and the seed commands."""
    digest = hashlib.sha256(f"{BENCH_AGENCY}:{BENCH_MEMBERS}:{BENCH_PAYMENTS}:{BENCH_SEED}".encode())
    for path in [*sorted(ROOT.glob("apps/*/migrations/*.py")), *SEED_COMMANDS]:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def applied_fingerprint(url: str) -> str:
    with connect(url) as conn:
        rows = conn.execute("SELECT app, name FROM django_migrations ORDER BY app, name").fetchall()
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def stored_fingerprint(url: str) -> tuple[str, str] | None:
    """(files, applied) recorded after the last complete seeding; None when there is none."""
    import psycopg  # noqa: PLC0415

    try:
        with connect(url) as conn:
            row = conn.execute(
                "SELECT files, applied FROM bench_fingerprint"
                " WHERE EXISTS (SELECT 1 FROM agencies_agency WHERE slug = %s)",
                [BENCH_AGENCY],
            ).fetchone()
    except psycopg.Error:  # no database, no table, no agencies table: nothing usable
        return None
    return tuple(row) if row else None


def store_fingerprint(url: str, files: str, applied: str, seconds: float) -> None:
    with connect(url) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_fingerprint"
            " (files text NOT NULL, applied text NOT NULL, members integer NOT NULL,"
            " seed_seconds double precision NOT NULL, seeded_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute("DELETE FROM bench_fingerprint")
        conn.execute(
            "INSERT INTO bench_fingerprint (files, applied, members, seed_seconds) VALUES (%s, %s, %s, %s)",
            [files, applied, BENCH_MEMBERS, seconds],
        )


def recreate_database(server_url: str) -> None:
    """Drop and create the bench database, through the server's maintenance database."""
    with connect(with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def database_exists(server_url: str) -> bool:
    with connect(with_database(server_url, "postgres")) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone() is not None


def manage(env: dict, *args: str, capture: bool = False) -> subprocess.CompletedProcess:
    """manage.py in the bench environment; its output goes to stderr unless captured."""
    return subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else sys.stderr,
    )


def rebuild(env: dict, server_url: str, files: str) -> None:
    log(f"building {BENCH_DB}: migrate, then seed {BENCH_MEMBERS:,} members in agency {BENCH_AGENCY!r}")
    recreate_database(server_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    started = time.monotonic()
    manage(
        env, "seed_members", "--agency", BENCH_AGENCY, "--create", "--count", str(BENCH_MEMBERS),
        "--seed", str(BENCH_SEED),
    )  # fmt: skip
    seconds = time.monotonic() - started
    log(f"seeded {BENCH_MEMBERS:,} members in {seconds:.1f} s (seed_members process, including Django start-up)")
    started = time.monotonic()
    manage(
        env, "seed_finance", "--agency", BENCH_AGENCY, "--payments", str(BENCH_PAYMENTS),
        "--contracts", str(max(1, BENCH_PAYMENTS // 5)), "--seed", str(BENCH_SEED),
    )  # fmt: skip
    log(f"seeded {BENCH_PAYMENTS:,} payments in {time.monotonic() - started:.1f} s (seed_finance, with the roll-up)")
    seconds += time.monotonic() - started
    started = time.monotonic()
    manage(env, "seed_activity", "--agency", BENCH_AGENCY, "--seed", str(BENCH_SEED))
    log(f"seeded a year of service activity in {time.monotonic() - started:.1f} s (seed_activity, with the roll-up)")
    seconds += time.monotonic() - started
    # What autovacuum does soon after a bulk load: statistics, and the visibility map that lets the
    # match engine answer from its covering index alone (index-only scans).
    with connect(env["DATABASE_URL"], autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE)")
    log("vacuumed and analysed")
    store_fingerprint(env["DATABASE_URL"], files, applied_fingerprint(env["DATABASE_URL"]), seconds)


def prepare(env: dict, server_url: str) -> None:
    """Make the bench database current: reuse it when its fingerprint holds, rebuild it otherwise."""
    url = env["DATABASE_URL"]
    files = files_fingerprint()
    stored = stored_fingerprint(url) if database_exists(server_url) else None
    if stored is None or stored[0] != files:
        log("no seeded bench database for this schema" if stored is None else "migrations or seed code changed")
        rebuild(env, server_url, files)
        return
    manage(env, "migrate", "--noinput", "-v", "0")
    if applied_fingerprint(url) != stored[1]:
        log("new migrations were applied")
        rebuild(env, server_url, files)
        return
    log(f"reusing {BENCH_DB} (schema unchanged)")
    # Seeds nothing again; rolls up the days that have ended since, as the nightly job would.
    manage(env, "seed_finance", "--agency", BENCH_AGENCY)
    manage(env, "seed_activity", "--agency", BENCH_AGENCY)


def run_benches(env: dict, only: str) -> int:
    args = ["bench", only] if only else ["bench", "--all"]
    log("$ manage.py " + " ".join([*args, "--json", "--agency", BENCH_AGENCY]))
    result = manage(env, *args, "--json", "--agency", BENCH_AGENCY, capture=True)
    for line in result.stdout.splitlines():
        try:
            json.loads(line)
        except ValueError:
            print(line, file=sys.stderr)
        else:
            print(line, flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=os.environ.get("ONLY", ""), help="run this bench only (e.g. members)")
    args = parser.parse_args()
    services = dev.Services()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # dev.py reports progress on stdout
            env = dev.configure(
                services,
                probe_local=True,
                redis_port=int(os.environ.get("EMBEDDED_REDIS_PORT", "6382")),
                persist=False,
            )
        server_url = env["DATABASE_URL"]
        env["DATABASE_URL"] = with_database(server_url, BENCH_DB)
        env["CACHE_KEY_PREFIX"] = f"{BENCH_DB}-"
        env["DEBUG"] = "0"  # time what production runs, without debug bookkeeping
        log(f"bench database: {env['DATABASE_URL']}")
        prepare(env, server_url)
        return run_benches(env, args.only.strip())
    except subprocess.CalledProcessError as error:
        log(f"failed: {' '.join(map(str, error.cmd[1:]))} exited with {error.returncode}")
        return error.returncode or 1
    finally:
        with contextlib.redirect_stdout(sys.stderr):
            services.stop()


if __name__ == "__main__":
    sys.exit(main())
