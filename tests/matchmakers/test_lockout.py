"""Lock-out after repeated failed staff log-ins (django-axes), per account (agency + user name) and per address."""

import pytest
from axes.models import AccessAttempt

from tests.conftest import agency_client
from tests.matchmakers.factories import PASSWORD, UserFactory, root_role

pytestmark = pytest.mark.django_db

LOGIN = "/staff/login/"


def _try(client, username, password, ip="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip,
                       HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip


def test_five_failures_lock_the_account_even_with_the_right_password(agency, other_agency, settings):
    settings.AXES_FAILURE_LIMIT = 5
    UserFactory(agency=agency, username="boss", role=root_role(agency))
    namesake = UserFactory(agency=other_agency, username="boss", role=root_role(other_agency))
    client = agency_client(agency)
    for attempt in range(4):
        response = _try(client, "boss", "wrong", ip=f"10.0.0.{attempt}")
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    locked = _try(client, "boss", "wrong", ip="10.0.0.9")
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.text
    right = _try(client, "boss", PASSWORD, ip="10.0.0.77")  # another address, the right password: still locked
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username=f"{agency.slug}:boss").exists()

    # The same user name in another agency is another account.
    other = agency_client(other_agency)
    response = _try(other, "boss", PASSWORD, ip="10.0.1.1")
    assert response.status_code == 302 and other.session["_auth_user_id"] == str(namesake.pk)


def test_five_failures_from_one_address_lock_that_address(agency, settings):
    settings.AXES_FAILURE_LIMIT = 5
    UserFactory(agency=agency, username="finance", perms=["matchmakers.view_members"])
    client = agency_client(agency)
    for index in range(5):
        _try(client, f"guess{index}", "wrong", ip="203.0.113.5")
    assert _try(client, "finance", PASSWORD, ip="203.0.113.5").status_code == 429
    assert _try(client, "finance", PASSWORD, ip="198.51.100.7").status_code == 302  # elsewhere it works


def test_a_success_clears_the_count(agency, settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(agency=agency, username="boss", role=root_role(agency))
    client = agency_client(agency)
    _try(client, "boss", "wrong")
    _try(client, "boss", "wrong")
    assert _try(client, "boss", PASSWORD).status_code == 302
    client.post("/staff/logout/")
    _try(client, "boss", "wrong")
    _try(client, "boss", "wrong")
    assert _try(client, "boss", PASSWORD).status_code == 302
