"""The member's own pages: recommendations, appointments, matchmaker; never anyone else's by id."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from apps.appointments.models import AppointmentEvent, AppointmentFeedback
from apps.matching.models import Recommendation
from apps.members.models import MemberPhoto
from tests.appointments.factories import book, move_to_past, served_member, service_team
from tests.conftest import agency_client, image_bytes
from tests.matching.factories import person
from tests.portal.factories import member_client

pytestmark = pytest.mark.django_db

MEMBER_PAGES = ["portal:home", "portal:profile", "portal:recommendations", "portal:appointments", "portal:matchmaker",
                "portal:password"]  # fmt: skip


@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_member_pages_need_a_member_log_in(agency, name):
    response = agency_client(agency).get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))


@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_member_pages_open_for_the_member(agency, she, name):
    assert member_client(agency, she).get(reverse(name)).status_code == 200


def test_a_staff_session_is_not_a_member_session(agency, matchmaker):
    response = agency_client(agency, matchmaker).get(reverse("portal:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))


@pytest.fixture
def recommended(agency, matchmaker, she, he):
    return Recommendation.unscoped.create(agency=agency, member=she, candidate=he, score=87,
                                          reason="都在杭州，都喜欢旅行", recommended_by=matchmaker)  # fmt: skip


def test_both_sides_answer_a_recommendation_in_the_portal(agency, she, he, recommended):
    hers, his = member_client(agency, she), member_client(agency, he)
    page = hers.get(reverse("portal:recommendations")).content.decode()
    assert "都在杭州，都喜欢旅行" in page and "周**" in page and "周明" not in page
    # He hears of it only once she said yes.
    assert f"recommendation-{recommended.pk}" not in his.get(reverse("portal:recommendations")).content.decode()
    answer = reverse("portal:recommendation_answer", args=[recommended.pk])
    assert his.post(answer, {"answer": "accept"}).status_code == 404

    assert hers.post(answer, {"answer": "accept"}).status_code == 302
    recommended.refresh_from_db()
    assert recommended.status == Recommendation.Status.MEMBER_ACCEPTED
    assert f"recommendation-{recommended.pk}" in his.get(reverse("portal:recommendations")).content.decode()
    his.post(answer, {"answer": "accept"})
    recommended.refresh_from_db()
    assert recommended.status == Recommendation.Status.ACCEPTED
    assert "周明" in hers.get(reverse("portal:recommendations")).content.decode()  # names released to both


def test_declining_needs_a_reason(agency, she, recommended):
    hers = member_client(agency, she)
    answer = reverse("portal:recommendation_answer", args=[recommended.pk])
    response = hers.post(answer, {"answer": "decline", "reason": ""}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Your answer was not saved" in response.content.decode()
    recommended.refresh_from_db()
    assert recommended.status == Recommendation.Status.PROPOSED
    hers.post(answer, {"answer": "decline", "reason": "年龄差距有点大"})
    recommended.refresh_from_db()
    assert (recommended.status, recommended.decline_reason) == (Recommendation.Status.MEMBER_DECLINED, "年龄差距有点大")


def test_an_unknown_answer_changes_nothing(agency, she, recommended):
    member_client(agency, she).post(reverse("portal:recommendation_answer", args=[recommended.pk]), {"answer": "maybe"})
    recommended.refresh_from_db()
    assert recommended.status == Recommendation.Status.PROPOSED


def test_another_members_recommendation_is_out_of_reach(agency, matchmaker, she, recommended):
    stranger = person(agency, "female", 29, owner=matchmaker)
    browser = member_client(agency, stranger)
    assert browser.post(reverse("portal:recommendation_answer", args=[recommended.pk]),
                        {"answer": "accept"}).status_code == 404  # fmt: skip
    assert "都在杭州" not in browser.get(reverse("portal:recommendations")).content.decode()
    recommended.refresh_from_db()
    assert recommended.status == Recommendation.Status.PROPOSED


def test_photos_only_of_people_linked_to_the_member(agency, matchmaker, she, he, recommended):
    for who in (he, she):
        MemberPhoto.unscoped.create(agency=agency, member=who, is_primary=True,
                                    image=ContentFile(image_bytes(), name="p.png"))  # fmt: skip
    stranger = person(agency, "female", 29, owner=matchmaker)
    assert member_client(agency, she).get(reverse("portal:person_photo", args=[he.pk])).status_code == 200
    assert member_client(agency, stranger).get(reverse("portal:person_photo", args=[he.pk])).status_code == 404
    assert member_client(agency, stranger).get(reverse("portal:person_photo", args=[she.pk])).status_code == 404


def test_a_member_of_another_agency_reaches_nothing_here(agency, other_agency, she, recommended):
    foreigner = person(other_agency, "male", 30)
    browser = member_client(other_agency, foreigner)
    # Same browser cookie on our host is no session here, and ids of ours are 404 on theirs.
    assert browser.post(reverse("portal:recommendation_answer", args=[recommended.pk]),
                        {"answer": "accept"}).status_code == 404  # fmt: skip
    assert browser.get(reverse("portal:person_photo", args=[she.pk])).status_code == 404


# --- appointments --------------------------------------------------------------------------------


@pytest.fixture
def team(agency):
    return service_team(agency)


@pytest.fixture
def meeting(agency, team):
    a = served_member(agency, team, name="王芳")
    b = served_member(agency, team, matchmaker=team["colleague"], name="李强")
    return book(agency, team["matchmaker"], a, b)


def test_a_member_confirms_an_appointment_and_gives_feedback_afterwards(agency, meeting):
    browser = member_client(agency, meeting.member_a)
    page = browser.get(reverse("portal:appointments")).content.decode()
    assert f"appointment-{meeting.pk}" in page and "李**" in page and "李强" not in page
    assert browser.post(reverse("portal:appointment_confirm", args=[meeting.pk])).status_code == 302
    meeting.refresh_from_db()
    assert meeting.confirmed_a_at is not None and meeting.confirmed_b_at is None
    assert AppointmentEvent.unscoped.filter(appointment=meeting, kind="confirmed", actor=None).count() == 1
    staff_page = agency_client(agency, meeting.arranged_by).get(
        reverse("appointments:detail", args=[meeting.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "confirmed in the portal" in staff_page and "the member, in the portal" in staff_page

    feedback_url = reverse("portal:appointment_feedback", args=[meeting.pk])
    feedback = {"rating": 4, "wants_to_continue": "yes", "text": "聊得很开心"}
    assert browser.post(feedback_url, feedback).status_code == 400
    assert not AppointmentFeedback.unscoped.exists()  # not before it took place

    move_to_past(meeting)
    from apps.agencies.context import agency_context
    from apps.appointments import services

    with agency_context(agency):
        services.appointment_complete(agency=agency, actor=meeting.arranged_by, appointment=meeting)
    response = browser.post(feedback_url, feedback)
    assert response.status_code == 302
    feedback = AppointmentFeedback.unscoped.get(appointment=meeting, member=meeting.member_a)
    assert (feedback.rating, feedback.by_member, feedback.recorded_by, feedback.text) == (4, True, None, "聊得很开心")


def test_a_bad_rating_is_refused(agency, meeting):
    move_to_past(meeting)
    from apps.appointments.models import Appointment

    Appointment.unscoped.filter(pk=meeting.pk).update(status="done")
    browser = member_client(agency, meeting.member_b)
    response = browser.post(reverse("portal:appointment_feedback", args=[meeting.pk]),
                            {"rating": 9, "wants_to_continue": "yes"})  # fmt: skip
    assert response.status_code == 400
    assert not AppointmentFeedback.unscoped.exists()


def test_another_members_appointment_is_out_of_reach(agency, team, meeting):
    stranger = served_member(agency, team, name="赵敏")
    browser = member_client(agency, stranger)
    assert browser.post(reverse("portal:appointment_confirm", args=[meeting.pk])).status_code == 404
    assert browser.get(reverse("portal:appointment_feedback", args=[meeting.pk])).status_code == 404
    meeting.refresh_from_db()
    assert meeting.confirmed_a_at is None and meeting.confirmed_b_at is None


def test_the_matchmaker_page_shows_who_serves_the_member(agency, matchmaker, she):
    page = member_client(agency, she).get(reverse("portal:matchmaker")).content.decode()
    assert matchmaker.name in page


def test_the_recommendation_page_keeps_its_query_count(agency, matchmaker, she, django_assert_max_num_queries):
    browser = member_client(agency, she)
    first = person(agency, "male", 31, owner=matchmaker)
    Recommendation.unscoped.create(agency=agency, member=she, candidate=first, score=80, reason="r",
                                   recommended_by=matchmaker)  # fmt: skip
    with django_assert_max_num_queries(20) as one:
        browser.get(reverse("portal:recommendations"))
    few = len(one.captured_queries)
    for n in range(15):
        Recommendation.unscoped.create(agency=agency, member=she, candidate=person(agency, "male", 30 + n % 6),
                                       score=70, reason="r", recommended_by=matchmaker)  # fmt: skip
    with django_assert_max_num_queries(few):
        assert len(browser.get(reverse("portal:recommendations")).context["rows"]) == 16


def test_a_published_member_out_of_the_gallery_has_no_photo_for_members(agency, matchmaker, she):
    from apps.members.models import Member

    paused = person(agency, "male", 33, owner=matchmaker, published=True)
    MemberPhoto.unscoped.create(agency=agency, member=paused, is_primary=True,
                                image=ContentFile(image_bytes(), name="p.png"))  # fmt: skip
    browser = member_client(agency, she)
    assert browser.get(reverse("portal:person_photo", args=[paused.pk])).status_code == 200
    Member.unscoped.filter(pk=paused.pk).update(service_status="paused")
    assert browser.get(reverse("portal:person_photo", args=[paused.pk])).status_code == 404
