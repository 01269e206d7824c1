"""Shares pass a member to one colleague; only the member's matchmakers and their superiors share."""

import pytest

from apps.agencies.context import agency_context
from apps.members.models import Member, MemberShare
from apps.members.services import member_share
from tests.conftest import agency_client
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

PERMS = ["matchmakers.view_members", "matchmakers.edit_members"]


def test_a_colleague_who_sees_a_member_only_through_a_share_cannot_pass_it_on_or_revoke_shares(agency):
    owner = UserFactory(agency=agency, username="owner", perms=PERMS)
    guest = UserFactory(agency=agency, username="guest", perms=PERMS)
    third = UserFactory(agency=agency, username="third", perms=PERMS)
    member = Member.unscoped.create(agency=agency, member_no="M1", name="甲", gender="female", phone="13800000001",
                                    presale_owner=owner)  # fmt: skip
    with agency_context(agency):
        member_share(agency=agency, actor=owner, member=member, with_user=guest)
    guest_client = agency_client(agency, guest)
    assert guest_client.get(f"/staff/members/{member.pk}/").status_code == 200  # the share works

    assert guest_client.post(f"/staff/members/{member.pk}/share/", {"user": third.pk}).status_code == 403
    assert not MemberShare.unscoped.filter(user=third).exists()
    revoke = guest_client.post(f"/staff/members/{member.pk}/share/{guest.pk}/revoke/")
    assert revoke.status_code == 403
    assert MemberShare.unscoped.filter(user=guest).exists()

    owner_client = agency_client(agency, owner)
    assert owner_client.post(f"/staff/members/{member.pk}/share/{guest.pk}/revoke/").status_code == 302
    assert not MemberShare.unscoped.filter(user=guest).exists()
