"""Appointment pages: lists by tab, members not arranged, booking, the appointment page and its actions,
and the member page's panel.

Each: the happy path, bad input, a user of another agency, a role without the right.
"""

import datetime

import pytest
from django.contrib.auth.context_processors import PermWrapper
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from apps.agencies.context import agency_context
from apps.appointments.models import Appointment, AppointmentFeedback
from apps.finance.models import Contract
from apps.matching.models import Recommendation
from tests.appointments.factories import ALL_PERMS, book, move_to_past, served_member, service_team, soon
from tests.conftest import agency_client
from tests.finance.factories import member
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def url(name, *args):
    return reverse(f"appointments:{name}", args=args)


@pytest.fixture
def team(agency):
    return service_team(agency)


@pytest.fixture
def pair(agency, team):
    return (
        served_member(agency, team, name="王小明", appointments=30),
        served_member(agency, team, matchmaker=team["colleague"], name="李晓雨", appointments=30),
    )


@pytest.fixture
def outsider(other_agency):
    """Every right, in another agency."""
    return UserFactory(agency=other_agency, username="aftersale", perms=ALL_PERMS)


@pytest.fixture
def viewer(agency):
    """May look at appointments, not book or change them."""
    return UserFactory(agency=agency, username="viewer",
                       perms=["matchmakers.view_members", "matchmakers.view_appointments"])  # fmt: skip


@pytest.fixture
def stranger(agency):
    return UserFactory(agency=agency, username="stranger", perms=["matchmakers.view_members"])


def used(person) -> int:
    return Contract.unscoped.get(member=person, status="approved").appointments_used


def local_input(moment: datetime.datetime) -> str:
    return timezone.localtime(moment, timezone.get_fixed_timezone(8 * 60)).strftime("%Y-%m-%dT%H:%M")


# --- the list and its tabs -------------------------------------------------------------------------


def test_the_tabs_show_planned_done_and_closed_appointments_of_visible_members(agency, team, pair):
    member_a, member_b = pair
    planned = book(agency, team["matchmaker"], member_a, member_b, starts_at=soon(24))
    done = move_to_past(book(agency, team["matchmaker"], member_a, member_b, starts_at=soon(30)))
    Appointment.unscoped.filter(pk=done.pk).update(status="done")
    cancelled = book(agency, team["matchmaker"], member_a, member_b, starts_at=soon(40))
    Appointment.unscoped.filter(pk=cancelled.pk).update(status="cancelled")
    elsewhere = UserFactory(agency=agency, perms=ALL_PERMS)  # a third branch
    hidden = book(agency, elsewhere, served_member(agency, team, matchmaker=elsewhere),
                  served_member(agency, team, matchmaker=elsewhere))  # fmt: skip
    client = agency_client(agency, team["colleague"])  # sees only the second member: enough
    pages = {tab: [a.pk for a in client.get(url("list"), {"tab": tab}).context["page"]]
             for tab in ("planned", "done", "closed")}  # fmt: skip
    assert pages == {"planned": [planned.pk], "done": [done.pk], "closed": [cancelled.pk]}
    response = client.get(url("list"))
    assert response.status_code == 200 and "李晓雨" in response.text
    assert response.context["counts"] == {"planned": 1, "done": 1, "closed": 1}
    assert hidden.pk not in [a.pk for a in agency_client(agency, team["matchmaker"]).get(url("list")).context["page"]]


def test_the_list_searches_either_member_and_says_when_a_filter_is_wrong(agency, team, pair):
    appointment = book(agency, team["matchmaker"], *pair)
    client = agency_client(agency, team["matchmaker"])
    for query in ("晓雨", pair[1].member_no, "王小明"):
        assert [a.pk for a in client.get(url("list"), {"q": query}).context["page"]] == [appointment.pk]
    assert not client.get(url("list"), {"q": "张三"}).context["page"].object_list
    response = client.get(url("list"), {"date_from": "nonsense", "tab": "unknown"}, **EN)
    assert response.status_code == 200 and "Enter a valid date" in response.text
    assert response.context["tab"] == "planned"


def test_htmx_gets_only_the_rows(agency, team, pair):
    book(agency, team["matchmaker"], *pair)
    response = agency_client(agency, team["matchmaker"]).get(url("list"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "appointment-table" in response.text and "<html" not in response.text


@pytest.mark.parametrize("tab", ["planned", "done", "closed"])
def test_the_list_query_count_is_constant(agency, team, pair, tab, django_assert_max_num_queries):
    status = {"planned": "planned", "done": "done", "closed": "no_show"}[tab]

    def add(count, offset):
        for n in range(count):
            appointment = book(agency, team["matchmaker"], *pair, starts_at=soon(24 + 3 * (offset + n)))
            if status != "planned":
                Appointment.unscoped.filter(pk=appointment.pk).update(
                    status=status, absent="both" if status == "no_show" else ""
                )

    client = agency_client(agency, team["matchmaker"])
    add(1, 0)
    client.get(url("list"), {"tab": tab})
    with django_assert_max_num_queries(15) as few:
        client.get(url("list"), {"tab": tab})
    add(9, 1)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url("list"), {"tab": tab}).context["page"]) == 10


def test_the_lists_are_closed_to_other_agencies_and_roles_without_the_right(agency, team, pair, outsider, stranger):
    appointment = book(agency, team["matchmaker"], *pair)
    foreign = agency_client(outsider.agency, outsider)
    assert appointment.pk not in [a.pk for a in foreign.get(url("list")).context["page"]]
    assert not foreign.get(url("not_arranged")).context["page"].object_list
    assert agency_client(agency, outsider).get(url("list")).status_code in (302, 403)
    denied = agency_client(agency, stranger)
    for name in ("list", "not_arranged", "book"):
        assert denied.get(url(name)).status_code == 403


# --- not arranged ----------------------------------------------------------------------------------


def test_not_arranged_lists_members_in_service_without_a_planned_appointment_with_their_counts(agency, team, pair):
    member_a, member_b = pair
    waiting = served_member(agency, team, appointments=30)
    old = move_to_past(book(agency, team["matchmaker"], waiting, member_b, starts_at=soon(24)), hours=48)
    Appointment.unscoped.filter(pk=old.pk).update(status="done")
    cancelled = book(agency, team["matchmaker"], waiting, member_b, starts_at=soon(30))
    Appointment.unscoped.filter(pk=cancelled.pk).update(status="cancelled")
    book(agency, team["matchmaker"], member_a, member_b, starts_at=soon(60))  # both have one planned
    never = served_member(agency, team)
    member(agency, team["sales"], aftersale=team["matchmaker"], status="following")  # not in service
    response = agency_client(agency, team["matchmaker"]).get(url("not_arranged"))
    assert response.status_code == 200
    rows = {m.pk: m.appointment_count for m in response.context["page"]}
    assert rows == {never.pk: 0, waiting.pk: 1}  # cancellations do not count
    assert [m.pk for m in response.context["page"]] == [never.pk, waiting.pk]  # never met first


def test_not_arranged_filters_and_reports_a_bad_filter(agency, team, pair):
    client = agency_client(agency, team["matchmaker"])
    assert [m.pk for m in client.get(url("not_arranged"), {"q": "王小明"}).context["page"]] == [pair[0].pk]
    response = client.get(url("not_arranged"), {"status": "lead"}, **EN)
    assert response.status_code == 200 and "Select a valid choice" in response.text


def test_not_arranged_query_count_is_constant(agency, team, django_assert_max_num_queries):
    client = agency_client(agency, team["matchmaker"])
    member(agency, team["sales"], aftersale=team["matchmaker"], status="in_service")
    client.get(url("not_arranged"))
    with django_assert_max_num_queries(15) as few:
        client.get(url("not_arranged"))
    for _ in range(15):
        member(agency, team["sales"], aftersale=team["matchmaker"], status="signed")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url("not_arranged")).context["page"]) == 16


# --- booking ---------------------------------------------------------------------------------------


def booking(member_a, member_b, starts_at=None, **extra):
    return {"member_a_no": member_a.member_no, "member_b_no": member_b.member_no,
            "starts_at": local_input(starts_at or soon()), "place": "西湖边的咖啡馆", "note": "", **extra}  # fmt: skip


def test_booking_from_the_form_counts_both_contracts(agency, team, pair):
    member_a, member_b = pair
    client = agency_client(agency, team["matchmaker"])
    form = client.get(url("book"), {"member": member_a.pk})
    assert form.status_code == 200 and member_a.member_no in form.text
    response = client.post(url("book"), booking(member_a, member_b))
    appointment = Appointment.unscoped.get()
    assert response.status_code == 302 and response["Location"] == url("detail", appointment.pk)
    assert (used(member_a), used(member_b)) == (1, 1)
    assert appointment.place == "西湖边的咖啡馆"


def test_booking_from_a_recommendation(agency, team, pair):
    member_a, member_b = pair
    rec = Recommendation.unscoped.create(agency=agency, member=member_a, candidate=member_b, score=88, reason="合适",
                                         status="accepted", recommended_by=team["matchmaker"])  # fmt: skip
    client = agency_client(agency, team["matchmaker"])
    form = client.get(url("book"), {"recommendation": rec.pk})
    assert member_b.member_no in form.text and form.context["form"].initial["recommendation"] == rec.pk
    response = client.post(url("book"), booking(member_a, member_b, recommendation=rec.pk))
    assert response.status_code == 302
    rec.refresh_from_db()
    assert rec.status == "appointment"


def test_bad_bookings_answer_400_with_the_reason_and_change_nothing(agency, team, pair):
    member_a, member_b = pair
    spent = served_member(agency, team, appointments=1)
    book(agency, team["matchmaker"], spent, served_member(agency, team), starts_at=soon(200))
    client = agency_client(agency, team["matchmaker"])
    cases = [
        (booking(member_a, member_b, member_b_no="NOPE"), "No member of the agency has this number"),
        ({**booking(member_a, member_b), "starts_at": "2020-01-01T10:00"}, "Choose a time in the future"),
        (booking(member_a, member_b, place=""), "This field is required"),
        (booking(member_a, spent), "has used all 1 appointments"),
        (booking(member_a, member_a), "Choose two different members"),
    ]
    for data, message in cases:
        response = client.post(url("book"), data, **EN)
        assert response.status_code == 400, message
        assert message in response.text
    assert (used(member_a), used(member_b)) == (0, 0)
    first = book(agency, team["matchmaker"], member_a, member_b, starts_at=soon(48))
    clashing = booking(served_member(agency, team), member_b, starts_at=first.starts_at + datetime.timedelta(hours=1))
    response = client.post(url("book"), clashing, **EN)
    assert response.status_code == 400 and "at least two hours apart" in response.text
    assert Appointment.unscoped.filter(agency=agency).count() == 2


def test_booking_cannot_reach_another_agencys_members(agency, team, pair, outsider):
    response = agency_client(outsider.agency, outsider).post(url("book"), booking(*pair), **EN)
    assert response.status_code == 400 and "No member of the agency has this number" in response.text
    assert not Appointment.unscoped.exists()


def test_booking_needs_the_add_right(agency, pair, viewer):
    client = agency_client(agency, viewer)
    assert client.get(url("book")).status_code == 403
    assert client.post(url("book"), booking(*pair)).status_code == 403
    assert not Appointment.unscoped.exists()


# --- the appointment page, changes and actions -----------------------------------------------------


def test_the_appointment_page_shows_both_members_and_the_history(agency, team, pair):
    appointment = book(agency, team["matchmaker"], *pair)
    response = agency_client(agency, team["colleague"]).get(url("detail", appointment.pk))
    assert response.status_code == 200
    assert "王小明" in response.text and "李晓雨" in response.text and "appointment-history" in response.text


def test_the_appointment_page_is_closed_to_other_agencies_hidden_branches_and_roles_without_the_right(
    agency, team, pair, outsider, stranger
):
    appointment = book(agency, team["matchmaker"], *pair)
    assert agency_client(outsider.agency, outsider).get(url("detail", appointment.pk)).status_code == 404
    other_branch = UserFactory(agency=agency, perms=["matchmakers.view_members", "matchmakers.view_appointments"])
    assert agency_client(agency, other_branch).get(url("detail", appointment.pk)).status_code == 404
    assert agency_client(agency, stranger).get(url("detail", appointment.pk)).status_code == 403


def test_rescheduling_from_the_form(agency, team, pair):
    appointment = book(agency, team["matchmaker"], *pair)
    client = agency_client(agency, team["matchmaker"])
    assert client.get(url("edit", appointment.pk)).status_code == 200
    later = appointment.starts_at + datetime.timedelta(days=1)
    response = client.post(url("edit", appointment.pk), {"starts_at": local_input(later), "place": "湖滨银泰"})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.place) == (later, "湖滨银泰")


def test_rescheduling_with_bad_input_answers_400(agency, team, pair, outsider, viewer):
    appointment = book(agency, team["matchmaker"], *pair)
    client = agency_client(agency, team["matchmaker"])
    response = client.post(url("edit", appointment.pk), {"starts_at": "2020-01-01T10:00", "place": "别处"}, **EN)
    assert response.status_code == 400 and "Choose a time in the future" in response.text
    response = client.post(url("edit", appointment.pk), {"starts_at": "", "place": "别处"}, **EN)
    assert response.status_code == 400 and "This field is required" in response.text
    appointment.refresh_from_db()
    assert appointment.place == "星巴克(西湖店)"
    assert agency_client(outsider.agency, outsider).get(url("edit", appointment.pk)).status_code == 404
    assert agency_client(agency, viewer).get(url("edit", appointment.pk)).status_code == 403


def test_cancelling_from_the_page_gives_the_appointments_back(agency, team, pair):
    appointment = book(agency, team["matchmaker"], *pair)
    response = agency_client(agency, team["matchmaker"]).post(url("action", appointment.pk, "cancel"),
                                                             {"reason": "男方生病"})  # fmt: skip
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "cancelled" and (used(pair[0]), used(pair[1])) == (0, 0)


def test_recording_the_meeting_feedback_and_outcome(agency, team, pair):
    appointment = move_to_past(book(agency, team["matchmaker"], *pair))
    client = agency_client(agency, team["matchmaker"])
    assert client.post(url("action", appointment.pk, "done")).status_code == 302
    response = client.post(url("action", appointment.pk, "feedback"),
                           {"side": "b", "rating": "5", "wants_to_continue": "yes", "text": "很满意"})  # fmt: skip
    assert response.status_code == 302
    assert client.post(url("action", appointment.pk, "outcome"), {"outcome": "engaged"}).status_code == 302
    feedback = AppointmentFeedback.unscoped.get()
    assert (feedback.member_id, feedback.rating, feedback.wants_to_continue) == (pair[1].pk, 5, True)
    appointment.refresh_from_db()
    assert appointment.outcome == "engaged"
    page = client.get(url("detail", appointment.pk))
    assert "很满意" in page.text


def test_a_no_show_from_the_page(agency, team, pair):
    appointment = move_to_past(book(agency, team["matchmaker"], *pair))
    response = agency_client(agency, team["matchmaker"]).post(url("action", appointment.pk, "no_show"),
                                                             {"absent": "member_a"})  # fmt: skip
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert (appointment.status, appointment.absent) == ("no_show", "member_a")


def test_bad_actions_answer_400_with_the_reason_and_change_nothing(agency, team, pair):
    appointment = book(agency, team["matchmaker"], *pair)
    client = agency_client(agency, team["matchmaker"])
    response = client.post(url("action", appointment.pk, "done"), **EN)
    assert response.status_code == 400 and "has not started yet" in response.text
    move_to_past(appointment)
    response = client.post(url("action", appointment.pk, "no_show"), {"absent": "nobody"}, **EN)
    assert response.status_code == 400 and "Select a valid choice" in response.text
    response = client.post(url("action", appointment.pk, "feedback"),
                           {"side": "a", "rating": "5", "wants_to_continue": "yes"}, **EN)  # fmt: skip
    assert response.status_code == 400 and "once the appointment has taken place" in response.text
    client.post(url("action", appointment.pk, "done"))
    response = client.post(url("action", appointment.pk, "feedback"),
                           {"side": "a", "rating": "9", "wants_to_continue": "yes"}, **EN)  # fmt: skip
    assert response.status_code == 400 and "Select a valid choice" in response.text
    response = client.post(url("action", appointment.pk, "cancel"), **EN)
    assert response.status_code == 400 and "already" in response.text
    assert client.post(url("action", appointment.pk, "explode")).status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == "done" and not AppointmentFeedback.unscoped.exists()
    assert used(pair[0]) == 1


def test_actions_are_closed_to_other_agencies_and_roles_without_the_edit_right(agency, team, pair, outsider, viewer):
    appointment = book(agency, team["matchmaker"], *pair)
    foreign = agency_client(outsider.agency, outsider)
    assert foreign.post(url("action", appointment.pk, "cancel")).status_code == 404
    assert agency_client(agency, viewer).post(url("action", appointment.pk, "cancel")).status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == "planned"


# --- the member page's panel -----------------------------------------------------------------------


def render_panel(agency, user, person):
    request = RequestFactory().get("/")
    request.user, request.agency = user, agency
    with agency_context(agency):
        template = Template("{% load appointment_tags %}{% appointments_panel member %}")
        return template.render(Context({"member": person, "user": user, "request": request,
                                        "perms": PermWrapper(user)}))  # fmt: skip


def test_the_member_panel_shows_the_count_the_next_and_the_latest(agency, team, pair, viewer,
                                                                  django_assert_max_num_queries):  # fmt: skip
    member_a, member_b = pair
    for n in range(6):
        book(agency, team["matchmaker"], member_a, member_b, starts_at=soon(24 + 3 * n))
    html = render_panel(agency, team["matchmaker"], member_a)
    assert 'id="appointments-panel"' in html and "李晓雨" in html
    assert f"{url('book')}?member={member_a.pk}" in html
    assert html.count(url("detail", 0)[:-2]) >= 6  # next + five latest
    with django_assert_max_num_queries(4):
        render_panel(agency, team["matchmaker"], member_a)
    assert url("book") not in render_panel(agency, viewer, member_a)
    stranger = UserFactory(agency=agency, perms=["matchmakers.view_members"])
    assert render_panel(agency, stranger, member_a).strip() == ""
