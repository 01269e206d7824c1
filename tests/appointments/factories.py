"""Appointment and success-story test data, reached through the finance and appointment services."""

import datetime

from django.utils import timezone

from apps.agencies.context import agency_context
from apps.appointments import services
from apps.appointments.models import Appointment
from tests.finance.factories import PackageFactory, contract, finance_team, member
from tests.matchmakers.factories import RoleFactory, UserFactory

APPOINTMENT_PERMS = [
    "matchmakers.view_members", "matchmakers.view_appointments", "matchmakers.add_appointments",
    "matchmakers.edit_appointments",
]  # fmt: skip
STORY_PERMS = ["matchmakers.view_members", "matchmakers.view_stories", "matchmakers.add_stories",
               "matchmakers.edit_stories"]  # fmt: skip
ALL_PERMS = sorted({*APPOINTMENT_PERMS, *STORY_PERMS, "matchmakers.audit_stories"})


def service_team(agency) -> dict:
    """Finance and sales (for the contracts), two after-sale matchmakers in sibling branches, a publisher."""
    team = finance_team(agency)
    team["matchmaker"] = UserFactory(agency=agency, username="aftersale", perms=[*APPOINTMENT_PERMS, *STORY_PERMS])
    team["colleague"] = UserFactory(agency=agency, username="colleague", perms=[*APPOINTMENT_PERMS, *STORY_PERMS])
    team["publisher"] = UserFactory(
        agency=agency,
        username="publisher",
        role=RoleFactory(agency=agency, perms=[*STORY_PERMS, "matchmakers.audit_stories"]),
    )
    return team  # fmt: skip


def served_member(agency, team, *, matchmaker=None, appointments: int = 3, name=None):
    """A member in service with an effective contract granting `appointments` appointments."""
    person = member(agency, team["sales"], name=name, aftersale=matchmaker or team["matchmaker"])
    contract(agency, sales=team["sales"], finance=team["finance"], member_obj=person, status="approved",
             package=PackageFactory(agency=agency, appointments=appointments))  # fmt: skip
    person.refresh_from_db()
    return person


def soon(hours: int = 48) -> datetime.datetime:
    return (timezone.now() + datetime.timedelta(hours=hours)).replace(second=0, microsecond=0)


def book(agency, actor, member_a, member_b, *, starts_at=None, place="星巴克(西湖店)", **kwargs) -> Appointment:
    with agency_context(agency):
        return services.appointment_book(agency=agency, actor=actor, member_a=member_a, member_b=member_b,
                                         starts_at=starts_at or soon(), place=place, **kwargs)  # fmt: skip


def move_to_past(appointment: Appointment, hours: int = 2) -> Appointment:
    """The meeting time has come (bookings must be in the future, results recorded after it)."""
    Appointment.unscoped.filter(pk=appointment.pk).update(starts_at=timezone.now() - datetime.timedelta(hours=hours))
    appointment.refresh_from_db()
    return appointment
