"""Booking, the appointment state machine, entitlements, the two-hour rule and recommendations."""

import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.utils import timezone, translation

from apps.agencies.context import agency_context
from apps.appointments import services
from apps.appointments.models import Appointment, AppointmentEvent, AppointmentFeedback
from apps.finance.models import Contract
from apps.matching.models import Recommendation
from apps.members.timeline import member_timeline
from tests.appointments.factories import book, move_to_past, served_member, service_team, soon
from tests.finance.factories import member
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def team(agency):
    return service_team(agency)


@pytest.fixture
def pair(agency, team):
    """Two members in service, one served by the matchmaker and one by a colleague of another branch."""
    return (
        served_member(agency, team, name="王小明"),
        served_member(agency, team, matchmaker=team["colleague"], name="李晓雨"),
    )


def used(person) -> int:
    return Contract.unscoped.get(member=person, status="approved").appointments_used


def kinds(appointment) -> list[str]:
    return list(AppointmentEvent.unscoped.filter(appointment=appointment).order_by("id").values_list("kind", flat=True))


def act(agency, service, **kwargs):
    with agency_context(agency):
        return service(agency=agency, **kwargs)


# --- booking ---------------------------------------------------------------------------------------


def test_booking_counts_one_appointment_from_each_members_contract_and_records_the_matchmakers(agency, team, pair):
    member_a, member_b = pair
    appointment = book(agency, team["matchmaker"], member_a, member_b)
    assert appointment.status == "planned"
    assert (used(member_a), used(member_b)) == (1, 1)
    assert (appointment.matchmaker_a, appointment.matchmaker_b) == (team["matchmaker"], team["colleague"])
    assert appointment.arranged_by == team["matchmaker"]
    assert kinds(appointment) == ["booked"]


def test_booking_is_refused_when_either_member_has_used_up_their_appointments(agency, team):
    member_a = served_member(agency, team, appointments=1)
    member_b = served_member(agency, team, appointments=5)
    book(agency, team["matchmaker"], member_a, member_b)
    third = served_member(agency, team, appointments=5)
    for first, second in ((member_a, third), (third, member_a)):  # used up on either side
        with pytest.raises(ValidationError, match=re.escape(f"{member_a} has used all 1 appointments of contract")):
            book(agency, team["matchmaker"], first, second, starts_at=soon(96))
    assert (used(member_a), used(member_b), used(third)) == (1, 1, 0)  # nothing taken from the other side
    assert Appointment.unscoped.count() == 1


def test_booking_is_refused_for_a_member_without_an_effective_contract_and_names_both(agency, team):
    lead_a = member(agency, team["sales"], aftersale=team["matchmaker"], name="赵一")
    lead_b = member(agency, team["sales"], aftersale=team["matchmaker"], name="钱二")
    with pytest.raises(ValidationError) as error:
        book(agency, team["matchmaker"], lead_a, lead_b)
    assert error.value.messages == [f"{lead_a} has no effective contract.", f"{lead_b} has no effective contract."]
    assert not Appointment.unscoped.exists()


def test_a_member_cannot_have_two_planned_appointments_within_two_hours(agency, team, pair):
    member_a, member_b = pair
    first = book(agency, team["matchmaker"], member_a, member_b, starts_at=soon(48))
    other = served_member(agency, team)
    for delta in (datetime.timedelta(hours=1, minutes=59), -datetime.timedelta(hours=1), datetime.timedelta(0)):
        with pytest.raises(ValidationError, match="at least two hours apart"):
            book(agency, team["matchmaker"], other, member_b, starts_at=first.starts_at + delta)
    assert used(other) == 0
    book(agency, team["matchmaker"], other, member_b, starts_at=first.starts_at + datetime.timedelta(hours=2))
    assert used(member_b) == 2


def test_a_cancelled_appointment_does_not_block_the_time(agency, team, pair):
    member_a, member_b = pair
    first = book(agency, team["matchmaker"], member_a, member_b)
    act(agency, services.appointment_cancel, actor=team["matchmaker"], appointment=first)
    book(agency, team["matchmaker"], member_a, member_b, starts_at=first.starts_at)


def test_booking_in_the_past_or_with_oneself_or_without_a_place_is_refused(agency, team, pair):
    member_a, member_b = pair
    with pytest.raises(ValidationError, match="Choose a time in the future"):
        book(agency, team["matchmaker"], member_a, member_b, starts_at=timezone.now() - datetime.timedelta(hours=1))
    with pytest.raises(ValidationError, match="two different members"):
        book(agency, team["matchmaker"], member_a, member_a)
    with pytest.raises(ValidationError, match="Say where they meet"):
        book(agency, team["matchmaker"], member_a, member_b, place="  ")
    assert (used(member_a), used(member_b)) == (0, 0)


def test_booking_needs_the_right_and_at_least_one_visible_member(agency, team, pair, other_agency):
    member_a, member_b = pair
    viewer = UserFactory(agency=agency, perms=["matchmakers.view_appointments"])
    with pytest.raises(PermissionDenied):
        book(agency, viewer, member_a, member_b)
    outsider_pair = (served_member(agency, team, matchmaker=team["manager"]),
                     served_member(agency, team, matchmaker=team["manager"]))  # fmt: skip
    with pytest.raises(PermissionDenied, match="neither"):
        book(agency, team["matchmaker"], *outsider_pair)
    foreign = member(other_agency)
    with pytest.raises(PermissionDenied, match="another agency"):
        book(agency, team["matchmaker"], member_a, foreign)
    # The colleague sees only the second member: enough to book them together.
    book(agency, team["colleague"], member_a, member_b)


# --- recommendations -------------------------------------------------------------------------------


def recommendation(agency, team, member_a, member_b, status):
    return Recommendation.unscoped.create(
        agency=agency, member=member_a, candidate=member_b, score=80, reason="同城,爱好相近", status=status,
        recommended_by=team["matchmaker"],
    )  # fmt: skip


def test_booking_from_an_accepted_recommendation_moves_it_to_appointment_and_cancelling_reopens_it(agency, team, pair):
    member_a, member_b = pair
    rec = recommendation(agency, team, member_a, member_b, "accepted")
    appointment = book(agency, team["matchmaker"], member_a, member_b, recommendation=rec)
    rec.refresh_from_db()
    assert rec.status == "appointment" and appointment.recommendation == rec
    act(agency, services.appointment_cancel, actor=team["matchmaker"], appointment=appointment)
    rec.refresh_from_db()
    assert rec.status == "accepted"


@pytest.mark.parametrize("status", ["proposed", "member_accepted", "member_declined", "candidate_declined",
                                    "appointment"])  # fmt: skip
def test_a_recommendation_not_accepted_by_both_sides_cannot_be_booked(agency, team, pair, status):
    member_a, member_b = pair
    rec = recommendation(agency, team, member_a, member_b, status)
    with pytest.raises(ValidationError, match="Only a recommendation both sides accepted"):
        book(agency, team["matchmaker"], member_a, member_b, recommendation=rec)
    rec.refresh_from_db()
    assert rec.status == status and used(member_a) == 0


def test_a_recommendation_of_other_members_cannot_be_used(agency, team, pair):
    member_a, member_b = pair
    rec = recommendation(agency, team, member_a, served_member(agency, team), "accepted")
    with pytest.raises(ValidationError, match="about other members"):
        book(agency, team["matchmaker"], member_a, member_b, recommendation=rec)


# --- the state machine -----------------------------------------------------------------------------


def test_cancelling_gives_the_appointment_back_to_both_contracts(agency, team, pair):
    member_a, member_b = pair
    appointment = book(agency, team["matchmaker"], member_a, member_b)
    cancelled = act(agency, services.appointment_cancel, actor=team["colleague"], appointment=appointment,
                    reason="女方出差")  # fmt: skip
    assert cancelled.status == "cancelled" and cancelled.closed_by == team["colleague"]
    assert (used(member_a), used(member_b)) == (0, 0)
    assert kinds(appointment) == ["booked", "cancelled"]
    assert AppointmentEvent.unscoped.get(appointment=appointment, kind="cancelled").note == "女方出差"


def test_a_no_show_keeps_the_appointments_counted_and_says_who_did_not_come(agency, team, pair):
    member_a, member_b = pair
    appointment = move_to_past(book(agency, team["matchmaker"], member_a, member_b))
    closed = act(agency, services.appointment_no_show, actor=team["matchmaker"], appointment=appointment,
                 absent="member_b")  # fmt: skip
    assert (closed.status, closed.absent) == ("no_show", "member_b")
    assert (used(member_a), used(member_b)) == (1, 1)


def test_results_are_recorded_only_after_the_appointment_started(agency, team, pair):
    appointment = book(agency, team["matchmaker"], *pair)
    with pytest.raises(ValidationError, match="has not started yet"):
        act(agency, services.appointment_complete, actor=team["matchmaker"], appointment=appointment)
    with pytest.raises(ValidationError, match="has not started yet"):
        act(agency, services.appointment_no_show, actor=team["matchmaker"], appointment=appointment, absent="both")
    appointment.refresh_from_db()
    assert appointment.status == "planned"


@pytest.mark.parametrize("closing", ["done", "cancelled", "no_show"])
def test_a_closed_appointment_cannot_change_state_again(agency, team, pair, closing):
    appointment = book(agency, team["matchmaker"], *pair)
    if closing == "cancelled":  # cancelled before the time; held and no-show after it
        act(agency, services.appointment_cancel, actor=team["matchmaker"], appointment=appointment)
    appointment = move_to_past(appointment)
    close = {
        "done": lambda: act(agency, services.appointment_complete, actor=team["matchmaker"], appointment=appointment),
        "cancelled": lambda: act(agency, services.appointment_cancel, actor=team["matchmaker"],
                                 appointment=appointment),
        "no_show": lambda: act(agency, services.appointment_no_show, actor=team["matchmaker"],
                               appointment=appointment, absent="both"),
    }  # fmt: skip
    if closing != "cancelled":
        close[closing]()
    for name, again in close.items():
        with pytest.raises(ValidationError, match="already"):
            again()
        appointment.refresh_from_db()
        assert appointment.status == closing, name
    with pytest.raises(ValidationError, match="Only planned appointments can be changed"):
        act(agency, services.appointment_reschedule, actor=team["matchmaker"], appointment=appointment,
            starts_at=soon(), place="别处")  # fmt: skip
    assert used(pair[0]) == (0 if closing == "cancelled" else 1)  # given back once, not twice


def test_feedback_and_outcome_need_a_done_appointment_and_are_recorded_per_side(agency, team, pair):
    member_a, member_b = pair
    appointment = move_to_past(book(agency, team["matchmaker"], member_a, member_b))
    with pytest.raises(ValidationError, match="once the appointment has taken place"):
        act(agency, services.feedback_record, actor=team["matchmaker"], appointment=appointment, member=member_a,
            rating=4, wants_to_continue=True)  # fmt: skip
    with pytest.raises(ValidationError, match="once the appointment has taken place"):
        act(agency, services.outcome_record, actor=team["matchmaker"], appointment=appointment, outcome="continue")
    act(agency, services.appointment_complete, actor=team["matchmaker"], appointment=appointment)
    act(agency, services.feedback_record, actor=team["matchmaker"], appointment=appointment, member=member_a,
        rating=4, text="聊得很开心", wants_to_continue=True)  # fmt: skip
    act(agency, services.feedback_record, actor=team["colleague"], appointment=appointment, member=member_b,
        rating=2, wants_to_continue=False)  # fmt: skip
    act(agency, services.feedback_record, actor=team["colleague"], appointment=appointment, member=member_b,
        rating=3, wants_to_continue=True)  # fmt: skip  # recorded again: replaces
    rows = {f.member_id: (f.rating, f.wants_to_continue) for f in AppointmentFeedback.unscoped.all()}
    assert rows == {member_a.pk: (4, True), member_b.pk: (3, True)}
    with pytest.raises(ValidationError, match="rating from 1 to 5"):
        act(agency, services.feedback_record, actor=team["matchmaker"], appointment=appointment, member=member_a,
            rating=6, wants_to_continue=True)  # fmt: skip
    with pytest.raises(ValidationError, match="one of the two members"):
        act(agency, services.feedback_record, actor=team["matchmaker"], appointment=appointment,
            member=served_member(agency, team), rating=3, wants_to_continue=True)  # fmt: skip
    act(agency, services.outcome_record, actor=team["matchmaker"], appointment=appointment, outcome="relationship")
    with pytest.raises(ValidationError, match="Choose an outcome"):
        act(agency, services.outcome_record, actor=team["matchmaker"], appointment=appointment, outcome="divorced")
    appointment.refresh_from_db()
    assert appointment.outcome == "relationship"
    assert kinds(appointment) == ["booked", "done", "feedback", "feedback", "feedback", "outcome"]


def test_rescheduling_keeps_the_two_hour_rule_and_records_the_change(agency, team, pair):
    member_a, member_b = pair
    first = book(agency, team["matchmaker"], member_a, member_b, starts_at=soon(48))
    second = book(agency, team["matchmaker"], member_a, served_member(agency, team), starts_at=soon(72))
    with pytest.raises(ValidationError, match="at least two hours apart"):
        act(agency, services.appointment_reschedule, actor=team["matchmaker"], appointment=second,
            starts_at=first.starts_at + datetime.timedelta(minutes=30), place="同一家店")  # fmt: skip
    moved = act(agency, services.appointment_reschedule, actor=team["matchmaker"], appointment=first,
                starts_at=first.starts_at + datetime.timedelta(minutes=30), place="湖滨银泰")  # fmt: skip
    assert moved.place == "湖滨银泰"  # its own old time does not count against it
    assert "湖滨银泰" in AppointmentEvent.unscoped.get(appointment=first, kind="rescheduled").note


def test_changing_appointments_needs_the_edit_right(agency, team, pair):
    appointment = book(agency, team["matchmaker"], *pair)
    viewer = UserFactory(agency=agency, perms=["matchmakers.view_members", "matchmakers.view_appointments",
                                               "matchmakers.add_appointments"])  # fmt: skip
    with pytest.raises(PermissionDenied):
        act(agency, services.appointment_cancel, actor=viewer, appointment=appointment)
    assert used(pair[0]) == 1


def test_the_database_refuses_an_absent_member_outside_a_no_show(agency, team, pair):
    appointment = book(agency, team["matchmaker"], *pair)
    with pytest.raises(IntegrityError):
        Appointment.unscoped.filter(pk=appointment.pk).update(absent="member_a")


def test_both_members_timelines_show_every_change(agency, team, pair):
    member_a, member_b = pair
    appointment = book(agency, team["matchmaker"], member_a, member_b)
    act(agency, services.appointment_cancel, actor=team["matchmaker"], appointment=appointment)
    with agency_context(agency):
        for person, other in ((member_a, member_b), (member_b, member_a)):
            titles = [event.title for event in member_timeline(member=person, user=team["matchmaker"])
                      if event.kind == "appointment"]  # fmt: skip
            assert len(titles) == 2
            assert all(f"Appointment with {other.name}" in title for title in titles)
            assert titles[0].endswith("Cancelled") and titles[1].endswith("Booked")
        no_right = UserFactory(agency=agency, perms=["matchmakers.view_members"])
        assert not [e for e in member_timeline(member=member_a, user=no_right) if e.kind == "appointment"]


def test_once_the_time_has_come_an_appointment_is_held_or_missed_not_cancelled(agency, team, pair):
    appointment = move_to_past(book(agency, team["matchmaker"], *pair))
    with pytest.raises(ValidationError, match="time has passed"):
        act(agency, services.appointment_cancel, actor=team["matchmaker"], appointment=appointment)
    appointment.refresh_from_db()
    assert appointment.status == "planned" and (used(pair[0]), used(pair[1])) == (1, 1)
