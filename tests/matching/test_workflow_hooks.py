"""The service workflow (F-F9) follows what happens: after-sale assignment, a first recommendation, a
booked meeting, a meeting done."""

import pytest

from apps.agencies.context import agency_context
from apps.appointments import services as appointment_services
from apps.followups.models import ServiceStage
from apps.followups.services import members_assign
from apps.members.models import Member
from tests.appointments.factories import book, move_to_past, served_member, service_team
from tests.finance.factories import contract
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db


def stage_of(member):
    row = ServiceStage.unscoped.filter(member=member).first()
    return row.stage if row else None


def test_assigning_a_signed_member_starts_service_and_the_workflow(agency):
    team = service_team(agency)
    signed = contract(agency, sales=team["sales"], finance=team["finance"], status="approved").member
    assert Member.unscoped.get(pk=signed.pk).status == "signed" and stage_of(signed) is None
    boss = UserFactory(agency=agency, role=team["finance"].role.parent)  # the agency admin
    with agency_context(agency):
        members_assign(agency=agency, actor=boss, member_ids=[signed.pk], to_user=team["matchmaker"], role="aftersale")
    signed.refresh_from_db()
    assert (signed.status, signed.service_status, stage_of(signed)) == ("in_service", "active", "consulted")


def test_a_booked_then_held_meeting_moves_both_members_on(agency):
    team = service_team(agency)
    her, him = served_member(agency, team, name="林若溪"), served_member(agency, team, name="张明远")
    Member.unscoped.filter(pk=him.pk).update(gender="male")
    appointment = book(agency, team["matchmaker"], her, him)
    assert stage_of(her) == stage_of(him) == "meeting_arranged"
    move_to_past(appointment)
    with agency_context(agency):
        appointment_services.appointment_complete(agency=agency, actor=team["matchmaker"], appointment=appointment)
    assert stage_of(her) == stage_of(him) == "feedback"
