"""The role tree (F-B1) and its module permissions (F-B2): services and back-office pages.

A new agency starts with 机构管理员 → 红娘经理 → {售前红娘, 售后红娘}; 财务 under 机构管理员.
`admin` holds the root role; `manager` holds 红娘经理 (plus the delete permission on staff, so the
refusals below are about the tree and not about a missing module permission).
"""


import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from apps.agencies.context import agency_context
from apps.matchmakers import services
from apps.matchmakers.models import Role, User
from apps.matchmakers.permissions import DEFAULT_ROLES, all_codenames
from apps.matchmakers.selectors import staff_below
from apps.matchmakers.services import role_permission_names
from tests.conftest import agency_client
from tests.matchmakers.factories import RoleFactory, UserFactory, root_role

pytestmark = pytest.mark.django_db

ADMIN, MANAGER, PRESALE, AFTERSALE, FINANCE = "机构管理员", "红娘经理", "售前红娘", "售后红娘", "财务"


def roles_of(agency) -> dict[str, Role]:
    return {role.name: role for role in Role.unscoped.filter(agency=agency)}


def tree_snapshot(agency) -> dict:
    return {
        role.pk: (role.name, role.parent_id, role.tree_id, role.lft, role.rght, role.level)
        for role in Role.unscoped.filter(agency=agency)
    }


def codenames_of(role: Role) -> set[str]:
    return set(Group.objects.get(pk=role.group_id).permissions.values_list("codename", flat=True))


def fresh(user: User) -> User:
    """The user as the next request loads them (role and its permission version re-read)."""
    return User.objects.select_related("role").get(pk=user.pk)


def en_client(agency, user=None):
    client = agency_client(agency, user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def roles(agency):
    return roles_of(agency)


@pytest.fixture
def admin(agency, roles):
    return UserFactory(agency=agency, username="admin", name="管理员", role=roles[ADMIN])


@pytest.fixture
def manager(agency, roles, admin):
    with agency_context(agency):
        services.role_set_permissions(
            agency=agency, actor=admin, role=roles[MANAGER],
            codenames=codenames_of(roles[MANAGER]) | {"delete_staff"},
        )  # fmt: skip
    return UserFactory(agency=agency, username="manager", name="经理", role=roles[MANAGER])


@pytest.fixture
def presale_user(agency, roles):
    return UserFactory(agency=agency, username="presale", name="售前", role=roles[PRESALE])


# --- the default tree ------------------------------------------------------------------------------


def test_a_new_agency_starts_with_the_default_role_tree(agency):
    with agency_context(agency):
        tree = list(Role.objects.order_by("tree_id", "lft"))
    shape = [(role.level, role.name, role.parent.name if role.parent else None) for role in tree]
    assert shape == [
        (0, ADMIN, None),
        (1, MANAGER, ADMIN),
        (2, PRESALE, MANAGER),  # siblings are ordered by name
        (2, AFTERSALE, MANAGER),
        (1, FINANCE, ADMIN),
    ]
    assert len({role.tree_id for role in tree}) == 1
    assert len({role.group_id for role in tree}) == 5


def test_default_roles_hold_their_default_permissions(roles):
    assert codenames_of(roles[ADMIN]) == set(all_codenames())
    by_key = {spec["key"]: spec for spec in DEFAULT_ROLES}
    assert codenames_of(roles[MANAGER]) == set(by_key["manager"]["permissions"])
    assert codenames_of(roles[PRESALE]) == set(by_key["presale"]["permissions"])
    assert codenames_of(roles[AFTERSALE]) == set(by_key["aftersale"]["permissions"])
    assert codenames_of(roles[FINANCE]) == set(by_key["finance"]["permissions"])


def test_each_agency_has_its_own_role_tree(agency, other_agency):
    mine, theirs = roles_of(agency), roles_of(other_agency)
    assert set(mine) == set(theirs)
    assert {role.tree_id for role in mine.values()}.isdisjoint({role.tree_id for role in theirs.values()})
    assert {role.group_id for role in mine.values()}.isdisjoint({role.group_id for role in theirs.values()})
    with agency_context(agency):
        assert Role.objects.count() == 5


def test_setting_up_an_agency_again_keeps_its_roles(agency):
    from apps.agencies.services import agency_setup

    before = tree_snapshot(agency)
    agency_setup(agency=agency)
    assert tree_snapshot(agency) == before


# --- create, rename, move, delete ---------------------------------------------------------------------


def test_admin_creates_a_role_and_is_sent_to_its_permissions(agency, roles, admin):
    client = en_client(agency, admin)
    response = client.post(
        "/staff/roles/new/", {"name": "售前A组", "parent": roles[PRESALE].pk, "description": "杭州门店"}
    )
    created = Role.unscoped.get(agency=agency, name="售前A组")
    assert response.status_code == 302
    assert response["Location"] == f"/staff/roles/{created.pk}/permissions/"
    assert created.parent_id == roles[PRESALE].pk
    assert created.description == "杭州门店"
    assert codenames_of(created) == set()
    assert Role.unscoped.filter(group_id=created.group_id).count() == 1
    page = client.get(response["Location"])
    assert "Role “售前A组” has been created. Now choose what it may do." in page.text
    assert 'data-role="售前A组"' in client.get("/staff/roles/").text


def test_role_create_service_adds_an_empty_role_under_the_parent(agency, roles, admin):
    with agency_context(agency):
        role = services.role_create(agency=agency, actor=admin, name="  大客户组  ", parent=roles[MANAGER])
        assert role.name == "大客户组"
        assert role.get_ancestors().last() == roles[MANAGER]
    assert role_permission_names(role) == set()


def test_admin_renames_a_role(agency, roles, admin):
    response = en_client(agency, admin).post(
        f"/staff/roles/{roles[PRESALE].pk}/", {"name": "售前顾问", "parent": roles[MANAGER].pk, "description": "新名"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/staff/roles/"
    role = Role.unscoped.get(pk=roles[PRESALE].pk)
    assert (role.name, role.description, role.parent_id) == ("售前顾问", "新名", roles[MANAGER].pk)


def test_moving_a_role_moves_its_whole_branch_and_what_its_new_superiors_see(agency, roles, admin):
    team = RoleFactory(agency=agency, parent=roles[PRESALE], name="售前A组")
    finance_user = UserFactory(agency=agency, role=roles[FINANCE])
    seller = UserFactory(agency=agency, role=team)
    assert not staff_below(user=finance_user).filter(pk=seller.pk).exists()

    response = en_client(agency, admin).get(f"/staff/roles/{roles[PRESALE].pk}/")
    assert response.status_code == 200
    response = en_client(agency, admin).post(
        f"/staff/roles/{roles[PRESALE].pk}/", {"name": PRESALE, "parent": roles[FINANCE].pk, "description": ""}
    )
    assert response.status_code == 302
    moved = roles_of(agency)
    assert moved[PRESALE].parent_id == roles[FINANCE].pk
    assert moved["售前A组"].parent_id == roles[PRESALE].pk
    assert moved["售前A组"].is_descendant_of(moved[FINANCE])
    assert not moved["售前A组"].is_descendant_of(moved[MANAGER])
    assert (moved["售前A组"].level, moved[PRESALE].level) == (3, 2)
    assert staff_below(user=fresh(finance_user)).filter(pk=seller.pk).exists()


def test_admin_deletes_an_empty_role_and_its_permission_group(agency, roles, admin):
    team = RoleFactory(agency=agency, parent=roles[PRESALE], name="临时组", perms=["matchmakers.view_members"])
    response = en_client(agency, admin).post(f"/staff/roles/{team.pk}/delete/", follow=True)
    assert response.redirect_chain == [("/staff/roles/", 302)]
    assert "Role “临时组” has been deleted." in response.text
    assert not Role.unscoped.filter(pk=team.pk).exists()
    assert not Group.objects.filter(pk=team.group_id).exists()


def test_role_delete_answers_only_post(agency, roles, admin):
    response = en_client(agency, admin).get(f"/staff/roles/{roles[AFTERSALE].pk}/delete/")
    assert response.status_code == 405
    assert Role.unscoped.filter(pk=roles[AFTERSALE].pk).exists()


# --- refused changes ------------------------------------------------------------------------------


def test_moving_a_role_under_its_own_descendant_is_refused_and_the_tree_is_unchanged(agency, roles, admin):
    before = tree_snapshot(agency)
    with agency_context(agency), translation.override("en"), pytest.raises(ValidationError) as refused:
        services.role_update(agency=agency, actor=admin, role=roles[MANAGER], name=MANAGER, parent=roles[PRESALE])
    assert refused.value.message_dict == {
        "parent": ["A role cannot be moved under itself or one of its own sub-roles."]
    }
    assert tree_snapshot(agency) == before

    # The page does not even offer the role's own branch as a new parent.
    client = en_client(agency, admin)
    page = client.get(f"/staff/roles/{roles[MANAGER].pk}/")
    offered = {choice.value for choice, _label in page.context["form"].fields["parent"].choices if choice}
    assert offered == {roles[ADMIN].pk, roles[FINANCE].pk}
    response = client.post(
        f"/staff/roles/{roles[MANAGER].pk}/", {"name": MANAGER, "parent": roles[PRESALE].pk, "description": ""}
    )
    assert response.status_code == 400
    assert "Select a valid choice." in response.text
    assert tree_snapshot(agency) == before


def test_moving_a_role_under_itself_is_refused(agency, roles, admin):
    before = tree_snapshot(agency)
    with agency_context(agency), translation.override("en"), pytest.raises(ValidationError, match="under itself"):
        services.role_update(agency=agency, actor=admin, role=roles[PRESALE], name=PRESALE, parent=roles[PRESALE])
    response = en_client(agency, admin).post(
        f"/staff/roles/{roles[PRESALE].pk}/", {"name": PRESALE, "parent": roles[PRESALE].pk, "description": ""}
    )
    assert response.status_code == 400
    assert tree_snapshot(agency) == before


def test_a_duplicate_role_name_under_one_parent_is_refused_and_nothing_is_created(agency, roles, admin):
    before, groups = tree_snapshot(agency), Group.objects.count()
    with agency_context(agency), translation.override("en"), pytest.raises(ValidationError) as refused:
        services.role_create(agency=agency, actor=admin, name=PRESALE, parent=roles[MANAGER])
    assert refused.value.message_dict == {"name": [f"A role named “{PRESALE}” already exists under this parent."]}

    response = en_client(agency, admin).post(
        "/staff/roles/new/", {"name": f" {PRESALE} ", "parent": roles[MANAGER].pk, "description": ""}
    )
    assert response.status_code == 400
    assert "No role was created. Please correct the fields marked below." in response.text
    assert f"A role named “{PRESALE}” already exists under this parent." in response.text
    assert tree_snapshot(agency) == before
    assert Group.objects.count() == groups


def test_the_same_role_name_under_another_parent_is_fine(agency, roles, admin):
    response = en_client(agency, admin).post(
        "/staff/roles/new/", {"name": PRESALE, "parent": roles[FINANCE].pk, "description": ""}
    )
    assert response.status_code == 302
    assert Role.unscoped.filter(agency=agency, name=PRESALE).count() == 2


def test_renaming_a_role_to_a_siblings_name_is_refused(agency, roles, admin):
    before = tree_snapshot(agency)
    response = en_client(agency, admin).post(
        f"/staff/roles/{roles[AFTERSALE].pk}/", {"name": PRESALE, "parent": roles[MANAGER].pk, "description": ""}
    )
    assert response.status_code == 400
    assert f"A role named “{PRESALE}” already exists under this parent." in response.text
    assert tree_snapshot(agency) == before


def test_deleting_a_role_that_people_hold_is_refused(agency, roles, admin, presale_user):
    before = tree_snapshot(agency)
    response = en_client(agency, admin).post(f"/staff/roles/{roles[PRESALE].pk}/delete/", follow=True)
    assert response.status_code == 200
    assert f"1 staff member(s) still hold “{PRESALE}”. Give them another role first." in response.text
    assert tree_snapshot(agency) == before
    with agency_context(agency), pytest.raises(ValidationError, match="still hold"):
        services.role_delete(agency=agency, actor=admin, role=roles[PRESALE])
    assert fresh(presale_user).role_id == roles[PRESALE].pk


def test_deleting_a_role_that_has_sub_roles_is_refused(agency, roles, admin):
    before = tree_snapshot(agency)
    response = en_client(agency, admin).post(f"/staff/roles/{roles[MANAGER].pk}/delete/", follow=True)
    assert f"“{MANAGER}” still has sub-roles. Move or delete them first." in response.text
    assert tree_snapshot(agency) == before
    with agency_context(agency), pytest.raises(ValidationError, match="sub-roles"):
        services.role_delete(agency=agency, actor=admin, role=roles[MANAGER])
    assert tree_snapshot(agency) == before


def test_the_root_role_cannot_be_deleted_even_by_the_admin(agency, roles, admin):
    before = tree_snapshot(agency)
    assert en_client(agency, admin).post(f"/staff/roles/{roles[ADMIN].pk}/delete/").status_code == 404
    assert tree_snapshot(agency) == before


# --- only within one's own subtree ------------------------------------------------------------------


@pytest.mark.parametrize("parent_name", [ADMIN, FINANCE])
def test_manager_cannot_create_a_role_outside_their_subtree(agency, roles, manager, parent_name):
    before = tree_snapshot(agency)
    response = en_client(agency, manager).post(
        "/staff/roles/new/", {"name": "越权组", "parent": roles[parent_name].pk, "description": ""}
    )
    assert response.status_code == 400
    assert "Select a valid choice." in response.text
    with agency_context(agency), pytest.raises(PermissionDenied):
        services.role_create(agency=agency, actor=manager, name="越权组", parent=roles[parent_name])
    assert tree_snapshot(agency) == before


def test_manager_creates_roles_under_their_own_role_and_below(agency, roles, manager):
    client = en_client(agency, manager)
    for parent in [MANAGER, PRESALE]:
        response = client.post("/staff/roles/new/", {"name": f"{parent}小组", "parent": roles[parent].pk})
        assert response.status_code == 302, parent
    assert Role.unscoped.get(name=f"{PRESALE}小组").parent_id == roles[PRESALE].pk


def test_manager_cannot_move_a_role_outside_their_subtree(agency, roles, manager):
    before = tree_snapshot(agency)
    response = en_client(agency, manager).post(
        f"/staff/roles/{roles[PRESALE].pk}/", {"name": PRESALE, "parent": roles[FINANCE].pk, "description": ""}
    )
    assert response.status_code == 400
    with agency_context(agency), pytest.raises(PermissionDenied):
        services.role_update(agency=agency, actor=manager, role=roles[PRESALE], name=PRESALE, parent=roles[FINANCE])
    assert tree_snapshot(agency) == before


@pytest.mark.parametrize("role_name", [MANAGER, ADMIN, FINANCE])
def test_manager_cannot_change_their_own_a_superiors_or_another_branchs_role(agency, roles, manager, role_name):
    role = roles[role_name]
    before, permissions = tree_snapshot(agency), codenames_of(role)
    client = en_client(agency, manager)
    assert client.get(f"/staff/roles/{role.pk}/").status_code == 404
    assert client.post(f"/staff/roles/{role.pk}/", {"name": "改名", "parent": role.parent_id or ""}).status_code == 404
    assert client.get(f"/staff/roles/{role.pk}/permissions/").status_code == 404
    assert client.post(f"/staff/roles/{role.pk}/permissions/", {"delete_members": "on"}).status_code == 404
    assert client.post(f"/staff/roles/{role.pk}/delete/").status_code == 404
    with agency_context(agency):
        with pytest.raises(PermissionDenied):
            services.role_update(agency=agency, actor=manager, role=role, name="改名", parent=roles[MANAGER])
        with pytest.raises(PermissionDenied):
            services.role_set_permissions(agency=agency, actor=manager, role=role, codenames=["view_members"])
        with pytest.raises(PermissionDenied):
            services.role_delete(agency=agency, actor=manager, role=role)
    assert tree_snapshot(agency) == before
    assert codenames_of(role) == permissions


def test_role_list_offers_changes_only_on_roles_below_ones_own(agency, roles, manager):
    page = en_client(agency, manager).get("/staff/roles/")
    assert page.status_code == 200
    assert page.context["managed_ids"] == {roles[PRESALE].pk, roles[AFTERSALE].pk}
    assert f'href="/staff/roles/{roles[PRESALE].pk}/permissions/"' in page.text
    assert f'href="/staff/roles/{roles[MANAGER].pk}/permissions/"' not in page.text
    assert f'href="/staff/roles/{roles[FINANCE].pk}/"' not in page.text


# --- the permission matrix ------------------------------------------------------------------------


def test_saving_the_permission_matrix_sets_what_the_roles_users_may_do(agency, roles, admin, presale_user):
    # Prime the permission cache with the role's current permissions.
    assert fresh(presale_user).has_perm("matchmakers.add_members")
    assert not fresh(presale_user).has_perm("matchmakers.export_data")
    token = roles[PRESALE].permissions_token

    client = en_client(agency, admin)
    page = client.get(f"/staff/roles/{roles[PRESALE].pk}/permissions/")
    assert page.status_code == 200
    assert 'name="add_members"' in page.text
    response = client.post(
        f"/staff/roles/{roles[PRESALE].pk}/permissions/", {"view_members": "on", "export_data": "on"}, follow=True
    )
    assert response.redirect_chain == [("/staff/roles/", 302)]
    assert f"The permissions of “{PRESALE}” have been saved." in response.text

    assert codenames_of(roles[PRESALE]) == {"view_members", "export_data"}
    assert Role.unscoped.get(pk=roles[PRESALE].pk).permissions_token != token
    user = fresh(presale_user)
    assert user.has_perm("matchmakers.view_members")
    assert user.has_perm("matchmakers.export_data")
    assert not user.has_perm("matchmakers.add_members")
    assert not user.has_perm("matchmakers.view_followups")
    assert user.get_all_permissions() == {"matchmakers.view_members", "matchmakers.export_data"}

    # And the back office follows at once.
    seller = en_client(agency, presale_user)
    assert seller.get("/staff/members/export.xlsx").status_code == 200
    assert seller.get("/staff/members/new/").status_code == 403


def test_permission_cache_key_changes_when_permissions_are_saved(agency, roles, admin):
    role = roles[AFTERSALE]
    before = role_permission_names(role)
    assert "matchmakers.login_as_member" in before
    with agency_context(agency):
        saved = services.role_set_permissions(agency=agency, actor=admin, role=role, codenames=["view_members"])
    assert saved.permissions_token != role.permissions_token
    assert role_permission_names(saved) == {"matchmakers.view_members"}
    # The old token's entry is never read again.
    assert role_permission_names(role) == before


def test_permission_cache_is_not_fooled_by_a_role_id_seen_before(agency, roles):
    """Role ids start again at 1 in every new database — each test run, each pytest-xdist worker, a
    restored dump — while the Redis cache outlives it. A key left by an earlier database's role with
    the same id must not hand its permissions to this one: keys carry a random per-save token."""
    role = RoleFactory(agency=agency, parent=roles[MANAGER], perms=["matchmakers.view_members"])
    user = UserFactory(agency=agency, role=role)
    # What an earlier database's role with this id (an agency admin) could have left in Redis.
    for stale_key in [f"matchmakers:role-perms:{role.pk}", f"matchmakers:role-perms:{role.pk}:1"]:
        cache.set(stale_key, {f"matchmakers.{name}" for name in all_codenames()})
    assert fresh(user).get_all_permissions() == {"matchmakers.view_members"}
    assert not fresh(user).has_perm("matchmakers.delete_staff")


def test_an_actor_cannot_grant_a_permission_they_do_not_have(agency, roles, manager):
    before = codenames_of(roles[PRESALE])
    assert not manager.has_perm("matchmakers.delete_members")
    with agency_context(agency), translation.override("en"), pytest.raises(PermissionDenied, match="You cannot grant"):
        services.role_set_permissions(
            agency=agency, actor=manager, role=roles[PRESALE], codenames=[*before, "delete_members"]
        )
    assert codenames_of(roles[PRESALE]) == before


def test_unknown_permissions_are_refused(agency, roles, admin):
    before = codenames_of(roles[PRESALE])
    with agency_context(agency), pytest.raises(ValidationError):
        services.role_set_permissions(agency=agency, actor=admin, role=roles[PRESALE], codenames=["fly_to_moon"])
    assert codenames_of(roles[PRESALE]) == before


def test_matrix_disables_the_boxes_the_actor_cannot_grant_and_ignores_them(agency, roles, manager):
    client = en_client(agency, manager)
    page = client.get(f"/staff/roles/{roles[PRESALE].pk}/permissions/")
    form = page.context["form"]
    assert form.fields["delete_members"].disabled
    assert form.fields["edit_settings"].disabled
    assert not form.fields["view_members"].disabled
    assert 'name="delete_members" id="id_delete_members" aria-label' in page.text

    response = client.post(
        f"/staff/roles/{roles[PRESALE].pk}/permissions/",
        {"view_members": "on", "add_members": "on", "delete_members": "on", "edit_settings": "on"},
    )
    assert response.status_code == 302
    assert codenames_of(roles[PRESALE]) == {"view_members", "add_members"}


def test_matrix_keeps_permissions_the_actor_cannot_grant_when_saving(agency, roles, admin, manager):
    """The admin gave 售前红娘 a permission the manager lacks; the manager's later save keeps it."""
    with agency_context(agency):
        services.role_set_permissions(
            agency=agency, actor=admin, role=roles[PRESALE], codenames=["view_members", "audit_contracts"]
        )
    assert not manager.has_perm("matchmakers.audit_contracts")
    client = en_client(agency, manager)
    page = client.get(f"/staff/roles/{roles[PRESALE].pk}/permissions/")
    assert page.context["form"].fields["audit_contracts"].disabled
    assert page.context["form"]["audit_contracts"].value() is True

    response = client.post(
        f"/staff/roles/{roles[PRESALE].pk}/permissions/", {"view_members": "on", "add_members": "on"}
    )
    # The page promises that greyed-out boxes keep the role's current value ...
    assert "You cannot grant permissions you do not have yourself." not in response.text
    assert response.status_code == 302
    assert codenames_of(roles[PRESALE]) == {"view_members", "add_members", "audit_contracts"}


# --- other agencies and missing permissions ---------------------------------------------------------


def test_another_agencys_user_gets_404_for_this_agencys_roles(agency, roles, other_agency):
    other_admin = UserFactory(agency=other_agency, role=root_role(other_agency))
    before = tree_snapshot(agency)
    client = en_client(other_agency, other_admin)
    for role in roles.values():
        assert client.get(f"/staff/roles/{role.pk}/").status_code == 404
        assert client.post(f"/staff/roles/{role.pk}/", {"name": "x", "parent": role.pk}).status_code == 404
        assert client.get(f"/staff/roles/{role.pk}/permissions/").status_code == 404
        assert client.post(f"/staff/roles/{role.pk}/delete/").status_code == 404
    listing = client.get("/staff/roles/")
    assert {role.agency_id for role in listing.context["roles"]} == {other_agency.pk}
    response = client.post("/staff/roles/new/", {"name": "渗透组", "parent": roles[MANAGER].pk})
    assert response.status_code == 400
    assert not Role.unscoped.filter(name="渗透组").exists()
    assert tree_snapshot(agency) == before


def test_another_agencys_session_is_sent_to_the_login_page_here(agency, roles, other_agency):
    other_admin = UserFactory(agency=other_agency, role=root_role(other_agency))
    client = agency_client(other_agency, other_admin)
    response = client.get("/staff/roles/", HTTP_HOST=f"{agency.slug}.localhost")
    assert response.status_code == 302
    assert response["Location"] == "/staff/login/?next=/staff/roles/"


def test_a_user_without_the_staff_view_permission_gets_403_on_roles(agency, roles, presale_user):
    assert not presale_user.has_perm("matchmakers.view_staff")
    client = en_client(agency, presale_user)
    assert client.get("/staff/roles/").status_code == 403
    assert client.post("/staff/roles/new/", {"name": "x", "parent": roles[PRESALE].pk}).status_code == 403
    assert client.get(f"/staff/roles/{roles[AFTERSALE].pk}/").status_code == 403
    assert client.get(f"/staff/roles/{roles[AFTERSALE].pk}/permissions/").status_code == 403


def test_module_permissions_gate_each_role_action(agency, roles):
    viewer = UserFactory(
        agency=agency, role=RoleFactory(agency=agency, parent=roles[MANAGER], perms=["matchmakers.view_staff"])
    )
    client = en_client(agency, viewer)
    assert client.get("/staff/roles/").status_code == 200
    assert client.post("/staff/roles/new/", {"name": "x", "parent": viewer.role_id}).status_code == 403
    default_manager = UserFactory(agency=agency, role=roles[MANAGER])
    assert not default_manager.has_perm("matchmakers.delete_staff")
    assert en_client(agency, default_manager).post(f"/staff/roles/{roles[AFTERSALE].pk}/delete/").status_code == 403
    assert Role.unscoped.filter(pk=roles[AFTERSALE].pk).exists()


def test_anonymous_visitors_are_sent_to_the_login_page(agency):
    response = agency_client(agency).get("/staff/roles/")
    assert response.status_code == 302
    assert response["Location"] == "/staff/login/?next=/staff/roles/"


# --- query counts --------------------------------------------------------------------------------------


def test_role_list_query_count_stays_constant_as_roles_grow(agency, roles, admin, django_assert_max_num_queries):
    client = en_client(agency, admin)
    client.get("/staff/roles/")
    with CaptureQueriesContext(connection) as small:
        response = client.get("/staff/roles/")
    assert len(response.context["roles"]) == 5

    parent = roles[PRESALE]
    for number in range(20):
        parent = RoleFactory(agency=agency, parent=parent if number % 4 else roles[MANAGER], name=f"小组{number}")
        UserFactory(agency=agency, role=parent)

    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/staff/roles/")
    assert len(response.context["roles"]) == 25
    assert {role.user_count for role in response.context["roles"] if role.name.startswith("小组")} == {1}
