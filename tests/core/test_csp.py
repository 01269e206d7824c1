"""The Content-Security-Policy: scripts from the site's own files only, and no template needs more."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import agency_client
from tests.matchmakers.factories import UserFactory, root_role

TEMPLATES = Path(settings.BASE_DIR) / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"\son[a-z]+\s*=\s*['\"]", re.IGNORECASE)


def _templates():
    return sorted(TEMPLATES.rglob("*.html"))


def test_no_template_has_an_inline_script_an_event_handler_or_a_javascript_url():
    offenders = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, HANDLER, re.compile(r"javascript:", re.IGNORECASE)):
            offenders += [f"{path.relative_to(TEMPLATES)}: {match.group(0)}" for match in pattern.finditer(text)]
    assert len(_templates()) > 50
    assert offenders == []


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/staff/", "/staff/dashboards/", "/staff/login/", "/"])
def test_every_page_carries_the_policy(agency, url):
    admin = UserFactory(agency=agency, username="boss", role=root_role(agency))
    response = agency_client(agency, admin if url.startswith("/staff/") and "login" not in url else None).get(url)
    assert response.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";") if part.strip())
    assert policy["script-src"] == "'self'"
    assert "unsafe-inline" not in policy["script-src"] and "unsafe-eval" not in policy["script-src"]
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert not INLINE_SCRIPT.search(response.content.decode().replace('type="application/json"', 'src="json"'))
