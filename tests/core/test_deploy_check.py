"""`manage.py check --deploy` is clean under production settings (HTTPS, DEBUG off, a real secret key)."""

import os
import secrets
import subprocess
import sys

from django.conf import settings


def test_check_deploy_is_clean_under_production_settings():
    env = {**os.environ, "HTTPS": "1", "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(64)}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # the browser tests' process sets it; a deployment never does
    result = subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
