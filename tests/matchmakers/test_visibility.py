"""Acceptance suite of record visibility (F-B3): who sees which members, through every door.

The tree under test (agency 安和婚恋):

    机构管理员 (admin)
    └── 经理 (manager)
        ├── 售前A组长 (a_lead)
        │   └── 售前A组员 (a1, a2 — peers holding the same role)
        └── 售前B组长 (b_lead)
            └── 售前B组员 (b1)

Every user holds the member view/add/edit permissions and the export permission, so what differs
between them is only what the role tree (and one-by-one shares) lets them see. Each door — the list
page, its paginator count, the selector's count, the detail page, the edit page (GET and POST) and
the CSV export — must answer the same set of members.
"""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from apps.agencies.context import agency_context
from apps.matchmakers.services import role_create, role_set_permissions
from apps.members.models import Member, MemberShare
from apps.members.selectors import member_visible_list
from apps.members.services import member_create
from tests.conftest import agency_client
from tests.matchmakers.factories import RoleFactory, UserFactory, root_role

pytestmark = pytest.mark.django_db

MEMBER_CODENAMES = ["view_members", "add_members", "edit_members", "export_data"]
MEMBER_PERMS = [f"matchmakers.{name}" for name in MEMBER_CODENAMES]

# member key -> (presale owner, after-sale owner)
MEMBERS = {
    "adm": ("admin", None),
    "mgr": ("manager", None),
    "alead": ("a_lead", None),
    "a1": ("a1", None),
    "a2": ("a2", None),
    "blead": ("b_lead", None),
    "b1": ("b1", None),
    # Either owner makes a member visible: a superior's member served after-sale by A1 ...
    "mgr_after_a1": ("manager", "a1"),
    # ... and team B's member served after-sale by A2.
    "b1_after_a2": ("b1", "a2"),
}

EVERYONE = set(MEMBERS)


class Tree:
    """The agency, its users by key and its members by key."""

    def __init__(self, agency, users, members):
        self.agency = agency
        self.users = users
        self.members = members

    def pks(self, keys):
        return {self.members[key].pk for key in keys}


def _phone(number: int) -> str:
    return f"139{number:08d}"


def _role(agency, actor, name, parent):
    role = role_create(agency=agency, actor=actor, name=name, parent=parent)
    return role_set_permissions(agency=agency, actor=actor, role=role, codenames=MEMBER_CODENAMES)


@pytest.fixture
def tree(agency):
    admin = UserFactory(agency=agency, username="admin", name="管理员", role=root_role(agency))
    users = {"admin": admin}
    with agency_context(agency):
        manager_role = _role(agency, admin, "经理", root_role(agency))
        a_lead_role = _role(agency, admin, "售前A组长", manager_role)
        a_member_role = _role(agency, admin, "售前A组员", a_lead_role)
        b_lead_role = _role(agency, admin, "售前B组长", manager_role)
        b_member_role = _role(agency, admin, "售前B组员", b_lead_role)
    for key, role in [
        ("manager", manager_role),
        ("a_lead", a_lead_role),
        ("a1", a_member_role),
        ("a2", a_member_role),
        ("b_lead", b_lead_role),
        ("b1", b_member_role),
    ]:
        users[key] = UserFactory(agency=agency, username=key, name=f"红娘{key}", role=role)

    members = {}
    with agency_context(agency):
        for number, (key, (presale, aftersale)) in enumerate(MEMBERS.items()):
            member = member_create(
                agency=agency, actor=users[presale], name=f"会员{key}", gender="female", phone=_phone(number)
            )
            if aftersale is not None:
                Member.unscoped.filter(pk=member.pk).update(aftersale_owner=users[aftersale])
            members[key] = member
    return Tree(agency, users, members)


@pytest.fixture
def outsider(other_agency):
    """A matchmaker of another agency holding the same member permissions."""
    return UserFactory(agency=other_agency, username="outsider", perms=MEMBER_PERMS)


def _export_member_numbers(response) -> set[str]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content), read_only=True).active.iter_rows(values_only=True))
    return {row[0] for row in rows[1:]}


def assert_sees_exactly(tree, user_key, expected_keys):
    """Every door answers the same members for the user: list, counts, detail, edit, export."""
    user = tree.users[user_key]
    expected = tree.pks(expected_keys)
    hidden = tree.pks(EVERYONE - set(expected_keys))
    client = agency_client(tree.agency, user)

    listing = client.get("/staff/members/")
    assert listing.status_code == 200
    assert {member.pk for member in listing.context["page"].object_list} == expected
    assert listing.context["page"].paginator.count == len(expected)
    for pk in hidden:
        assert f'href="/staff/members/{pk}/"' not in listing.text

    with agency_context(tree.agency):
        assert member_visible_list(user=user).count() == len(expected)
        assert set(member_visible_list(user=user).values_list("pk", flat=True)) == expected

    exported = _export_member_numbers(client.get("/staff/members/export.xlsx"))
    assert exported == {member.member_no for member in tree.members.values() if member.pk in expected}

    for pk in expected:
        assert client.get(f"/staff/members/{pk}/").status_code == 200, pk
        assert client.get(f"/staff/members/{pk}/edit/").status_code == 200, pk
    for pk in hidden:
        assert client.get(f"/staff/members/{pk}/").status_code == 404, pk
        assert client.get(f"/staff/members/{pk}/edit/").status_code == 404, pk


# --- the role tree decides -----------------------------------------------------------------------


def test_team_lead_sees_own_and_team_members_records_not_the_sibling_team(tree):
    assert_sees_exactly(tree, "a_lead", {"alead", "a1", "a2", "mgr_after_a1", "b1_after_a2"})


def test_team_lead_does_not_see_the_managers_or_sibling_leads_own_records(tree):
    client = agency_client(tree.agency, tree.users["a_lead"])
    for key in ["mgr", "adm", "blead", "b1"]:
        assert client.get(f"/staff/members/{tree.members[key].pk}/").status_code == 404, key


def test_matchmaker_does_not_see_peer_or_lead_records(tree):
    assert_sees_exactly(tree, "a1", {"a1", "mgr_after_a1"})
    assert_sees_exactly(tree, "a2", {"a2", "b1_after_a2"})


def test_sibling_team_matchmaker_sees_none_of_team_a(tree):
    assert_sees_exactly(tree, "b1", {"b1", "b1_after_a2"})


def test_sibling_team_lead_sees_only_own_team(tree):
    assert_sees_exactly(tree, "b_lead", {"blead", "b1", "b1_after_a2"})


def test_manager_sees_everything_below_but_not_the_admins_own_records(tree):
    assert_sees_exactly(tree, "manager", EVERYONE - {"adm"})


def test_admin_sees_all_records_of_the_agency(tree):
    assert_sees_exactly(tree, "admin", EVERYONE)


def test_either_owner_makes_a_member_visible(tree):
    a1 = tree.users["a1"]
    with agency_context(tree.agency):
        visible = set(member_visible_list(user=a1).values_list("pk", flat=True))
    # Presale owner is A1's superior; A1 sees it only because A1 is its after-sale owner.
    assert tree.members["mgr_after_a1"].pk in visible
    Member.unscoped.filter(pk=tree.members["mgr_after_a1"].pk).update(aftersale_owner=None)
    with agency_context(tree.agency):
        assert not member_visible_list(user=a1).filter(pk=tree.members["mgr_after_a1"].pk).exists()
    assert agency_client(tree.agency, a1).get(f"/staff/members/{tree.members['mgr_after_a1'].pk}/").status_code == 404


def test_search_and_filters_cannot_reach_invisible_members(tree):
    client = agency_client(tree.agency, tree.users["a1"])
    response = client.get("/staff/members/", {"q": "会员a2"})
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0
    response = client.get("/staff/members/", {"q": tree.members["b1"].member_no, "gender": "female"})
    assert response.context["page"].paginator.count == 0
    response = client.get("/staff/members/", {"q": tree.members["a1"].member_no})
    assert [member.pk for member in response.context["page"].object_list] == [tree.members["a1"].pk]
    export = client.get("/staff/members/export.xlsx", {"q": "会员a2"})
    assert _export_member_numbers(export) == set()


def test_htmx_partial_of_the_list_shows_the_same_rows(tree):
    client = agency_client(tree.agency, tree.users["a1"])
    response = client.get("/staff/members/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert '<nav class="navbar' not in response.text  # only the rows partial
    assert 'id="member-table"' in response.text
    for pk in tree.pks({"a1", "mgr_after_a1"}):
        assert f'href="/staff/members/{pk}/"' in response.text
    for pk in tree.pks(EVERYONE - {"a1", "mgr_after_a1"}):
        assert f'href="/staff/members/{pk}/"' not in response.text


# --- editing follows visibility ------------------------------------------------------------------


def _edit_data(member, **changes):
    data = {
        "name": member.name,
        "gender": member.gender,
        "birth_date": "",
        "phone": member.phone,
        "wechat": member.wechat,
        "status": member.status,
        "service_status": member.service_status,
    }
    return {**data, **changes}


def test_lead_can_edit_a_team_members_record(tree):
    member = tree.members["a1"]
    client = agency_client(tree.agency, tree.users["a_lead"])
    response = client.post(f"/staff/members/{member.pk}/edit/", _edit_data(member, status="following"))
    assert response.status_code == 302
    assert response["Location"] == f"/staff/members/{member.pk}/"
    member.refresh_from_db()
    assert member.status == "following"


@pytest.mark.parametrize(
    ("user_key", "member_key"),
    [("a1", "a2"), ("a1", "alead"), ("b1", "a1"), ("b_lead", "alead"), ("a_lead", "mgr"), ("manager", "adm")],
)
def test_posting_an_edit_of_an_invisible_member_answers_404_and_changes_nothing(tree, user_key, member_key):
    member = tree.members[member_key]
    client = agency_client(tree.agency, tree.users[user_key])
    response = client.post(f"/staff/members/{member.pk}/edit/", _edit_data(member, name="篡改", status="abandoned"))
    assert response.status_code == 404
    member.refresh_from_db()
    assert member.name == f"会员{member_key}"
    assert member.status == "lead"


# --- one-by-one shares ---------------------------------------------------------------------------


def test_a_member_shared_with_a1_gives_a1_exactly_that_record_until_revoked(tree):
    shared = tree.members["b1"]
    a1 = tree.users["a1"]
    owner = agency_client(tree.agency, tree.users["b1"])

    response = owner.post(f"/staff/members/{shared.pk}/share/", {"user": a1.pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert response["Location"] == f"/staff/members/{shared.pk}/"
    shares = MemberShare.unscoped.filter(content_object=shared, user=a1)
    assert set(shares.values_list("permission__codename", flat=True)) == {"view_member", "change_member"}
    assert set(shares.values_list("granted_by", flat=True)) == {tree.users["b1"].pk}
    assert set(shares.values_list("agency", flat=True)) == {tree.agency.pk}
    with agency_context(tree.agency):
        assert a1.has_perm("members.view_member", shared)
        assert a1.has_perm("members.change_member", shared)

    # Exactly that one record of team B: not B1's other member, not B-lead's.
    assert_sees_exactly(tree, "a1", {"a1", "mgr_after_a1", "b1"})
    # The share lets A1 edit it too.
    response = agency_client(tree.agency, a1).post(
        f"/staff/members/{shared.pk}/edit/", _edit_data(shared, status="following")
    )
    assert response.status_code == 302
    shared.refresh_from_db()
    assert shared.status == "following"
    # Nobody else gained anything from the share.
    assert_sees_exactly(tree, "a2", {"a2", "b1_after_a2"})

    detail = owner.get(f"/staff/members/{shared.pk}/")
    assert str(a1) in detail.text
    response = owner.post(f"/staff/members/{shared.pk}/share/{a1.pk}/revoke/")
    assert response.status_code == 302
    assert not MemberShare.unscoped.filter(content_object=shared, user=a1).exists()
    with agency_context(tree.agency):
        assert not a1.has_perm("members.view_member", shared)
    assert_sees_exactly(tree, "a1", {"a1", "mgr_after_a1"})


def test_sharing_needs_an_active_colleague_of_the_same_agency(tree, outsider):
    shared = tree.members["b1"]
    owner = agency_client(tree.agency, tree.users["b1"])
    response = owner.post(
        f"/staff/members/{shared.pk}/share/", {"user": outsider.pk}, HTTP_ACCEPT_LANGUAGE="en", follow=True
    )
    assert "Nothing was shared: choose an active colleague." in response.text
    assert not MemberShare.unscoped.exists()
    with agency_context(outsider.agency):
        assert member_visible_list(user=outsider).count() == 0


def test_a_user_cannot_share_a_member_they_cannot_see(tree):
    hidden = tree.members["a2"]
    client = agency_client(tree.agency, tree.users["a1"])
    response = client.post(f"/staff/members/{hidden.pk}/share/", {"user": tree.users["b1"].pk})
    assert response.status_code == 404
    assert not MemberShare.unscoped.exists()


# --- another agency ------------------------------------------------------------------------------


def test_a_user_of_another_agency_sees_nothing_of_this_agency(tree, outsider):
    client = agency_client(outsider.agency, outsider)
    listing = client.get("/staff/members/")
    assert listing.status_code == 200
    assert listing.context["page"].paginator.count == 0
    assert list(listing.context["page"].object_list) == []
    assert _export_member_numbers(client.get("/staff/members/export.xlsx")) == set()
    for key, member in tree.members.items():
        assert client.get(f"/staff/members/{member.pk}/").status_code == 404, key
        assert client.get(f"/staff/members/{member.pk}/edit/").status_code == 404, key
        response = client.post(f"/staff/members/{member.pk}/edit/", _edit_data(member, name="篡改"))
        assert response.status_code == 404, key
        member.refresh_from_db()
        assert member.name == f"会员{key}"
    with agency_context(outsider.agency):
        assert member_visible_list(user=outsider).count() == 0
    with agency_context(tree.agency):
        assert member_visible_list(user=outsider).count() == 0


def test_a_session_of_another_agency_is_anonymous_here(tree, outsider):
    client = agency_client(outsider.agency, outsider)
    member = tree.members["a1"]
    response = client.get(f"/staff/members/{member.pk}/", HTTP_HOST=f"{tree.agency.slug}.localhost")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")


# --- the module permission still gates the doors ----------------------------------------------------


def test_view_permission_gates_the_list_and_export_permission_gates_the_export(tree):
    no_perms = UserFactory(agency=tree.agency, username="noperm", perms=[])
    client = agency_client(tree.agency, no_perms)
    assert client.get("/staff/members/").status_code == 403
    assert client.get(f"/staff/members/{tree.members['adm'].pk}/").status_code == 403
    viewer = UserFactory(agency=tree.agency, username="viewer", perms=["matchmakers.view_members"])
    client = agency_client(tree.agency, viewer)
    assert client.get("/staff/members/").status_code == 200
    assert client.get("/staff/members/export.xlsx").status_code == 403


# --- one SQL query, whatever the depth -------------------------------------------------------------


def _chain(agency, depth):
    """A user whose role is `depth` levels below the root, with a member, and one at each level above."""
    parent = root_role(agency)
    users = []
    for level in range(1, depth + 1):
        parent = RoleFactory(agency=agency, parent=parent, name=f"第{level}级", perms=MEMBER_PERMS)
        users.append(UserFactory(agency=agency, username=f"depth{depth}-level{level}", role=parent))
    with agency_context(agency):
        for number, user in enumerate(users):
            member_create(agency=agency, actor=user, name=f"链{depth}-{number}", gender="male",
                          phone=_phone(depth * 100 + number))  # fmt: skip
    return users


@pytest.mark.parametrize("depth", [2, 6])
def test_visibility_selector_is_one_sql_query_whatever_the_tree_depth(agency, depth, django_assert_num_queries):
    users = _chain(agency, depth)
    deepest, top = users[-1], users[0]
    assert deepest.role.level == depth
    with agency_context(agency):
        with django_assert_num_queries(1):
            deepest_sees = list(member_visible_list(user=deepest))
        with django_assert_num_queries(1):
            top_sees = list(member_visible_list(user=top))
    assert [member.name for member in deepest_sees] == [f"链{depth}-{depth - 1}"]
    assert len(top_sees) == depth  # everyone's member below, and own


def test_member_list_query_count_stays_constant_as_rows_grow(tree, django_assert_max_num_queries):
    lead = tree.users["b_lead"]
    client = agency_client(tree.agency, lead)
    client.get("/staff/members/")  # warm the permission cache
    with CaptureQueriesContext(connection) as small:
        response = client.get("/staff/members/")
    assert response.context["page"].paginator.count == 3

    owners = [tree.users["b1"], tree.users["b_lead"], tree.users["a1"]]
    with agency_context(tree.agency):
        for number in range(30):
            # B's members, some served after-sale by team A (still visible to B-lead through B1/B-lead).
            member = member_create(
                agency=tree.agency, actor=owners[number % 2], name=f"新会员{number}", gender="male",
                phone=_phone(500 + number),
            )  # fmt: skip
            if number % 3 == 0:
                Member.unscoped.filter(pk=member.pk).update(aftersale_owner=owners[2])

    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/staff/members/")
    assert response.context["page"].paginator.count == 33
    assert len(response.context["page"].object_list) == 25
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/staff/members/", {"page": 2, "sort": "name"})
    assert len(response.context["page"].object_list) == 8
