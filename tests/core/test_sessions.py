"""Idle sessions end (staff and members); passwords are hashed with Argon2 and old hashes upgrade."""

import time

import pytest
from django.contrib.auth.hashers import make_password

from apps.core.middleware import LAST_SEEN
from matchcrm import settings as project_settings
from tests.conftest import agency_client
from tests.matching.factories import person
from tests.matchmakers.factories import PASSWORD, UserFactory, root_role
from tests.portal.factories import member_client

pytestmark = pytest.mark.django_db


def _idle_for(client, seconds: int) -> None:
    session = client.session
    session[LAST_SEEN] = int(time.time()) - seconds
    session.save()


def test_a_staff_session_unused_past_the_limit_ends_and_the_login_page_says_why(agency, settings):
    settings.SESSION_IDLE_SECONDS = 1800
    client = agency_client(agency, UserFactory(agency=agency, username="boss", role=root_role(agency)))
    assert client.get("/staff/").status_code == 200
    assert LAST_SEEN in client.session

    _idle_for(client, 1700)  # a pause shorter than the limit: still in, and the clock restarts
    assert client.get("/staff/").status_code == 200
    assert time.time() - client.session[LAST_SEEN] < 5

    _idle_for(client, 1801)
    response = client.get("/staff/")
    assert response.status_code == 302 and response["Location"].startswith("/staff/login/")
    assert "_auth_user_id" not in client.session
    login = client.get("/staff/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert "You were logged out after a while without activity." in login.text
    assert "idle-ended" not in client.get("/staff/login/").text  # said once


def test_a_member_session_unused_past_the_limit_ends(agency, settings):
    settings.SESSION_IDLE_SECONDS = 600
    client = member_client(agency, person(agency, name="周杰"))
    assert client.get("/portal/").status_code == 200
    _idle_for(client, 601)
    response = client.get("/portal/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_anonymous_visitors_get_no_session_writes(agency):
    client = agency_client(agency)
    client.get("/")
    assert LAST_SEEN not in client.session


def test_new_passwords_are_argon2_and_old_pbkdf2_hashes_upgrade_on_use(agency, settings):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    user = UserFactory(agency=agency, username="finance")
    user.set_password(PASSWORD)
    user.save()
    assert user.password.startswith("argon2$argon2id$")

    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save()
    assert user.check_password(PASSWORD)
    user.refresh_from_db()
    assert user.password.startswith("argon2$")
    assert not user.check_password("wrong-password")
