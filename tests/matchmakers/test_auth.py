"""Staff authentication through the real forms: login within one agency, logout, password change,
the platform admin login, and the database rules on accounts."""

import re

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from apps.matchmakers.models import User
from tests.conftest import agency_client
from tests.matchmakers.factories import PASSWORD, PlatformOperatorFactory, UserFactory

pytestmark = pytest.mark.django_db

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def browser(host: str) -> Client:
    """A browser that must send the CSRF token like a real one, reading pages in English."""
    return Client(HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE="en", enforce_csrf_checks=True)


def submit(client: Client, path: str, data: dict):
    """GET the form at `path`, then POST `data` with the page's CSRF token."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    token = CSRF_RE.search(page.text)
    assert token, f"no CSRF token on {path}"
    return client.post(path, {**data, "csrfmiddlewaretoken": token[1]})


def log_in(client: Client, username: str, password: str = PASSWORD, prefix: str = ""):
    return submit(client, f"{prefix}/staff/login/", {"username": username, "password": password})


def session_user_id(client: Client):
    return client.session.get("_auth_user_id")


@pytest.fixture
def mei(agency):
    return UserFactory(agency=agency, username="mei", name="王美")


@pytest.fixture
def operator(db):
    return PlatformOperatorFactory(username="ops")


# --- login ---------------------------------------------------------------------------------------


def test_login_with_the_right_password_lands_on_the_workbench(mei):
    client = browser("anhe.localhost")
    response = log_in(client, "mei")
    assert response.status_code == 302
    assert response["Location"] == "/staff/"
    assert session_user_id(client) == str(mei.pk)
    workbench = client.get("/staff/")
    assert workbench.status_code == 200
    assert "Good day, 王美" in workbench.text
    mei.refresh_from_db()
    assert mei.last_login is not None


def test_login_under_the_path_prefix_lands_on_the_prefixed_workbench(mei):
    client = browser("localhost")
    response = log_in(client, "mei", prefix="/a/anhe")
    assert response.status_code == 302
    assert response["Location"] == "/a/anhe/staff/"
    assert client.get("/a/anhe/staff/").status_code == 200


def test_login_follows_a_safe_next_address(mei):
    client = browser("anhe.localhost")
    response = submit(
        client,
        "/staff/login/?next=/staff/password/",
        {"username": "mei", "password": PASSWORD, "next": "/staff/password/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/staff/password/"


def test_login_does_not_redirect_to_another_site(mei):
    client = browser("anhe.localhost")
    response = submit(
        client, "/staff/login/", {"username": "mei", "password": PASSWORD, "next": "https://evil.example.com/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/staff/"


def test_login_with_a_wrong_password_shows_a_clear_message_and_opens_no_session(mei):
    client = browser("anhe.localhost")
    response = log_in(client, "mei", "Wrong-Password-1")
    assert response.status_code == 200
    assert "The account or password is wrong. Check both and try again." in response.text
    assert session_user_id(client) is None
    assert client.get("/staff/").status_code == 302


def test_login_with_an_unknown_account_shows_the_same_message(mei):
    client = browser("anhe.localhost")
    response = log_in(client, "nobody")
    assert response.status_code == 200
    assert "The account or password is wrong. Check both and try again." in response.text
    assert session_user_id(client) is None


def test_login_message_is_in_chinese_by_default(mei):
    client = Client(HTTP_HOST="anhe.localhost")
    response = client.post("/staff/login/", {"username": "mei", "password": "Wrong-Password-1"})
    assert response.status_code == 200
    assert "账号或密码错误" in response.text


def test_login_with_empty_fields_asks_for_them(mei):
    client = browser("anhe.localhost")
    response = submit(client, "/staff/login/", {"username": "", "password": ""})
    assert response.status_code == 200
    assert "This field is required." in response.text
    assert session_user_id(client) is None


def test_login_form_refuses_a_post_without_csrf_token(mei):
    client = browser("anhe.localhost")
    response = client.post("/staff/login/", {"username": "mei", "password": PASSWORD})
    assert response.status_code == 403
    assert session_user_id(client) is None


def test_user_of_one_agency_cannot_log_in_on_another_agencys_host(mei, other_agency):
    client = browser("yuelao.localhost")
    response = log_in(client, "mei")
    assert response.status_code == 200
    assert "The account or password is wrong." in response.text
    assert session_user_id(client) is None


def test_user_of_one_agency_cannot_log_in_under_another_agencys_prefix(mei, other_agency):
    client = browser("localhost")
    response = log_in(client, "mei", prefix="/a/yuelao")
    assert response.status_code == 200
    assert "The account or password is wrong." in response.text
    assert session_user_id(client) is None
    assert client.get("/a/yuelao/staff/").status_code == 302


def test_session_opened_on_one_agency_is_anonymous_on_another_agency_of_the_same_host(mei, other_agency):
    client = browser("localhost")
    assert log_in(client, "mei", prefix="/a/anhe")["Location"] == "/a/anhe/staff/"
    assert client.get("/a/anhe/staff/").status_code == 200

    response = client.get("/a/yuelao/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/a/yuelao/staff/login/?next=/a/yuelao/staff/"
    # Nor does the other agency's login page treat the visitor as logged in.
    login_page = client.get("/a/yuelao/staff/login/")
    assert login_page.status_code == 200
    assert "王美" not in login_page.text
    assert "mei" not in login_page.text
    # The session still works where it was opened.
    assert client.get("/a/anhe/staff/").status_code == 200


def test_session_cookie_carried_to_another_agencys_host_is_anonymous(mei, other_agency):
    client = browser("anhe.localhost")
    log_in(client, "mei")
    response = client.get("/staff/", HTTP_HOST="yuelao.localhost")
    assert response.status_code == 302
    assert response["Location"] == "/staff/login/?next=/staff/"


def test_platform_operator_cannot_log_in_on_an_agency_host(agency, operator):
    client = browser("anhe.localhost")
    response = log_in(client, "ops")
    assert response.status_code == 200
    assert "The account or password is wrong." in response.text
    assert session_user_id(client) is None


def test_platform_operator_cannot_log_in_under_an_agency_prefix(agency, operator):
    client = browser("localhost")
    response = log_in(client, "ops", prefix="/a/anhe")
    assert response.status_code == 200
    assert session_user_id(client) is None


def test_agency_user_cannot_log_in_to_the_platform_admin(mei):
    client = browser("localhost")
    response = submit(client, "/admin/login/", {"username": "mei", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 200
    assert "Please enter the correct" in response.text
    assert session_user_id(client) is None
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"


def test_agency_user_session_does_not_open_the_platform_admin(mei):
    client = browser("localhost")
    log_in(client, "mei", prefix="/a/anhe")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"


def test_platform_operator_can_log_in_to_the_platform_admin(operator):
    client = browser("127.0.0.1")
    response = submit(client, "/admin/login/", {"username": "ops", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert session_user_id(client) == str(operator.pk)
    assert client.get("/admin/").status_code == 200


def test_platform_operator_session_is_anonymous_on_an_agency(agency, operator):
    client = browser("localhost")
    submit(client, "/admin/login/", {"username": "ops", "password": PASSWORD, "next": "/admin/"})
    assert client.get("/a/anhe/staff/")["Location"] == "/a/anhe/staff/login/?next=/a/anhe/staff/"


def test_inactive_user_is_refused(agency):
    UserFactory(agency=agency, username="left", is_active=False)
    client = browser("anhe.localhost")
    response = log_in(client, "left")
    assert response.status_code == 200
    assert "The account or password is wrong." in response.text
    assert session_user_id(client) is None


def test_user_deactivated_after_login_loses_the_session(mei):
    client = browser("anhe.localhost")
    log_in(client, "mei")
    User.objects.filter(pk=mei.pk).update(is_active=False)
    assert client.get("/staff/")["Location"] == "/staff/login/?next=/staff/"


def test_logged_in_user_opening_the_login_page_goes_to_the_workbench(mei):
    client = agency_client(mei.agency, mei)
    response = client.get("/staff/login/")
    assert response.status_code == 302
    assert response["Location"] == "/staff/"


# --- logout --------------------------------------------------------------------------------------


def test_logout_ends_the_session(mei):
    client = browser("anhe.localhost")
    log_in(client, "mei")
    workbench = client.get("/staff/")
    token = CSRF_RE.search(workbench.text)[1]
    response = client.post("/staff/logout/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == "/staff/login/"
    assert session_user_id(client) is None
    assert client.get("/staff/")["Location"] == "/staff/login/?next=/staff/"


def test_logout_by_get_is_not_allowed(mei):
    client = agency_client(mei.agency, mei)
    assert client.get("/staff/logout/").status_code == 405
    assert client.get("/staff/").status_code == 200


# --- password change -----------------------------------------------------------------------------

NEW_PASSWORD = "Blue-Lantern-Harbor-77"


def test_password_change_page_needs_a_login(agency):
    response = agency_client(agency).get("/staff/password/")
    assert response.status_code == 302
    assert response["Location"] == "/staff/login/?next=/staff/password/"


def test_password_change_happy_path(mei):
    client = browser("anhe.localhost")
    log_in(client, "mei")
    response = submit(
        client,
        "/staff/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/staff/"
    mei.refresh_from_db()
    assert mei.check_password(NEW_PASSWORD)
    assert not mei.check_password(PASSWORD)
    # The session that changed the password stays valid and confirms the change.
    workbench = client.get("/staff/")
    assert workbench.status_code == 200
    assert "Your password has been changed." in workbench.text
    # The new password works for the next login; the old one does not.
    assert log_in(browser("anhe.localhost"), "mei", NEW_PASSWORD).status_code == 302
    assert log_in(browser("anhe.localhost"), "mei", PASSWORD).status_code == 200


def test_password_change_ends_other_sessions_of_the_user(mei):
    other_device = browser("anhe.localhost")
    log_in(other_device, "mei")
    client = browser("anhe.localhost")
    log_in(client, "mei")
    submit(
        client,
        "/staff/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert other_device.get("/staff/")["Location"] == "/staff/login/?next=/staff/"


def test_password_change_with_a_wrong_old_password_changes_nothing(mei):
    client = browser("anhe.localhost")
    log_in(client, "mei")
    response = submit(
        client,
        "/staff/password/",
        {"old_password": "Not-My-Password-1", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly. Please enter it again." in response.text
    mei.refresh_from_db()
    assert mei.check_password(PASSWORD)


def test_password_change_with_mismatched_new_passwords_changes_nothing(mei):
    client = browser("anhe.localhost")
    log_in(client, "mei")
    response = submit(
        client,
        "/staff/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"},
    )
    assert response.status_code == 200
    assert "The two password fields didn’t match." in response.text
    mei.refresh_from_db()
    assert mei.check_password(PASSWORD)


def test_password_change_refuses_a_weak_new_password(mei):
    client = browser("anhe.localhost")
    log_in(client, "mei")
    response = submit(
        client, "/staff/password/", {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"}
    )
    assert response.status_code == 200
    assert "This password is too common." in response.text
    assert "This password is entirely numeric." in response.text
    mei.refresh_from_db()
    assert mei.check_password(PASSWORD)


# --- accounts are unique per agency --------------------------------------------------------------


def test_the_same_username_may_exist_in_two_agencies(agency, other_agency):
    anhe_mei = UserFactory(agency=agency, username="mei", password="Anhe-Password-11")
    yuelao_mei = UserFactory(agency=other_agency, username="mei", password="Yuelao-Password-22")

    anhe = browser("anhe.localhost")
    assert log_in(anhe, "mei", "Anhe-Password-11").status_code == 302
    assert session_user_id(anhe) == str(anhe_mei.pk)

    yuelao = browser("yuelao.localhost")
    assert log_in(yuelao, "mei", "Yuelao-Password-22").status_code == 302
    assert session_user_id(yuelao) == str(yuelao_mei.pk)

    # Each password only opens its own agency's account.
    assert log_in(browser("anhe.localhost"), "mei", "Yuelao-Password-22").status_code == 200
    assert log_in(browser("yuelao.localhost"), "mei", "Anhe-Password-11").status_code == 200


def test_database_refuses_a_duplicate_username_within_one_agency(agency, other_agency):
    UserFactory(agency=agency, username="mei")
    with pytest.raises(IntegrityError, match="matchmakers_user_agency_username_uniq"), transaction.atomic():
        User.objects.create(agency=agency, username="mei")
    User.objects.create(agency=other_agency, username="mei")  # another agency is fine
    assert User.objects.filter(username="mei").count() == 2


def test_database_refuses_a_duplicate_platform_operator_username(operator):
    with pytest.raises(IntegrityError, match="matchmakers_user_platform_username_uniq"), transaction.atomic():
        User.objects.create(agency=None, username="ops", is_staff=True)


@pytest.mark.parametrize(
    "flags", [{"is_staff": True}, {"is_superuser": True}, {"is_staff": True, "is_superuser": True}]
)
def test_database_refuses_an_agency_user_who_is_a_platform_operator(agency, flags):
    with pytest.raises(IntegrityError, match="matchmakers_user_agency_staff_not_operator"), transaction.atomic():
        User.objects.create(agency=agency, username="sneaky", **flags)
    assert not User.objects.filter(username="sneaky").exists()


def test_database_refuses_promoting_an_existing_agency_user_to_operator(mei):
    with pytest.raises(IntegrityError, match="matchmakers_user_agency_staff_not_operator"), transaction.atomic():
        User.objects.filter(pk=mei.pk).update(is_staff=True)
    mei.refresh_from_db()
    assert mei.is_staff is False


def test_createsuperuser_makes_a_platform_operator(agency):
    user = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    assert user.agency is None
    assert user.is_staff and user.is_superuser
