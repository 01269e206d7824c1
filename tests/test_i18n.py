"""The interface is complete in both languages: Chinese by default, English as the source."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def _translations(catalog):
    return {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0, "") for e in catalog if not e.obsolete}


def test_every_chinese_message_is_translated():
    po = polib.pofile(str(PO))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert untranslated == []
    assert fuzzy == []


def test_compiled_catalog_matches_the_po_file():
    """django.mo is committed (no gettext needed to run); it must be compiled from the current .po."""
    assert _translations(polib.mofile(str(MO))) == _translations(polib.pofile(str(PO)))


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="xgettext (gettext) not installed; CI installs it")
def test_every_interface_string_is_in_the_catalog():
    """makemessages finds no string missing from the .po (it is restored byte for byte afterwards)."""
    original = PO.read_bytes()
    try:
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-location",
             "--ignore=.venv", "--ignore=static", "--ignore=var", "--ignore=tests", "--ignore=scripts"],
            cwd=ROOT, check=True, capture_output=True,
        )
        # (context, msgid): the same English word may need different Chinese in different places.
        extracted = {(e.msgctxt, e.msgid) for e in polib.pofile(str(PO)) if not e.obsolete}
    finally:
        PO.write_bytes(original)
    known = {(e.msgctxt, e.msgid) for e in polib.pofile(str(PO)) if not e.obsolete and e.translated()}
    assert sorted(extracted - known) == []


@pytest.mark.django_db
def test_pages_default_to_chinese_and_switch_to_english(agency):
    client = Client(HTTP_HOST="anhe.localhost")
    assert "员工登录" in client.get("/staff/login/").text
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/staff/login/"})
    assert response.status_code == 302
    assert "Staff login" in client.get("/staff/login/").text
