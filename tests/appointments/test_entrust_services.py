"""Entrust request services (委托红娘, F-F6): asking, assigning, recommending, declining, withdrawing."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import translation

from apps.agencies.context import agency_context
from apps.appointments import entrust
from apps.appointments.models import EntrustRequest
from apps.finance.models import Contract
from apps.matching.models import Recommendation
from apps.members.models import Member
from tests.appointments.entrust_factories import MATCHMAKER, ask, card, entrust_world, published_story
from tests.matching.factories import person, wants
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

Status = EntrustRequest.Status


@pytest.fixture
def world(agency):
    return entrust_world(agency)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def run(agency, service, **kwargs):
    with agency_context(agency):
        return service(agency=agency, **kwargs)


def test_a_member_asks_to_meet_a_published_card(agency, world):
    request = ask(agency, world["her"], target=world["him"], note="  想认识一下  ")
    assert (request.status, request.note, request.target_id, request.assigned_to_id) == (
        Status.OPEN,
        "想认识一下",
        world["him"].pk,
        None,
    )


@pytest.mark.parametrize("who", ["unpublished", "same_gender", "paused", "self", "other_agency"])
def test_only_published_cards_of_the_other_gender_in_the_agency_may_be_asked_for(agency, other_agency, world, who):
    targets = {
        "unpublished": lambda: person(agency, "male", 30),
        "same_gender": lambda: card(agency, "female", 27),
        "paused": lambda: card(agency, "male", 30, status="paused"),
        "self": lambda: Member.unscoped.filter(pk=world["her"].pk).update(published=True) and world["her"],
        "other_agency": lambda: card(other_agency, "male", 30),
    }
    target = targets[who]()
    with pytest.raises(ValidationError, match="no longer shown"):
        ask(agency, world["her"], target=target)
    assert not EntrustRequest.unscoped.exists()


def test_asking_twice_while_undecided_is_one_request(agency, world):
    first = ask(agency, world["her"], target=world["him"])
    with pytest.raises(ValidationError, match="already") as refused:
        ask(agency, world["her"], target=world["him"])
    assert refused.value.code == "duplicate"
    run(agency, entrust.entrust_decline, actor=world["hers"], request=first, reason="对方近期暂停见面")
    assert ask(agency, world["her"], target=world["him"]).pk != first.pk  # decided: asking again is new


def test_a_story_request_needs_a_published_story(agency, world):
    story = published_story(agency, world["hers"], person(agency, "female", 30), person(agency, "male", 32))
    request = ask(agency, world["her"], story=story)
    assert request.story_id == story.pk and request.target_id is None
    with pytest.raises(ValidationError, match="already"):
        ask(agency, world["her"], story=story)
    story.is_published = False
    story.save()
    request.delete()
    with pytest.raises(ValidationError, match="no longer published"):
        ask(agency, world["her"], story=story)


def test_assigning_to_a_matchmaker_who_may_see_the_member(agency, world):
    request = ask(agency, world["her"], target=world["him"])
    assigned = run(agency, entrust.entrust_assign, actor=world["manager"], request=request, to_user=world["hers"])
    assert (assigned.status, assigned.assigned_to_id) == (Status.ASSIGNED, world["hers"].pk)
    # The sibling branch's matchmaker cannot see her: not a choice.
    with pytest.raises(ValidationError, match="cannot see"):
        run(agency, entrust.entrust_assign, actor=world["manager"], request=request, to_user=world["his"])
    reader = UserFactory(agency=agency, perms=["matchmakers.view_members", "matchmakers.view_matches"])
    with pytest.raises(ValidationError, match="does not allow"):
        run(agency, entrust.entrust_assign, actor=world["manager"], request=request, to_user=reader)


def test_recommending_a_target_request_goes_through_the_match_library(agency, world):
    request = ask(agency, world["her"], target=world["him"])
    done = run(agency, entrust.entrust_recommend, actor=world["hers"], request=request, reason="都在杭州，年龄合适")
    recommendation = Recommendation.unscoped.get(member=world["her"], candidate=world["him"])
    assert (done.status, done.recommendation_id, done.decided_by_id) == (
        Status.RECOMMENDED,
        recommendation.pk,
        world["hers"].pk,
    )
    assert Contract.unscoped.get(member=world["her"]).recommendations_used == 1
    with pytest.raises(ValidationError, match="decided already"):
        run(agency, entrust.entrust_decline, actor=world["hers"], request=request, reason="x")


def _unchanged(request):
    fresh = EntrustRequest.unscoped.get(pk=request.pk)
    assert (fresh.status, fresh.recommendation_id, fresh.decided_at) == (Status.OPEN, None, None)
    assert not Recommendation.unscoped.exists()


def test_a_pair_the_engine_refuses_leaves_the_request_as_it_was(agency, world):
    wants(world["him"], age_min=35, age_max=40)
    request = ask(agency, world["her"], target=world["him"])
    with pytest.raises(ValidationError, match="does not meet"):
        run(agency, entrust.entrust_recommend, actor=world["hers"], request=request, reason="合适")
    _unchanged(request)
    assert Contract.unscoped.get(member=world["her"]).recommendations_used == 0


def test_without_an_effective_contract_nothing_is_recommended(agency):
    world = entrust_world(agency, contract_for_her=False)
    request = ask(agency, world["her"], target=world["him"])
    with pytest.raises(ValidationError, match="no effective contract"):
        run(agency, entrust.entrust_recommend, actor=world["hers"], request=request, reason="合适")
    _unchanged(request)


def test_a_story_request_is_recommended_with_the_candidate_the_matchmaker_names(agency, world):
    story = published_story(agency, world["hers"], person(agency, "female", 30), person(agency, "male", 32))
    request = ask(agency, world["her"], story=story)
    with pytest.raises(ValidationError, match="member number"):
        run(agency, entrust.entrust_recommend, actor=world["hers"], request=request, reason="合适")
    with pytest.raises(ValidationError, match="themselves"):
        run(agency, entrust.entrust_recommend, actor=world["hers"], request=request, reason="合适",
            candidate=world["her"])  # fmt: skip
    candidate = person(agency, "male", 30)
    done = run(agency, entrust.entrust_recommend, actor=world["hers"], request=request, reason="像故事里那样",
               candidate=candidate)  # fmt: skip
    assert done.status == Status.RECOMMENDED and done.recommendation.candidate_id == candidate.pk


def test_a_target_request_recommends_its_target_only(agency, world):
    request = ask(agency, world["her"], target=world["him"])
    with pytest.raises(ValidationError, match="one person"):
        run(agency, entrust.entrust_recommend, actor=world["hers"], request=request, reason="合适",
            candidate=person(agency, "male", 30))  # fmt: skip
    _unchanged(request)


def test_declining_needs_a_reason_the_member_reads(agency, world):
    request = ask(agency, world["her"], target=world["him"])
    with pytest.raises(ValidationError, match="Say why"):
        run(agency, entrust.entrust_decline, actor=world["hers"], request=request, reason="   ")
    _unchanged(request)
    done = run(agency, entrust.entrust_decline, actor=world["hers"], request=request, reason="对方已有约会对象")
    assert (done.status, done.decline_reason, done.assigned_to_id) == (
        Status.DECLINED,
        "对方已有约会对象",
        world["hers"].pk,
    )


def test_only_staff_who_see_the_member_and_may_handle_requests_act(agency, other_agency, world):
    request = ask(agency, world["her"], target=world["him"])
    # His matchmaker may see him (the target), not her: her request is not theirs to handle.
    with pytest.raises(PermissionDenied):
        run(agency, entrust.entrust_decline, actor=world["his"], request=request, reason="x")
    # Her presale matchmaker sees her, but the role does not handle matches.
    with pytest.raises(PermissionDenied, match="does not allow"):
        run(agency, entrust.entrust_decline, actor=world["sales"], request=request, reason="x")
    outsider = UserFactory(agency=other_agency, perms=MATCHMAKER)
    with pytest.raises(PermissionDenied):
        run(agency, entrust.entrust_decline, actor=outsider, request=request, reason="x")
    _unchanged(request)


def test_the_member_withdraws_an_undecided_request_of_their_own(agency, world):
    request = ask(agency, world["her"], target=world["him"])
    other = card(agency, "female", 29)
    with pytest.raises(Http404), agency_context(agency):
        entrust.entrust_withdraw(member=other, request=request)
    with agency_context(agency):
        entrust.entrust_withdraw(member=world["her"], request=request)
    assert not EntrustRequest.unscoped.exists()
    declined = ask(agency, world["her"], target=world["him"])
    run(agency, entrust.entrust_decline, actor=world["hers"], request=declined, reason="对方暂停服务")
    with pytest.raises(ValidationError, match="answered"), agency_context(agency):
        entrust.entrust_withdraw(member=world["her"], request=declined)
