"""Failing tests that demonstrate review findings (one test per finding)."""

import datetime
import itertools

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import get_resolver
from django.views.static import serve

from apps.agencies.context import agency_context
from apps.matchmakers import services as staff_services
from apps.matchmakers.models import Role
from apps.members import selectors as member_selectors
from apps.members.models import ContactReveal, Member
from apps.members.selectors import member_visible_list
from apps.members.services import member_create, member_photo_add
from tests.conftest import agency_client, image_bytes
from tests.matchmakers.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db

VIEW = "matchmakers.view_members"
ADD = "matchmakers.add_members"
EDIT = "matchmakers.edit_members"
REVEAL = "matchmakers.reveal_contact"
ASSIGN = "matchmakers.assign_members"
STAFF = [VIEW, ADD, EDIT]

PHONE = "13800138000"
WECHAT = "xiaoyu_lin_88"
ID_NUMBER = "330106199205170028"

_numbers = itertools.count(1)


def make_member(agency, owner, **fields) -> Member:
    fields.setdefault("name", f"会员{next(_numbers)}")
    fields.setdefault("gender", "female")
    fields.setdefault("phone", f"139{next(_numbers):08d}")
    with agency_context(agency):
        return member_create(agency=agency, actor=owner, **fields)


def put_under(boss, user) -> None:
    with agency_context(user.agency):
        Role.objects.get(pk=user.role_id).move_to(Role.objects.get(pk=boss.role_id), "last-child")


@pytest.fixture
def media_served_from_test_root(settings, monkeypatch):
    """The /media/ route captured MEDIA_ROOT at import time; point it at this test's MEDIA_ROOT."""
    for urlconf in (settings.ROOT_URLCONF, settings.PLATFORM_URLCONF):
        for pattern in get_resolver(urlconf).url_patterns:
            if getattr(pattern, "callback", None) is serve:
                monkeypatch.setitem(pattern.default_args, "document_root", str(settings.MEDIA_ROOT))


# --- 1. member photos are public files: anyone, on any agency's host, fetches them without a login ------


def test_a_member_photo_is_not_served_to_an_anonymous_visitor_of_another_agency(
    agency, other_agency, media_served_from_test_root
):
    owner = UserFactory(agency=agency, perms=STAFF)
    member = make_member(agency, owner)
    with agency_context(agency):
        photo = member_photo_add(
            agency=agency, actor=owner, member=member,
            image=SimpleUploadedFile("face.png", image_bytes(), content_type="image/png"),
        )  # fmt: skip
    # The file has no public URL: not under MEDIA_ROOT, and its checked view needs a login here.
    public_guess = f"/media/{photo.image.name}"
    assert agency_client(other_agency).get(public_guess).status_code == 404
    assert agency_client(agency).get(public_guess).status_code == 404
    checked = f"/staff/members/{member.pk}/photos/{photo.pk}/"
    assert agency_client(agency).get(checked).status_code == 302  # to the login page
    assert agency_client(agency, owner).get(checked).status_code == 200


# --- 2. the edit form shows full contacts to reveal roles without a ContactReveal row ---------------------


def test_the_edit_form_does_not_reveal_contacts_without_logging_the_reveal(agency):
    matchmaker = UserFactory(agency=agency, username="lin", perms=STAFF)
    lead = UserFactory(agency=agency, username="lead", perms=[*STAFF, REVEAL])
    put_under(lead, matchmaker)
    member = make_member(agency, matchmaker, phone=PHONE, wechat=WECHAT, id_number=ID_NUMBER)

    response = agency_client(agency, lead).get(f"/staff/members/{member.pk}/edit/")
    assert response.status_code == 200
    shown = [value for value in (PHONE, WECHAT, ID_NUMBER) if value in response.text]
    logged = ContactReveal.unscoped.filter(member=member, user=lead).count()
    assert not shown or logged, f"{shown} shown in full with {logged} reveal rows"


# --- 3. an out-of-range age filter is a 500 ---------------------------------------------------------------


@pytest.mark.parametrize("query", ["age_min=3000", "age_max=9999"])
def test_an_out_of_range_age_filter_is_not_a_server_error(agency, query):
    user = UserFactory(agency=agency, perms=STAFF)
    make_member(agency, user)
    client = agency_client(agency, user)
    client.raise_request_exception = False
    assert client.get(f"/staff/members/?{query}").status_code == 200


# --- 4. a manager hands out, through a role below, a permission they do not hold --------------------------


def test_a_manager_cannot_create_an_account_holding_a_permission_they_lack(agency):
    roles = {role.name: role for role in Role.unscoped.filter(agency=agency)}
    manager = UserFactory(agency=agency, username="manager", role=roles["红娘经理"])
    # The agency admin set up a senior role under the manager with a right the manager lacks.
    senior = RoleFactory(agency=agency, name="资深红娘", parent=roles["红娘经理"], perms=["matchmakers.delete_members"])
    assert not manager.has_perm("matchmakers.delete_members")

    with agency_context(agency), pytest.raises(PermissionDenied):
        staff_services.staff_create(
            agency=agency, actor=manager, username="sock", password="Red-Thread-Match-2024", role=senior, name="马甲"
        )


# --- 5. after-sale assignment takes any member without an after-sale owner, across branches ---------------


def test_assigning_an_after_sale_owner_cannot_take_a_lead_of_another_branch(agency):
    from apps.followups.services import members_assign

    other_branch = UserFactory(agency=agency, username="other", perms=STAFF)
    assigner = UserFactory(agency=agency, username="assigner", perms=[VIEW, ASSIGN])
    lead = make_member(agency, other_branch)  # a presale lead of a sibling branch, no after-sale owner
    with agency_context(agency):
        assert not member_visible_list(user=assigner).filter(pk=lead.pk).exists()
        with pytest.raises(PermissionDenied):
            members_assign(agency=agency, actor=assigner, member_ids=[lead.pk], to_user=assigner, role="aftersale")
        assert not member_visible_list(user=assigner).filter(pk=lead.pk).exists()


def test_a_share_cannot_be_turned_into_lasting_after_sale_ownership_through_reassignment(agency):
    from apps.members.services import member_share, member_unshare

    owner = UserFactory(agency=agency, username="owner", perms=STAFF)
    assigner = UserFactory(agency=agency, username="assigner", perms=[VIEW, ASSIGN])
    lead = make_member(agency, owner)
    with agency_context(agency):
        member_share(agency=agency, actor=owner, member=lead, with_user=assigner)
    response = agency_client(agency, assigner).post(
        "/staff/assignment/reassign/", {"role": "aftersale", "members": [lead.pk], "to_user": assigner.pk}
    )
    assert response.status_code in (302, 400)
    with agency_context(agency):
        member_unshare(agency=agency, actor=owner, member=lead, with_user=assigner)
        assert not member_visible_list(user=assigner).filter(pk=lead.pk).exists(), "the share outlived its revocation"


# --- 6. 29 February birthdays vanish from the week and month windows in a common year ----------------------


@pytest.mark.parametrize("window", ["week", "month"])
def test_a_29_february_birthday_shows_in_a_window_that_holds_28_february_of_a_common_year(agency, monkeypatch, window):
    owner = UserFactory(agency=agency, perms=STAFF)
    leapling = make_member(agency, owner, birth_date=datetime.date(1992, 2, 29))
    monkeypatch.setattr(member_selectors.timezone, "localdate", lambda: datetime.date(2027, 2, 25))
    with agency_context(agency):
        listed = list(member_selectors.birthday_list(user=owner, window=window).values_list("pk", flat=True))
    assert leapling.pk in listed


# --- 7. the phone filter is an oracle on the digits the mask hides ---------------------------------------


def test_the_phone_filter_does_not_unmask_digits_for_a_role_without_reveal(agency):
    matchmaker = UserFactory(agency=agency, username="lin", perms=STAFF)
    finance = UserFactory(agency=agency, username="finance", perms=[VIEW])  # may list members, not reveal them
    put_under(finance, matchmaker)
    member = make_member(agency, matchmaker, phone=PHONE)
    client = agency_client(agency, finance)
    assert "138****8000" in client.get("/staff/members/").text

    # Two guesses that differ only in the masked middle digits (138 0013 8000 vs 138 9999 8000).
    right = client.get("/staff/members/", {"q": member.member_no, "phone": "13800138"})
    wrong = client.get("/staff/members/", {"q": member.member_no, "phone": "13899998"})
    assert (member.name in right.text) == (member.name in wrong.text), "the list confirms the hidden digits"


# --- 8. a non-ASCII digit in the bulk-assignment form is a 500 ----------------------------------------------


def test_a_unicode_digit_in_the_assignment_form_is_not_a_server_error(agency):
    assigner = UserFactory(agency=agency, perms=[VIEW, ASSIGN, "matchmakers.view_assignment"])
    client = agency_client(agency, assigner)
    client.raise_request_exception = False
    response = client.post("/staff/assignment/", {"members": ["²"], "to_user": assigner.pk})
    assert response.status_code == 400
