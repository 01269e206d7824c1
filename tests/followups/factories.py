"""After-sale test data: a branch of after-sale staff and the members they serve."""

import itertools

from apps.agencies.context import agency_context
from apps.followups import services
from apps.members.models import Member
from tests.matchmakers.factories import RoleFactory, UserFactory, root_role

AFTERSALE = [
    "matchmakers.view_members", "matchmakers.edit_members", "matchmakers.view_followups",
    "matchmakers.add_followups", "matchmakers.edit_followups",
]  # fmt: skip
MANAGER = [*AFTERSALE, "matchmakers.audit_members", "matchmakers.view_assignment", "matchmakers.assign_members"]

_numbers = itertools.count(1)


def aftersale_team(agency) -> dict:
    """manager → {lead_a → a1, a1_peer (same role); lead_b → b1}, each role with the rights of the job."""
    manager_role = RoleFactory(agency=agency, parent=root_role(agency), perms=MANAGER)
    a_role = RoleFactory(agency=agency, parent=manager_role, perms=AFTERSALE)
    b_role = RoleFactory(agency=agency, parent=manager_role, perms=AFTERSALE)
    a1_role = RoleFactory(agency=agency, parent=a_role, perms=AFTERSALE)
    b1_role = RoleFactory(agency=agency, parent=b_role, perms=AFTERSALE)
    return {
        "manager": UserFactory(agency=agency, username="manager", name="王经理", role=manager_role),
        "lead_a": UserFactory(agency=agency, username="lead_a", name="甲组长", role=a_role),
        "lead_b": UserFactory(agency=agency, username="lead_b", name="乙组长", role=b_role),
        "a1": UserFactory(agency=agency, username="a1", name="甲一", role=a1_role),
        "a1_peer": UserFactory(agency=agency, username="a1_peer", name="甲二", role=a1_role),
        "b1": UserFactory(agency=agency, username="b1", name="乙一", role=b1_role),
    }


def served(agency, owner=None, *, status="in_service", name=None, **fields) -> Member:
    """A member in after-sale service (by default) with `owner` as after-sale matchmaker."""
    n = next(_numbers)
    return Member.unscoped.create(
        agency=agency, member_no=f"S{n:06d}", name=name or f"会员{n}", gender="female" if n % 2 else "male",
        phone=f"135{n:08d}", aftersale_owner=owner, status=status, **fields,
    )  # fmt: skip


def at_stage(agency, member, stage, actor=None):
    with agency_context(agency):
        return services.stage_enter(agency=agency, member=member, stage=stage, actor=actor)
