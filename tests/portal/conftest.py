import pytest

from tests.matching.factories import person
from tests.matchmakers.factories import UserFactory

PORTAL_STAFF_PERMS = [
    "matchmakers.view_members", "matchmakers.edit_members", "matchmakers.add_messages", "matchmakers.view_messages",
    "matchmakers.login_as_member",
]  # fmt: skip


@pytest.fixture
def matchmaker(agency):
    """An after-sale matchmaker with the portal rights, in a branch of their own."""
    return UserFactory(agency=agency, username="hongniang", perms=PORTAL_STAFF_PERMS)


@pytest.fixture
def colleague(agency):
    """A matchmaker with the same rights in a sibling branch: outside `matchmaker`'s role tree."""
    return UserFactory(agency=agency, username="colleague", perms=PORTAL_STAFF_PERMS)


@pytest.fixture
def she(agency, matchmaker):
    return person(agency, "female", 28, owner=matchmaker, name="林小雨", email="xiaoyu@example.com")


@pytest.fixture
def he(agency, colleague):
    return person(agency, "male", 30, owner=colleague, name="周明")
