"""The portal's members' cards and entrust requests (F-F6), as the member sees them.

Cards show a masked name, age, city, education, height and a short introduction: never a name, a
contact or a date of birth. Every id in a URL is read through the member the portal serves.
"""

import pytest
from django.urls import reverse

from apps.appointments.models import EntrustRequest
from apps.members.models import MemberPhoto
from tests.appointments.entrust_factories import ask, card, entrust_world, published_story
from tests.conftest import agency_client
from tests.matching.factories import person
from tests.portal.factories import member_client

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def url(name, *args):
    return reverse(f"portal_entrust:{name}", args=args)


@pytest.fixture
def world(agency):
    return entrust_world(agency)


@pytest.fixture
def browser(agency, world):
    return member_client(agency, world["her"])


def test_the_gallery_shows_published_cards_of_the_other_gender_without_names_or_contacts(agency, other_agency,
                                                                                      world, browser):  # fmt: skip
    hidden = [
        person(agency, "male", 30, name="未公开"),
        card(agency, "female", 27, name="同性别"),
        card(agency, "male", 30, name="暂停中", status="paused"),
        card(other_agency, "male", 30, name="别家"),
    ]
    page = browser.get(url("members"), **EN)
    assert page.status_code == 200
    assert [c.pk for c in page.context["page"]] == [world["him"].pk]
    him = world["him"]
    assert "张**" in page.text and "31 years" in page.text and "杭州市" in page.text and "喜欢爬山" in page.text
    for secret in (him.name, him.phone, him.member_no, him.birth_date.isoformat(), *[m.name for m in hidden]):
        assert secret not in page.text
    detail = browser.get(url("card", him.pk), **EN)
    assert detail.status_code == 200 and "I want to meet this person" in detail.text
    for secret in (him.name, him.phone, him.member_no, him.birth_date.isoformat()):
        assert secret not in detail.text


def test_the_gallery_filters_by_age_city_and_education(agency, world, browser):
    young = card(agency, "male", 26, residence_province="11", residence_city="1101", education=5)
    assert [c.pk for c in browser.get(url("members"), {"age_max": 28}).context["page"]] == [young.pk]
    assert [c.pk for c in browser.get(url("members"), {"age_min": 30}).context["page"]] == [world["him"].pk]
    assert [c.pk for c in browser.get(url("members"), {"city": "1101"}).context["page"]] == [young.pk]
    assert [c.pk for c in browser.get(url("members"), {"education": 5}).context["page"]] == [young.pk]


def test_the_gallery_query_count_is_constant(agency, world, browser, django_assert_max_num_queries):
    browser.get(url("members"))
    with django_assert_max_num_queries(20) as few:
        browser.get(url("members"))
    for n in range(11):
        member = card(agency, "male", 28 + n % 5, residence_city="3301" if n % 2 else "3302")
        MemberPhoto.unscoped.create(agency=agency, member=member, image=f"m{n}.jpg", is_primary=True)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = browser.get(url("members"))
    assert len(page.context["page"]) == 12
    assert page.text.count("/photo/") == 11


def test_a_member_asks_to_meet_someone_from_their_card(agency, world, browser):
    answer = browser.post(url("entrust", world["him"].pk), {"note": "周末有空"}, **EN)
    assert answer.status_code == 302 and answer.url == url("requests")
    request = EntrustRequest.unscoped.get()
    assert (request.member_id, request.target_id, request.note, request.status) == (
        world["her"].pk,
        world["him"].pk,
        "周末有空",
        "open",
    )
    mine = browser.get(url("requests"), **EN)
    assert "张**" in mine.text and "New" in mine.text and world["him"].name not in mine.text
    assert "You asked your matchmaker" in browser.get(url("card", world["him"].pk), **EN).text
    again = browser.post(url("entrust", world["him"].pk), {"note": ""}, follow=True, **EN)
    assert "already" in again.text and EntrustRequest.unscoped.count() == 1


@pytest.mark.parametrize("who", ["unpublished", "same_gender", "other_agency", "self"])
def test_no_request_for_someone_who_is_not_a_card_of_hers(agency, other_agency, world, browser, who):
    target = {
        "unpublished": lambda: person(agency, "male", 30),
        "same_gender": lambda: card(agency, "female", 27),
        "other_agency": lambda: card(other_agency, "male", 30),
        "self": lambda: world["her"],
    }[who]()
    assert browser.get(url("card", target.pk)).status_code == 404
    assert browser.post(url("entrust", target.pk), {"note": "x"}).status_code == 404
    assert not EntrustRequest.unscoped.exists()


def test_a_member_reads_the_decline_reason_and_withdraws_only_their_own_undecided_requests(agency, world, browser):
    other = card(agency, "female", 29)
    theirs = ask(agency, other, target=card(agency, "male", 33))
    assert browser.post(url("withdraw", theirs.pk)).status_code == 404
    assert EntrustRequest.unscoped.filter(pk=theirs.pk).exists()
    mine = ask(agency, world["her"], target=world["him"])
    EntrustRequest.unscoped.filter(pk=mine.pk).update(status="declined", decline_reason="对方近期在外地工作",
                                                      decided_by=world["hers"])  # fmt: skip
    page = browser.get(url("requests"), **EN)
    assert "对方近期在外地工作" in page.text and "Declined" in page.text and "Withdraw" not in page.text
    answer = browser.post(url("withdraw", mine.pk), follow=True, **EN)
    assert "answered" in answer.text and EntrustRequest.unscoped.filter(pk=mine.pk).exists()
    again = ask(agency, world["her"], target=world["him"])
    assert browser.post(url("withdraw", again.pk)).status_code == 302
    assert not EntrustRequest.unscoped.filter(pk=again.pk).exists()


def test_the_portal_pages_need_a_logged_in_member(agency, world):
    visitor = agency_client(agency)
    for answer in (visitor.get(url("members")), visitor.get(url("requests")),
                   visitor.post(url("entrust", world["him"].pk))):  # fmt: skip
        assert answer.status_code == 302 and answer.url.startswith(reverse("portal:login"))
    staff = agency_client(agency, world["manager"])
    assert staff.get(url("members")).status_code == 302


def test_the_story_button_is_for_logged_in_members(agency, world, browser):
    story = published_story(agency, world["hers"], person(agency, "female", 30), person(agency, "male", 32))
    story_url = reverse("stories:detail", args=[story.pk])
    visitor = agency_client(agency).get(story_url, **EN)
    assert "Log in to the member portal" in visitor.text and "Ask my matchmaker" not in visitor.text
    page = browser.get(story_url, **EN)
    assert "Ask my matchmaker for a match like this" in page.text and "Log in to the member portal" not in page.text
    answer = browser.post(url("story_entrust", story.pk), {"note": "也想要这样的缘分"})
    assert answer.status_code == 302 and answer.url == url("requests")
    request = EntrustRequest.unscoped.get()
    assert (request.story_id, request.target_id, request.note) == (story.pk, None, "也想要这样的缘分")
    story.is_published = False
    story.save()
    assert browser.post(url("story_entrust", story.pk)).status_code == 404
