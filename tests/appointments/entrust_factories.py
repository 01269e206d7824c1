"""Test data for entrust requests and members' cards (F-F6): a matchable couple in two sibling branches."""

import datetime

from django.utils import timezone

from apps.agencies.context import agency_context
from apps.appointments import entrust
from apps.appointments.models import EntrustRequest, SuccessStory
from apps.members.models import Member
from tests.finance.factories import PackageFactory, contract, finance_team
from tests.matching.factories import person
from tests.matchmakers.factories import RoleFactory, UserFactory

MATCHMAKER = ["matchmakers.view_members", "matchmakers.edit_members", "matchmakers.view_matches",
              "matchmakers.add_matches", "matchmakers.edit_matches"]  # fmt: skip


def entrust_world(agency, *, contract_for_her: bool = True) -> dict:
    """A manager → her matchmaker branch and a sibling branch (his matchmaker); she (28, in service, with
    an effective contract of 2 recommendations) and him (31), whose card is published."""
    team = finance_team(agency)
    manager_role = RoleFactory(agency=agency, perms=MATCHMAKER)
    manager = UserFactory(agency=agency, username="mm_manager", role=manager_role)
    hers = UserFactory(agency=agency, username="hers", role=RoleFactory(agency=agency, parent=manager_role,
                                                                        perms=MATCHMAKER))  # fmt: skip
    his = UserFactory(agency=agency, username="his", perms=MATCHMAKER)
    her = person(agency, "female", 28, owner=hers, name="林若溪", presale_owner=team["sales"])
    him = person(agency, "male", 31, owner=his, name="张明远", published=True, self_intro="喜欢爬山和做饭。")
    if contract_for_her:
        contract(agency, sales=team["sales"], finance=team["finance"], member_obj=her, status="approved",
                 package=PackageFactory(agency=agency, recommendations=2),
                 service_start=timezone.localdate() - datetime.timedelta(days=1))  # fmt: skip
    return {**team, "manager": manager, "hers": hers, "his": his, "her": her, "him": him}


def card(agency, gender="male", age=30, **fields) -> Member:
    """A published member of the agency, as a card in the portal."""
    return person(agency, gender, age, published=True, **fields)


def ask(agency, member, target=None, story=None, note="") -> EntrustRequest:
    with agency_context(agency):
        return entrust.entrust_request(agency=agency, member=member, target=target, story=story, note=note)


def published_story(agency, author, member_a, member_b, title="相识三个月后订婚") -> SuccessStory:
    return SuccessStory.unscoped.create(
        agency=agency, member_a=member_a, member_b=member_b, title=title, text="他们在一次读书会上相识。",
        story_date=timezone.localdate() - datetime.timedelta(days=30), consent_a=True, consent_b=True,
        is_published=True, published_at=timezone.now(), created_by=author,
    )  # fmt: skip
