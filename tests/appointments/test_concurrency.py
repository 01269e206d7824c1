"""Two matchmakers book the same member at the same hour on two connections: only one booking stands."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from apps.appointments.models import Appointment
from apps.finance.models import Contract
from tests.appointments.factories import book, served_member, service_team, soon

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_bookings_of_one_member_at_one_hour_leave_exactly_one(agency):
    team = service_team(agency)
    her = served_member(agency, team, name="林若溪")
    first, second = served_member(agency, team, name="张明远"), served_member(agency, team, name="王浩然")
    when = soon(72)
    barrier, results = threading.Barrier(2), []

    def attempt(other):
        try:
            barrier.wait(10)
            book(agency, team["matchmaker"], her, other, starts_at=when)
            results.append("booked")
        except ValidationError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(other,)) for other in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == ["booked", "refused"]
    assert Appointment.unscoped.filter(agency=agency).count() == 1
    # Only the booking that stood used her appointment entitlement.
    assert Contract.unscoped.get(member=her).appointments_used == 1
