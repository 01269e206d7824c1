"""Staff management (F-B4) and the public matchmaker showcase (F-B5).

`admin` holds the root role 机构管理员; `manager` holds 红娘经理 (view/add/edit staff); `peer` is a
second 红娘经理; `presale`, `colleague` hold 售前红娘 and `finance_user` holds 财务 (another branch).
"""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from apps.agencies.context import agency_context
from apps.agencies.models import SiteSettings
from apps.matchmakers import services
from apps.matchmakers.models import Role, StaffHandover, User
from apps.members.models import Member
from apps.members.selectors import member_visible_list
from apps.members.services import member_create
from tests.conftest import agency_client, image_bytes
from tests.matchmakers.factories import PASSWORD, UserFactory, root_role

pytestmark = pytest.mark.django_db

ADMIN, MANAGER, PRESALE, AFTERSALE, FINANCE = "机构管理员", "红娘经理", "售前红娘", "售后红娘", "财务"
STRONG = "Red-Thread-Match-2024"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def browser(agency) -> Client:
    """A browser that must send the CSRF token like a real one, reading pages in English."""
    return Client(HTTP_HOST=f"{agency.slug}.localhost", HTTP_ACCEPT_LANGUAGE="en", enforce_csrf_checks=True)


def log_in(agency, username, password=PASSWORD):
    """Log in through the real login form; the client and the form's answer."""
    client = browser(agency)
    page = client.get("/staff/login/")
    token = CSRF_RE.search(page.text)[1]
    response = client.post("/staff/login/", {"username": username, "password": password, "csrfmiddlewaretoken": token})
    return client, response


def logs_in(agency, username, password=PASSWORD) -> bool:
    client, response = log_in(agency, username, password)
    if response.status_code == 302:
        assert client.get("/staff/").status_code == 200
        return True
    assert "The account or password is wrong." in response.text
    return False


def en_client(agency, user=None):
    client = agency_client(agency, user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def roles_of(agency) -> dict[str, Role]:
    return {role.name: role for role in Role.unscoped.filter(agency=agency)}


@pytest.fixture
def roles(agency):
    return roles_of(agency)


@pytest.fixture
def admin(agency, roles):
    return UserFactory(agency=agency, username="admin", name="管理员", role=roles[ADMIN])


@pytest.fixture
def manager(agency, roles):
    return UserFactory(agency=agency, username="manager", name="王经理", role=roles[MANAGER])


@pytest.fixture
def peer(agency, roles):
    return UserFactory(agency=agency, username="peer", name="李经理", role=roles[MANAGER])


@pytest.fixture
def presale(agency, roles):
    return UserFactory(agency=agency, username="presale", name="张红娘", role=roles[PRESALE], phone="13700000001")


@pytest.fixture
def colleague(agency, roles):
    return UserFactory(agency=agency, username="colleague", name="赵红娘", role=roles[PRESALE])


@pytest.fixture
def finance_user(agency, roles):
    return UserFactory(agency=agency, username="finance", name="钱会计", role=roles[FINANCE])


def new_staff_form(role, **changes):
    data = {
        "username": "xiaohong",
        "password1": STRONG,
        "password2": STRONG,
        "name": "小红",
        "role": role.pk,
        "phone": "13800138000",
        "email": "xiaohong@example.com",
        "wechat": "xiaohong_wx",
        "qq": "123456",
        "seniority_years": "3",
        "motto": "有缘千里来相会",
        "bio": "十年红娘经验。",
        "show_in_showcase": "on",
    }
    return {**data, **changes}


def profile_form(user, **changes):
    data = {
        "name": user.name,
        "phone": user.phone,
        "email": user.email,
        "wechat": user.wechat,
        "qq": user.qq,
        "seniority_years": str(user.seniority_years),
        "motto": user.motto,
        "bio": user.bio,
    }
    if user.role_id:
        data["role"] = user.role_id
    if user.show_in_showcase:
        data["show_in_showcase"] = "on"
    return {key: value for key, value in {**data, **changes}.items() if value is not None}


def staff_accounts(agency) -> list[tuple]:
    return list(User.objects.filter(agency=agency).order_by("pk").values_list("pk", "username", "role_id", "is_active"))


def give_members(agency, owner, count, *, aftersale=None, start=0) -> list[Member]:
    with agency_context(agency):
        owner_for_create = UserFactory(agency=agency, perms=["matchmakers.add_members"])
        members = [
            member_create(
                agency=agency, actor=owner_for_create, name=f"会员{start + n}", gender="male",
                phone=f"1360000{start + n:04d}",
            )
            for n in range(count)
        ]  # fmt: skip
    Member.unscoped.filter(pk__in=[m.pk for m in members]).update(presale_owner=owner, aftersale_owner=aftersale)
    return [Member.unscoped.get(pk=m.pk) for m in members]


# --- creating an account ---------------------------------------------------------------------------------


def test_manager_creates_a_matchmaker_who_can_then_log_in(agency, roles, manager):
    client = en_client(agency, manager)
    assert client.get("/staff/team/new/").status_code == 200
    avatar = SimpleUploadedFile("me.png", image_bytes(), content_type="image/png")
    response = client.post("/staff/team/new/", {**new_staff_form(roles[PRESALE]), "avatar": avatar}, follow=True)
    assert response.redirect_chain == [("/staff/team/", 302)]
    assert "小红 can now log in as “xiaohong”." in response.text

    user = User.objects.get(agency=agency, username="xiaohong")
    assert user.role_id == roles[PRESALE].pk
    assert (user.name, user.phone, user.email, user.wechat, user.qq) == (
        "小红", "13800138000", "xiaohong@example.com", "xiaohong_wx", "123456",
    )  # fmt: skip
    assert (user.seniority_years, user.motto, user.show_in_showcase, user.is_active) == (
        3,
        "有缘千里来相会",
        True,
        True,
    )
    assert user.avatar.name.startswith(f"agencies/{agency.pk}/staff/")
    assert user.avatar.name.endswith(".png")
    assert not user.check_password("wrong") and user.check_password(STRONG)

    assert logs_in(agency, "xiaohong", STRONG)
    # And gets the role's permissions right away.
    assert User.objects.get(pk=user.pk).has_perm("matchmakers.add_members")


def test_the_new_account_appears_on_the_team_page(agency, roles, manager):
    client = en_client(agency, manager)
    client.post("/staff/team/new/", new_staff_form(roles[AFTERSALE]))
    page = client.get("/staff/team/")
    assert "xiaohong" in page.text
    assert [user.username for user in page.context["team"]] == ["manager", "xiaohong"]


def _refused(agency, client, data, *messages, files=None):
    before = staff_accounts(agency)
    response = client.post("/staff/team/new/", {**data, **(files or {})})
    assert response.status_code == 400
    for message in messages:
        assert message in response.text, message
    assert staff_accounts(agency) == before
    return response


def test_an_account_that_already_exists_in_this_agency_is_refused(agency, roles, manager, presale):
    client = en_client(agency, manager)
    _refused(
        agency, client, new_staff_form(roles[PRESALE], username="presale"), "The account “presale” already exists."
    )
    _refused(agency, client, new_staff_form(roles[PRESALE], username=" presale "), "already exists")
    with agency_context(agency), pytest.raises(ValidationError) as refused:
        services.staff_create(agency=agency, actor=manager, username="presale", password=STRONG, role=roles[PRESALE])
    assert list(refused.value.message_dict) == ["username"]


@pytest.mark.parametrize(
    "case",
    [
        ("xiaohong", "12345678", ["This password is too common.", "This password is entirely numeric."]),
        ("hongniang88", "hongniang88", ["The password is too similar to the account."]),
        ("xiaohong", "Ab1-x", ["This password is too short. It must contain at least 8 characters."]),
    ],
)
def test_a_weak_password_is_refused(agency, roles, manager, case):
    username, password, messages = case
    data = new_staff_form(roles[PRESALE], username=username, password1=password, password2=password)
    _refused(agency, en_client(agency, manager), data, *messages)
    with agency_context(agency), pytest.raises(ValidationError):
        services.staff_create(agency=agency, actor=manager, username=username, password=password, role=roles[PRESALE])
    assert not User.objects.filter(username=username).exists()


def test_mismatched_passwords_are_refused(agency, roles, manager):
    data = new_staff_form(roles[PRESALE], password2=STRONG + "x")
    _refused(agency, en_client(agency, manager), data, "The two passwords differ. Type the same password twice.")


@pytest.mark.parametrize(
    "case",
    [
        ("phone", "12345", "A mobile number is 11 digits starting with 1, e.g. 13800138000."),
        ("phone", "23800138000", "A mobile number is 11 digits starting with 1"),
        ("qq", "01234", "A QQ number is 5-15 digits."),
        ("qq", "12ab5", "A QQ number is 5-15 digits."),
        ("email", "not-an-email", "Enter a valid email address."),
        ("username", "小 红", "Enter a valid username."),
        ("name", "", "This field is required."),
    ],
)
def test_bad_profile_fields_are_refused_with_a_clear_message(agency, roles, manager, case):
    field, value, message = case
    _refused(agency, en_client(agency, manager), new_staff_form(roles[PRESALE], **{field: value}), message)


def test_a_file_that_is_not_an_image_is_refused_as_avatar(agency, roles, manager):
    fake = SimpleUploadedFile("me.png", b"%PDF-1.4 not a picture", content_type="image/png")
    _refused(
        agency, en_client(agency, manager), new_staff_form(roles[PRESALE]), "Upload a valid image.",
        files={"avatar": fake},
    )  # fmt: skip


def test_the_same_account_name_in_another_agency_is_fine(agency, roles, manager, other_agency):
    UserFactory(agency=other_agency, username="xiaohong")
    response = en_client(agency, manager).post("/staff/team/new/", new_staff_form(roles[PRESALE]))
    assert response.status_code == 302
    assert User.objects.filter(username="xiaohong").count() == 2
    assert logs_in(agency, "xiaohong", STRONG)


def test_the_account_cannot_be_changed_after_creation(agency, roles, manager, presale):
    client = en_client(agency, manager)
    page = client.get(f"/staff/team/{presale.pk}/")
    assert "username" not in page.context["form"].fields
    response = client.post(f"/staff/team/{presale.pk}/", profile_form(presale, username="renamed", name="张新"))
    assert response.status_code == 302
    presale.refresh_from_db()
    assert (presale.username, presale.name) == ("presale", "张新")
    with agency_context(agency):
        services.staff_update(agency=agency, actor=manager, user=presale, username="renamed2", name="张新二")
    presale.refresh_from_db()
    assert (presale.username, presale.name) == ("presale", "张新二")


# --- roles one may give ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role_name", [ADMIN, MANAGER, FINANCE])
def test_manager_cannot_give_a_role_above_beside_or_equal_to_their_own(agency, roles, manager, presale, role_name):
    client = en_client(agency, manager)
    _refused(agency, client, new_staff_form(roles[role_name]), "Select a valid choice.")
    with agency_context(agency), pytest.raises(PermissionDenied):
        services.staff_create(agency=agency, actor=manager, username="sneaky", password=STRONG, role=roles[role_name])

    response = client.post(f"/staff/team/{presale.pk}/", profile_form(presale, role=roles[role_name].pk))
    assert response.status_code == 400
    assert "Select a valid choice." in response.text
    with agency_context(agency), pytest.raises(PermissionDenied):
        services.staff_update(agency=agency, actor=manager, user=presale, role=roles[role_name])
    presale.refresh_from_db()
    assert presale.role_id == roles[PRESALE].pk


def test_manager_moves_a_matchmaker_between_roles_below_their_own(agency, roles, manager, presale):
    response = en_client(agency, manager).post(
        f"/staff/team/{presale.pk}/", profile_form(presale, role=roles[AFTERSALE].pk)
    )
    assert response.status_code == 302
    presale.refresh_from_db()
    assert presale.role_id == roles[AFTERSALE].pk


def test_the_agency_admin_may_appoint_another_admin(agency, roles, admin):
    response = en_client(agency, admin).post("/staff/team/new/", new_staff_form(roles[ADMIN], username="admin2"))
    assert response.status_code == 302
    assert User.objects.get(agency=agency, username="admin2").role_id == roles[ADMIN].pk


# --- whom one may edit -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target_name", ["admin", "peer", "finance_user"])
def test_manager_cannot_touch_a_superior_a_peer_or_another_branch(agency, manager, target_name, request):
    target = request.getfixturevalue(target_name)
    before = staff_accounts(agency)
    client = en_client(agency, manager)
    assert client.get(f"/staff/team/{target.pk}/").status_code == 404
    assert client.post(f"/staff/team/{target.pk}/", profile_form(target, name="改名")).status_code == 404
    assert client.get(f"/staff/team/{target.pk}/password/").status_code == 404
    response = client.post(f"/staff/team/{target.pk}/password/", {"password1": STRONG, "password2": STRONG})
    assert response.status_code == 404
    assert client.post(f"/staff/team/{target.pk}/deactivate/", {"reason": "x"}).status_code == 404
    assert client.post(f"/staff/team/{target.pk}/activate/").status_code == 404
    target.refresh_from_db()
    assert target.name != "改名"
    assert target.check_password(PASSWORD)
    assert staff_accounts(agency) == before
    with agency_context(agency), pytest.raises(PermissionDenied):
        services.staff_update(agency=agency, actor=manager, user=target, name="改名")
    with agency_context(agency), pytest.raises(PermissionDenied):
        services.staff_set_password(agency=agency, actor=manager, user=target, password=STRONG)
    with agency_context(agency), pytest.raises(PermissionDenied):
        services.staff_set_active(agency=agency, actor=manager, user=target, active=False)


def test_another_agencys_staff_are_not_found(agency, roles, manager, other_agency):
    stranger = UserFactory(agency=other_agency, username="stranger", role=root_role(other_agency))
    client = en_client(agency, manager)
    assert client.get(f"/staff/team/{stranger.pk}/").status_code == 404
    assert client.post(f"/staff/team/{stranger.pk}/deactivate/", {}).status_code == 404
    stranger.refresh_from_db()
    assert stranger.is_active


def test_everyone_edits_their_own_profile_but_not_their_own_role(agency, roles, presale):
    client = en_client(agency, presale)
    page = client.get(f"/staff/team/{presale.pk}/")
    assert page.status_code == 200
    assert "role" not in page.context["form"].fields
    assert "My profile" in page.text
    response = client.post(
        f"/staff/team/{presale.pk}/",
        profile_form(presale, name="张美美", wechat="mm_wx", role=roles[ADMIN].pk, show_in_showcase="on"),
    )
    assert response.status_code == 302
    presale.refresh_from_db()
    assert (presale.name, presale.wechat, presale.show_in_showcase) == ("张美美", "mm_wx", True)
    assert presale.role_id == roles[PRESALE].pk
    with agency_context(agency), translation.override("en"), pytest.raises(PermissionDenied, match="own role"):
        services.staff_update(agency=agency, actor=presale, user=presale, role=roles[ADMIN])
    presale.refresh_from_db()
    assert presale.role_id == roles[PRESALE].pk


def test_editing_ones_own_profile_still_validates_it(agency, presale):
    response = en_client(agency, presale).post(f"/staff/team/{presale.pk}/", profile_form(presale, qq="0"))
    assert response.status_code == 400
    assert "A QQ number is 5-15 digits." in response.text
    presale.refresh_from_db()
    assert presale.qq == ""


def test_a_matchmaker_without_staff_permissions_cannot_edit_colleagues(agency, presale, colleague):
    client = en_client(agency, presale)
    assert client.get(f"/staff/team/{colleague.pk}/").status_code == 403
    assert client.get("/staff/team/").status_code == 403
    assert client.get("/staff/team/new/").status_code == 403
    assert (
        client.post(f"/staff/team/{colleague.pk}/password/", {"password1": STRONG, "password2": STRONG}).status_code
        == 403
    )
    colleague.refresh_from_db()
    assert colleague.check_password(PASSWORD)


@pytest.mark.usefixtures("admin", "peer", "finance_user")
def test_team_page_lists_oneself_and_the_staff_below(agency, manager, presale, colleague):
    page = en_client(agency, manager).get("/staff/team/")
    assert page.status_code == 200
    assert {user.username for user in page.context["team"]} == {"manager", "presale", "colleague"}
    assert page.context["managed_ids"] == {presale.pk, colleague.pk}


# --- deactivation and hand-over ------------------------------------------------------------------------


@pytest.fixture
def owned(agency, presale, finance_user):
    """张红娘 owns two members as presale owner and one as after-sale owner; one member is not hers."""
    return {
        "presale": give_members(agency, presale, 2),
        "aftersale": give_members(agency, finance_user, 1, aftersale=presale, start=10),
        "untouched": give_members(agency, finance_user, 1, start=20),
        "other_owner": finance_user,
    }


def assert_handed_over(agency, owned, *, from_user, to_user, by, reason):
    finance_user = owned["other_owner"]
    for member in owned["presale"]:
        member.refresh_from_db()
        assert (member.presale_owner_id, member.aftersale_owner_id) == (to_user.pk, None)
    (aftersale,) = owned["aftersale"]
    aftersale.refresh_from_db()
    assert (aftersale.presale_owner_id, aftersale.aftersale_owner_id) == (finance_user.pk, to_user.pk)
    (untouched,) = owned["untouched"]
    untouched.refresh_from_db()
    assert (untouched.presale_owner_id, untouched.aftersale_owner_id) == (finance_user.pk, None)

    handover = StaffHandover.unscoped.get()
    assert (handover.agency_id, handover.from_user_id, handover.to_user_id, handover.handed_over_by_id) == (
        agency.pk, from_user.pk, to_user.pk, by.pk,
    )  # fmt: skip
    assert handover.reason == reason
    assert handover.counts == {"members.member": 3}
    assert list(services.staff_owned_record_counts(user=from_user).values()) == [0]
    with agency_context(agency):
        visible = set(member_visible_list(user=to_user).values_list("pk", flat=True))
    assert visible == {member.pk for member in owned["presale"] + owned["aftersale"]}


def assert_nothing_handed_over(owned, presale):
    presale.refresh_from_db()
    assert presale.is_active
    for member in owned["presale"]:
        assert Member.unscoped.get(pk=member.pk).presale_owner_id == presale.pk
    assert Member.unscoped.get(pk=owned["aftersale"][0].pk).aftersale_owner_id == presale.pk
    assert not StaffHandover.unscoped.exists()


def test_deactivating_with_a_hand_over_moves_every_owned_member_and_records_it(
    agency, manager, presale, colleague, owned
):
    client = en_client(agency, manager)
    page = client.get(f"/staff/team/{presale.pk}/deactivate/")
    assert page.status_code == 200
    assert "张红娘 owns 3 members." in page.text
    response = client.post(
        f"/staff/team/{presale.pk}/deactivate/", {"hand_over_to": colleague.pk, "reason": "离职"}, follow=True
    )
    assert response.redirect_chain == [("/staff/team/", 302)]
    assert "张红娘 has been deactivated." in response.text
    assert "张红娘 → 赵红娘" in response.text
    presale.refresh_from_db()
    assert not presale.is_active
    assert_handed_over(agency, owned, from_user=presale, to_user=colleague, by=manager, reason="离职")


def test_deactivation_service_with_a_hand_over_moves_every_owned_member_and_records_it(
    agency, manager, presale, colleague, owned
):
    with agency_context(agency):
        services.staff_set_active(
            agency=agency, actor=manager, user=presale, active=False, hand_over_to=colleague, reason="离职"
        )
    presale.refresh_from_db()
    assert not presale.is_active
    assert_handed_over(agency, owned, from_user=presale, to_user=colleague, by=manager, reason="离职")
    page = en_client(agency, manager).get("/staff/team/")
    assert "张红娘 → 赵红娘 (by 王经理): 离职" in page.text


def test_hand_over_counts_a_member_owned_in_both_capacities_once(agency, manager, presale, colleague):
    """A matchmaker who is both presale and after-sale owner of one member hands over one record."""
    (member,) = give_members(agency, presale, 1, aftersale=presale)
    with agency_context(agency):
        handover = services.staff_handover(agency=agency, actor=manager, from_user=presale, to_user=colleague)
    member.refresh_from_db()
    assert (member.presale_owner_id, member.aftersale_owner_id) == (colleague.pk, colleague.pk)
    assert handover.counts == {"members.member": 1}


def test_deactivating_someone_who_owns_records_without_a_successor_is_refused(agency, manager, presale, owned):
    response = en_client(agency, manager).post(
        f"/staff/team/{presale.pk}/deactivate/", {"hand_over_to": "", "reason": ""}
    )
    assert response.status_code == 400
    assert "张红娘 still owns 3 record(s). Choose who takes them over." in response.text
    assert_nothing_handed_over(owned, presale)
    assert logs_in(agency, "presale")


def test_deactivation_service_refuses_someone_who_owns_records_without_a_successor(agency, manager, presale, owned):
    with agency_context(agency), translation.override("en"), pytest.raises(ValidationError) as refused:
        services.staff_set_active(agency=agency, actor=manager, user=presale, active=False)
    assert refused.value.message_dict == {
        "hand_over_to": ["张红娘 still owns 3 record(s). Choose who takes them over."]
    }
    assert_nothing_handed_over(owned, presale)
    assert logs_in(agency, "presale")


def test_handing_over_to_a_deactivated_colleague_or_to_oneself_is_refused_on_the_page(
    agency, manager, presale, colleague, owned
):
    User.objects.filter(pk=colleague.pk).update(is_active=False)
    client = en_client(agency, manager)
    response = client.post(f"/staff/team/{presale.pk}/deactivate/", {"hand_over_to": colleague.pk})
    assert response.status_code == 400
    assert "Select a valid choice." in response.text
    response = client.post(f"/staff/team/{presale.pk}/deactivate/", {"hand_over_to": presale.pk})
    assert response.status_code == 400
    assert_nothing_handed_over(owned, presale)


def test_hand_over_service_refuses_a_deactivated_colleague_or_the_leaver_themselves(
    agency, manager, presale, colleague, owned
):
    User.objects.filter(pk=colleague.pk).update(is_active=False)
    colleague.refresh_from_db()
    with agency_context(agency), translation.override("en"):
        with pytest.raises(ValidationError, match="deactivated and cannot take over"):
            services.staff_set_active(agency=agency, actor=manager, user=presale, active=False, hand_over_to=colleague)
        with pytest.raises(ValidationError, match="Choose someone other"):
            services.staff_handover(agency=agency, actor=manager, from_user=presale, to_user=presale)
    assert_nothing_handed_over(owned, presale)


def test_hand_over_service_refuses_a_successor_outside_the_actors_branch(agency, manager, presale, finance_user, owned):
    with agency_context(agency), pytest.raises(PermissionDenied):
        services.staff_handover(agency=agency, actor=manager, from_user=presale, to_user=finance_user)
    assert_nothing_handed_over(owned, presale)


def test_the_manager_may_take_over_the_records_themselves(agency, manager, presale):
    members = give_members(agency, presale, 2)
    response = en_client(agency, manager).post(f"/staff/team/{presale.pk}/deactivate/", {"hand_over_to": manager.pk})
    assert response.status_code == 302
    owners = set(Member.unscoped.filter(pk__in=[m.pk for m in members]).values_list("presale_owner", flat=True))
    assert owners == {manager.pk}


def test_deactivating_someone_without_records_needs_no_successor(agency, manager, presale):
    response = en_client(agency, manager).post(
        f"/staff/team/{presale.pk}/deactivate/", {"hand_over_to": "", "reason": ""}
    )
    assert response.status_code == 302
    presale.refresh_from_db()
    assert not presale.is_active
    assert not StaffHandover.unscoped.exists()


def test_deactivated_users_cannot_log_in_and_lose_their_session(agency, manager, presale):
    session, response = log_in(agency, "presale")
    assert response.status_code == 302
    with agency_context(agency):
        services.staff_set_active(agency=agency, actor=manager, user=presale, active=False)
    assert not logs_in(agency, "presale")
    assert session.get("/staff/")["Location"] == "/staff/login/?next=/staff/"


def test_a_deactivated_user_can_be_activated_again(agency, manager, presale):
    with agency_context(agency):
        services.staff_set_active(agency=agency, actor=manager, user=presale, active=False)
    client = en_client(agency, manager)
    page = client.get("/staff/team/")
    assert f'action="/staff/team/{presale.pk}/activate/"' in page.text
    assert client.get(f"/staff/team/{presale.pk}/activate/").status_code == 405
    response = client.post(f"/staff/team/{presale.pk}/activate/", follow=True)
    assert response.redirect_chain == [("/staff/team/", 302)]
    assert "张红娘 can log in again." in response.text
    presale.refresh_from_db()
    assert presale.is_active
    assert logs_in(agency, "presale")


# --- passwords ------------------------------------------------------------------------------------------


def test_a_manager_resets_a_matchmakers_password(agency, manager, presale):
    client = en_client(agency, manager)
    assert client.get(f"/staff/team/{presale.pk}/password/").status_code == 200
    response = client.post(
        f"/staff/team/{presale.pk}/password/", {"password1": STRONG, "password2": STRONG}, follow=True
    )
    assert response.redirect_chain == [("/staff/team/", 302)]
    assert "The password of 张红娘 has been reset." in response.text
    assert logs_in(agency, "presale", STRONG)
    assert not logs_in(agency, "presale", PASSWORD)


@pytest.mark.parametrize(
    "case",
    [
        ("12345678", "12345678", "This password is entirely numeric."),
        ("presale1", "presale1", "The password is too similar to the account."),
        (STRONG, STRONG + "x", "The two passwords differ. Type the same password twice."),
    ],
)
def test_a_bad_password_reset_is_refused_and_the_old_password_still_works(agency, manager, presale, case):
    password1, password2, message = case
    response = en_client(agency, manager).post(
        f"/staff/team/{presale.pk}/password/", {"password1": password1, "password2": password2}
    )
    assert response.status_code == 400
    assert message in response.text
    assert logs_in(agency, "presale", PASSWORD)


# --- query counts -------------------------------------------------------------------------------------


def test_team_list_query_count_stays_constant_as_staff_grow(
    agency, roles, manager, colleague, django_assert_max_num_queries
):
    client = en_client(agency, manager)
    client.get("/staff/team/")
    with CaptureQueriesContext(connection) as small:
        response = client.get("/staff/team/")
    assert len(response.context["team"]) == 2

    for number in range(20):
        role = roles[PRESALE] if number % 2 else roles[AFTERSALE]
        user = UserFactory(agency=agency, role=role, avatar=f"agencies/{agency.pk}/staff/{number}.png")
        if number % 5 == 0:
            with agency_context(agency):
                services.staff_set_active(agency=agency, actor=manager, user=user, active=False, hand_over_to=colleague)

    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/staff/team/")
    assert len(response.context["team"]) == 22
    assert len(response.context["handovers"]) == 4


# --- the public showcase ------------------------------------------------------------------------------


@pytest.fixture
def published(agency, roles):
    return UserFactory(
        agency=agency, username="star", name="金牌红娘", role=roles[PRESALE], show_in_showcase=True,
        phone="13912345678", wechat="star_wechat", qq="88886666", email="star@example.com",
        seniority_years=8, motto="真心换真情",
    )  # fmt: skip


def test_public_showcase_lists_only_published_active_matchmakers(agency, roles, published, presale, other_agency):
    UserFactory(agency=agency, name="离职红娘", role=roles[PRESALE], show_in_showcase=True, is_active=False)
    UserFactory(agency=other_agency, name="别家红娘", show_in_showcase=True)
    response = agency_client(agency).get("/matchmakers/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert [user.pk for user in response.context["matchmakers"]] == [published.pk]
    assert "金牌红娘" in response.text
    assert "真心换真情" in response.text
    for hidden in ["张红娘", "离职红娘", "别家红娘"]:
        assert hidden not in response.text


def test_showcase_shows_only_the_contact_channels_the_agency_publishes(agency, published):
    visitor = agency_client(agency)
    page = visitor.get(f"/matchmakers/{published.pk}/")
    assert page.status_code == 200
    assert "金牌红娘" in page.text
    # Defaults: WeChat published, phone, QQ and email not.
    assert "star_wechat" in page.text
    for private in ["13912345678", "88886666", "star@example.com"]:
        assert private not in page.text

    SiteSettings.unscoped.filter(agency=agency).update(
        showcase_phone=True, showcase_wechat=False, showcase_qq=True, showcase_email=True
    )
    page = visitor.get(f"/matchmakers/{published.pk}/")
    for public in ["13912345678", "88886666", "star@example.com"]:
        assert public in page.text
    assert "star_wechat" not in page.text

    SiteSettings.unscoped.filter(agency=agency).update(
        showcase_phone=False, showcase_wechat=False, showcase_qq=False, showcase_email=False
    )
    page = visitor.get(f"/matchmakers/{published.pk}/")
    for private in ["13912345678", "star_wechat", "88886666", "star@example.com"]:
        assert private not in page.text
    assert visitor.get("/matchmakers/").status_code == 200
    assert "13912345678" not in visitor.get("/matchmakers/").text


def test_an_unpublished_or_deactivated_matchmakers_page_is_not_found(agency, published, presale):
    visitor = agency_client(agency)
    assert visitor.get(f"/matchmakers/{presale.pk}/").status_code == 404
    User.objects.filter(pk=published.pk).update(is_active=False)
    assert visitor.get(f"/matchmakers/{published.pk}/").status_code == 404


def test_another_agencys_matchmaker_is_not_found_here(agency, other_agency):
    theirs = UserFactory(agency=other_agency, name="别家红娘", show_in_showcase=True)
    assert agency_client(other_agency).get(f"/matchmakers/{theirs.pk}/").status_code == 200
    response = agency_client(agency).get(f"/matchmakers/{theirs.pk}/")
    assert response.status_code == 404
    assert "别家红娘" not in response.text


def test_publishing_oneself_from_the_profile_page_shows_up_on_the_site(agency, presale):
    assert agency_client(agency).get(f"/matchmakers/{presale.pk}/").status_code == 404
    en_client(agency, presale).post(f"/staff/team/{presale.pk}/", profile_form(presale, show_in_showcase="on"))
    assert agency_client(agency).get(f"/matchmakers/{presale.pk}/").status_code == 200
