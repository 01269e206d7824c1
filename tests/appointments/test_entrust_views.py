"""Entrust requests in the back office (F-F6): the list, one request's page, assign, recommend, decline.

Each: the happy path, refused input (nothing changes), another agency, a sibling branch, a role
without the right.
"""

import pytest
from django.urls import reverse

from apps.appointments.models import EntrustRequest
from apps.matching.models import Recommendation
from apps.members.models import Member
from tests.appointments.entrust_factories import MATCHMAKER, ask, card, entrust_world, published_story
from tests.conftest import agency_client
from tests.matching.factories import person, wants
from tests.matchmakers.factories import UserFactory
from tests.portal.factories import member_client

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def url(name, *args):
    return reverse(f"appointments:{name}", args=args)


@pytest.fixture
def world(agency):
    return entrust_world(agency)


@pytest.fixture
def request_(agency, world):
    return ask(agency, world["her"], target=world["him"], note="周末有空")


def test_the_list_shows_requests_of_members_the_user_sees_and_masks_a_target_they_do_not(agency, world, request_):
    page = agency_client(agency, world["hers"]).get(url("entrusts"), **EN)
    assert page.status_code == 200 and [row.pk for row in page.context["page"]] == [request_.pk]
    assert reverse("members:detail", args=[world["her"].pk]) in page.text and world["her"].name in page.text
    # His record is in a sibling branch: his name is masked, no link to his page.
    assert "张**" in page.text and world["him"].name not in page.text
    assert reverse("members:detail", args=[world["him"].pk]) not in page.text
    # Her manager's branch does not hold him either; the request's page shows the member's note.
    assert world["him"].name not in agency_client(agency, world["manager"]).get(url("entrusts")).text
    admin_view = agency_client(agency, world["manager"]).get(url("entrust", request_.pk), **EN)
    assert admin_view.status_code == 200 and "周末有空" in admin_view.text


def test_the_list_filters_by_status_and_assignee(agency, world, request_):
    other = ask(agency, world["her"], target=card(agency, "male", 30))
    client = agency_client(agency, world["manager"])
    client.post(url("entrust_action", other.pk, "assign"), {"to_user": world["hers"].pk})
    assert [r.pk for r in client.get(url("entrusts"), {"status": "open"}).context["page"]] == [request_.pk]
    mine = agency_client(agency, world["hers"]).get(url("entrusts"), {"mine": "on"})
    assert [r.pk for r in mine.context["page"]] == [other.pk]


def test_the_list_query_count_is_constant(agency, world, request_, django_assert_max_num_queries):
    client = agency_client(agency, world["manager"])
    client.get(url("entrusts"))
    with django_assert_max_num_queries(20) as few:
        client.get(url("entrusts"))
    story = published_story(agency, world["manager"], person(agency, "female", 30), person(agency, "male", 32))
    for n in range(8):
        member = person(agency, "female", 25 + n, owner=world["hers"])
        ask(agency, member, target=world["him"]) if n % 2 else ask(agency, member, story=story)
        ask(agency, member, target=card(agency, "male", 30, owner=world["hers"]))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url("entrusts")).context["page"]) == 17


def test_assign_then_recommend_shows_the_score_and_makes_the_recommendation(agency, world, request_):
    manager = agency_client(agency, world["manager"])
    page = manager.get(url("entrust", request_.pk), **EN)
    assert page.context["matchable"] and page.context["pair"].score > 0
    assert "The pair meets both sides' criteria." in page.text
    answer = manager.post(url("entrust_action", request_.pk, "assign"), {"to_user": world["hers"].pk})
    assert answer.status_code == 302
    assert EntrustRequest.unscoped.get(pk=request_.pk).assigned_to_id == world["hers"].pk
    hers = agency_client(agency, world["hers"])
    answer = hers.post(url("entrust_action", request_.pk, "recommend"), {"reason": "都在杭州，年龄合适"})
    assert answer.status_code == 302
    done = EntrustRequest.unscoped.get(pk=request_.pk)
    recommendation = Recommendation.unscoped.get(member=world["her"], candidate=world["him"])
    assert (done.status, done.recommendation_id, done.decided_by_id) == ("recommended", recommendation.pk,
                                                                         world["hers"].pk)  # fmt: skip
    page = hers.get(url("entrust", request_.pk), **EN)
    assert page.status_code == 200 and f"Match score {recommendation.score}" in page.text
    assert "decline-form" not in page.text  # decided: nothing more to do on it
    mine = member_client(agency, world["her"]).get(reverse("portal_entrust:requests"), **EN)
    assert "Recommended" in mine.text and reverse("portal:recommendations") in mine.text


def test_assigning_to_someone_who_cannot_see_the_member_is_refused(agency, world, request_):
    answer = agency_client(agency, world["manager"]).post(
        url("entrust_action", request_.pk, "assign"), {"to_user": world["his"].pk}, **EN
    )
    # The sibling branch is not on the manager's team: not even a choice.
    assert answer.status_code == 400 and "Nothing was changed" in answer.text
    assert EntrustRequest.unscoped.get(pk=request_.pk).status == "open"


def test_a_story_request_is_recommended_with_a_member_number(agency, world):
    story = published_story(agency, world["hers"], person(agency, "female", 30), person(agency, "male", 32))
    request = ask(agency, world["her"], story=story)
    client = agency_client(agency, world["hers"])
    page = client.get(url("entrust", request.pk), **EN)
    assert "Candidate&#x27;s member number" in page.text or "Candidate's member number" in page.text
    missing = client.post(url("entrust_action", request.pk, "recommend"), {"reason": "像故事里那样"}, **EN)
    assert missing.status_code == 400 and "Name the member you recommend" in missing.text
    unknown = client.post(url("entrust_action", request.pk, "recommend"), {"reason": "x", "candidate": "M404"}, **EN)
    assert unknown.status_code == 400 and "No member of the agency has this number" in unknown.text
    candidate = person(agency, "male", 30)
    answer = client.post(url("entrust_action", request.pk, "recommend"),
                         {"reason": "像故事里那样", "candidate": candidate.member_no})  # fmt: skip
    assert answer.status_code == 302
    assert EntrustRequest.unscoped.get(pk=request.pk).recommendation.candidate_id == candidate.pk


def test_declining_without_a_reason_is_refused_and_changes_nothing(agency, world, request_):
    client = agency_client(agency, world["hers"])
    answer = client.post(url("entrust_action", request_.pk, "decline"), {"reason": "  "}, **EN)
    assert answer.status_code == 400 and "Say why, in words for the member" in answer.text
    assert EntrustRequest.unscoped.get(pk=request_.pk).status == "open"
    answer = client.post(url("entrust_action", request_.pk, "decline"), {"reason": "对方近期暂停见面"})
    assert answer.status_code == 302
    done = EntrustRequest.unscoped.get(pk=request_.pk)
    assert (done.status, done.decline_reason) == ("declined", "对方近期暂停见面")


def test_recommending_a_pair_that_is_not_matchable_says_why_and_changes_nothing(agency, world, request_):
    wants(world["him"], age_min=35, age_max=40)
    client = agency_client(agency, world["hers"])
    page = client.get(url("entrust", request_.pk), **EN)
    assert page.context["pair"] is None and "does not meet one side's criteria" in page.text
    answer = client.post(url("entrust_action", request_.pk, "recommend"), {"reason": "合适"}, **EN)
    assert answer.status_code == 400 and "does not meet" in answer.text
    assert EntrustRequest.unscoped.get(pk=request_.pk).status == "open" and not Recommendation.unscoped.exists()
    Member.unscoped.filter(pk=world["her"].pk).update(status="paused")
    page = client.get(url("entrust", request_.pk), **EN)
    assert page.context["matchable"] is False and "is not in service" in page.text


def test_recommending_without_an_effective_contract_says_so_and_changes_nothing(agency):
    world = entrust_world(agency, contract_for_her=False)
    request = ask(agency, world["her"], target=world["him"])
    answer = agency_client(agency, world["hers"]).post(url("entrust_action", request.pk, "recommend"),
                                                       {"reason": "合适"}, **EN)  # fmt: skip
    assert answer.status_code == 400 and "has no effective contract" in answer.text
    assert EntrustRequest.unscoped.get(pk=request.pk).status == "open" and not Recommendation.unscoped.exists()


def test_another_agency_and_a_sibling_branch_get_404_and_see_nothing(agency, other_agency, world, request_):
    outsider = UserFactory(agency=other_agency, username="hers", perms=MATCHMAKER)
    for user, host_agency in ((outsider, other_agency), (world["his"], agency)):
        client = agency_client(host_agency, user)
        assert request_.pk not in [row.pk for row in client.get(url("entrusts")).context["page"]]
        assert client.get(url("entrust", request_.pk)).status_code == 404
        for action, data in (("assign", {"to_user": user.pk}), ("recommend", {"reason": "x"}),
                             ("decline", {"reason": "x"})):  # fmt: skip
            assert client.post(url("entrust_action", request_.pk, action), data).status_code == 404
    assert EntrustRequest.unscoped.get(pk=request_.pk).status == "open"


def test_roles_without_the_right_get_403(agency, world, request_):
    stranger = agency_client(agency, UserFactory(agency=agency, perms=["matchmakers.view_members"]))
    assert stranger.get(url("entrusts")).status_code == 403
    assert stranger.get(url("entrust", request_.pk)).status_code == 403
    # Her presale matchmaker sees her and may view matches, but not handle them.
    reader = UserFactory(agency=agency, perms=["matchmakers.view_members", "matchmakers.view_matches"])
    Member.unscoped.filter(pk=world["her"].pk).update(presale_owner=reader)
    client = agency_client(agency, reader)
    assert client.get(url("entrust", request_.pk)).status_code == 200
    assert client.post(url("entrust_action", request_.pk, "decline"), {"reason": "x"}).status_code == 403
    assert EntrustRequest.unscoped.get(pk=request_.pk).status == "open"


def test_the_after_sale_menu_links_the_list(agency, world):
    page = agency_client(agency, world["hers"]).get(url("entrusts"), **EN)
    assert f'href="{url("entrusts")}"' in page.text and "Entrust requests" in page.text
