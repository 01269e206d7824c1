"""Portal accounts and logged-in member browsers for tests."""

from django.conf import settings
from django.test import Client

from apps.portal import auth
from apps.portal.models import MemberAccount
from tests.conftest import agency_client

PASSWORD = "Xingfu-2026!"


def account(member, password: str = PASSWORD) -> MemberAccount:
    """An active portal account, as after the member accepted an invitation."""
    found = MemberAccount.unscoped.filter(agency_id=member.agency_id, member=member).first()
    found = found or MemberAccount(agency_id=member.agency_id, member=member)
    found.is_active = True
    found.set_password(password)
    found.save()
    return found


def member_client(agency, member, client: Client | None = None) -> Client:
    """A browser on the agency's host with `member` logged in to the portal (their account is made)."""
    client = client or agency_client(agency)
    member_account = account(member)
    session = client.session
    session[auth.MEMBER_KEY] = member.pk
    session[auth.HASH_KEY] = auth._session_hash(member_account)
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client
