"""The match library: recommending with entitlements, each side's answers, the pages and who sees what."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from apps.agencies.context import agency_context
from apps.finance.models import Contract
from apps.matching import services
from apps.matching.models import MatchSettings, MatchStats, Recommendation
from apps.members.models import Member
from tests.conftest import agency_client
from tests.finance.factories import PackageFactory, contract, finance_team
from tests.matching.factories import person, wants
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

MATCHMAKER = ["matchmakers.view_members", "matchmakers.edit_members", "matchmakers.view_matches",
              "matchmakers.add_matches", "matchmakers.edit_matches"]  # fmt: skip


@pytest.fixture
def world(agency):
    """Her matchmaker (with a contract of 2 recommendations for her), his matchmaker, and the two."""
    team = finance_team(agency)
    hers, his = UserFactory(agency=agency, perms=MATCHMAKER), UserFactory(agency=agency, perms=MATCHMAKER)
    her = person(agency, "female", 28, owner=hers, name="林若溪")
    him = person(agency, "male", 31, owner=his, name="张明远")
    Member.unscoped.filter(pk=her.pk).update(presale_owner=team["sales"])
    package = PackageFactory(agency=agency, recommendations=2)
    contract(agency, sales=team["sales"], finance=team["finance"], package=package, member_obj=her,
             status="approved", service_start=timezone.localdate() - datetime.timedelta(days=1))  # fmt: skip
    return {"hers": hers, "his": his, "her": her, "him": him, **team}


def recommend(agency, world, candidate=None, reason="都在杭州，年龄合适"):
    with agency_context(agency):
        return services.recommend(agency=agency, actor=world["hers"], member=world["her"],
                                  candidate=candidate or world["him"], reason=reason)  # fmt: skip


def test_recommending_consumes_an_entitlement_and_counts(agency, world):
    rec = recommend(agency, world)
    assert rec.status == "proposed" and rec.score > 0
    assert Contract.unscoped.get(member=world["her"]).recommendations_used == 1
    assert MatchStats.unscoped.get(member=world["him"]).recommended_count == 1
    with pytest.raises(ValidationError, match="already"), agency_context(agency), translation.override("en"):
        services.recommend(agency=agency, actor=world["his"], member=world["him"], candidate=world["her"],
                           reason="x")  # fmt: skip


def test_entitlements_are_enforced(agency, world):
    recommend(agency, world)
    second = person(agency, "male", 30)
    recommend(agency, world, candidate=second)
    third = person(agency, "male", 32)
    with pytest.raises(ValidationError), agency_context(agency):
        recommend(agency, world, candidate=third)
    assert not Recommendation.unscoped.filter(candidate=third).exists()
    assert Contract.unscoped.get(member=world["her"]).recommendations_used == 2


def test_a_pair_failing_either_side_cannot_be_recommended_nor_without_a_reason(agency, world):
    wants(world["him"], age_min=35, age_max=40)
    with pytest.raises(ValidationError), agency_context(agency):
        recommend(agency, world)
    wants(world["him"], age_min=20, age_max=40)
    with pytest.raises(ValidationError), agency_context(agency):
        recommend(agency, world, reason="  ")
    assert Contract.unscoped.get(member=world["her"]).recommendations_used == 0


def test_only_her_matchmakers_recommend_to_her(agency, world):
    with pytest.raises(PermissionDenied), agency_context(agency):
        services.recommend(agency=agency, actor=world["his"], member=world["her"], candidate=world["him"], reason="x")


def test_each_side_answers_in_turn_and_a_decline_keeps_its_reason(agency, world):
    rec = recommend(agency, world)
    with agency_context(agency):
        with pytest.raises(ValidationError):  # the candidate side cannot answer before the member
            services.respond(agency=agency, actor=world["his"], recommendation=rec, side="candidate", accepted=True)
        with pytest.raises(PermissionDenied):  # his matchmaker cannot answer for her
            services.respond(agency=agency, actor=world["his"], recommendation=rec, side="member", accepted=True)
        services.respond(agency=agency, actor=world["hers"], recommendation=rec, side="member", accepted=True)
        with pytest.raises(ValidationError):
            services.respond(agency=agency, actor=world["his"], recommendation=rec, side="candidate", accepted=False)
        rec = services.respond(agency=agency, actor=world["his"], recommendation=rec, side="candidate",
                               accepted=False, reason="他觉得年龄差太小")  # fmt: skip
    assert rec.status == "candidate_declined" and rec.decline_reason == "他觉得年龄差太小"


def test_library_page_lists_candidates_with_reasons_masks_others_and_counts(agency, world):
    client = agency_client(agency, world["hers"])
    page = client.get(reverse("matching:library", args=[world["her"].pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    suggestion = page.context["suggestions"][0]
    assert suggestion.member == world["him"] and not suggestion.visible
    assert "张**" in page.text and "张明远" not in page.text  # not her matchmaker's member: masked
    assert world["his"].name in page.text  # his matchmaker, to call
    assert world["him"].phone not in page.text
    assert "Both live in 杭州市" in page.text
    assert MatchStats.unscoped.get(member=world["him"]).matched_count == 1


def test_recommend_and_answer_through_the_pages(agency, world):
    client = agency_client(agency, world["hers"])
    url = reverse("matching:recommend", args=[world["her"].pk, world["him"].pk])
    response = client.post(url, {"reason": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "This field is required" in response.text
    assert not Recommendation.unscoped.exists()
    assert client.post(url, {"reason": "性格互补"}).status_code == 302
    rec = Recommendation.unscoped.get()
    answer = reverse("matching:answer", args=[rec.pk, "member", "decline"])
    response = client.post(answer, {"reason": ""}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Say why it was declined" in response.text
    rec.refresh_from_db()
    assert rec.status == "proposed"
    client.post(reverse("matching:answer", args=[rec.pk, "member", "accept"]))
    rec.refresh_from_db()
    assert rec.status == "member_accepted"
    listing = client.get(reverse("matching:recommendations"), {"status": "member_accepted"})
    assert [r.pk for r in listing.context["page"]] == [rec.pk]


def test_pages_are_closed_to_other_agencies_and_roles(agency, world, other_agency):
    outsider = UserFactory(agency=other_agency, perms=MATCHMAKER)
    foreign = agency_client(other_agency, outsider)
    assert foreign.get(reverse("matching:library", args=[world["her"].pk])).status_code == 404
    url = reverse("matching:recommend", args=[world["her"].pk, world["him"].pk])
    assert foreign.post(url, {"reason": "x"}).status_code == 404
    rec = recommend(agency, world)
    assert foreign.post(reverse("matching:answer", args=[rec.pk, "member", "accept"])).status_code == 404
    assert world["her"].name not in foreign.get(reverse("matching:recommendations")).text
    assert foreign.get(reverse("matching:candidate_photo", args=[world["him"].pk])).status_code == 404
    plain = UserFactory(agency=agency, perms=["matchmakers.view_members"])
    denied = agency_client(agency, plain)
    assert denied.get(reverse("matching:library", args=[world["her"].pk])).status_code == 403
    assert denied.get(reverse("matching:recommendations")).status_code == 403
    assert denied.post(url, {"reason": "x"}).status_code == 403
    rec.refresh_from_db()
    assert rec.status == "proposed" and Recommendation.unscoped.count() == 1


def test_recommendation_list_query_count_is_constant(agency, world, django_assert_max_num_queries):
    client = agency_client(agency, world["hers"])
    recommend(agency, world)
    client.get(reverse("matching:recommendations"))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("matching:recommendations"))
    for n in range(8):
        other = person(agency, "female", 27, owner=world["hers"])
        Recommendation.unscoped.create(agency=agency, member=other, candidate=world["him"], score=70, reason=f"{n}",
                                       recommended_by=world["hers"])  # fmt: skip
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(reverse("matching:recommendations")).context["page"]) == 9


def test_library_query_count_does_not_grow_with_candidates(agency, world, django_assert_max_num_queries):
    client = agency_client(agency, world["hers"])
    url = reverse("matching:library", args=[world["her"].pk])
    client.get(url)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    for _ in range(10):
        person(agency, "male", 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url).context["suggestions"]) == 11


def test_weights_are_an_agency_setting(agency, world):
    admin = UserFactory(agency=agency, perms=["matchmakers.edit_settings"])
    client = agency_client(agency, admin)
    url = reverse("matching:settings")
    zero = dict.fromkeys(MatchSettings.WEIGHTS, "0")
    response = client.post(url, zero, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "at least one part" in response.text
    assert client.post(url, {**zero, "weight_place": "10"}).status_code == 302
    assert MatchSettings.unscoped.get(agency=agency).weight_place == 10
    assert agency_client(agency, world["hers"]).get(url).status_code == 403


def test_contacts_are_released_only_once_both_sides_accepted(agency, world):
    rec = recommend(agency, world)
    client = agency_client(agency, world["hers"])
    url = reverse("matching:library", args=[world["her"].pk])
    assert world["him"].phone not in client.get(url).text
    with agency_context(agency):
        services.respond(agency=agency, actor=world["hers"], recommendation=rec, side="member", accepted=True)
    assert world["him"].phone not in client.get(url).text
    with agency_context(agency):
        services.respond(agency=agency, actor=world["his"], recommendation=rec, side="candidate", accepted=True)
    assert world["him"].phone in client.get(url).text


def test_each_side_is_answered_and_named_only_by_its_own_matchmakers(agency, world):
    rec = recommend(agency, world)
    his_page = agency_client(agency, world["his"]).get(reverse("matching:library", args=[world["him"].pk]))
    assert "/member/accept/" not in his_page.text  # her answer is not his to record
    assert "林**" in his_page.text and "林若溪" not in his_page.text
    response = agency_client(agency, world["his"]).post(reverse("matching:answer", args=[rec.pk, "member", "accept"]),
                                                        follow=True)  # fmt: skip
    assert response.status_code == 200  # a message, not an error page
    rec.refresh_from_db()
    assert rec.status == "proposed"


def test_a_candidates_main_photo_is_shown_to_matchmakers_who_cannot_open_the_record(agency, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.members.models import MemberPhoto
    from tests.conftest import image_bytes

    MemberPhoto.unscoped.create(agency=agency, member=world["him"], is_primary=True,
                                image=SimpleUploadedFile("him.png", image_bytes(), "image/png"))  # fmt: skip
    client = agency_client(agency, world["hers"])
    response = client.get(reverse("matching:candidate_photo", args=[world["him"].pk]))
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert client.get(reverse("members:photo", args=[world["him"].pk, 1])).status_code == 404  # not his record
    Member.unscoped.filter(pk=world["him"].pk).update(status="paused")  # not a candidate: no photo
    assert client.get(reverse("matching:candidate_photo", args=[world["him"].pk])).status_code == 404


def test_a_member_out_of_service_is_not_matched_nor_recommended_to(agency, world):
    Member.unscoped.filter(pk=world["her"].pk).update(status="success")
    page = agency_client(agency, world["hers"]).get(reverse("matching:library", args=[world["her"].pk]))
    assert page.context["suggestions"] == []
    with pytest.raises(ValidationError, match="not in service"), agency_context(agency), translation.override("en"):
        recommend(agency, world)
    assert Contract.unscoped.get(member=world["her"]).recommendations_used == 0


def test_messages_never_name_a_candidate_the_user_may_not_see(agency, world):
    hidden = person(agency, "female", 60, owner=world["his"], name="秘密会员")  # no match for anyone here
    client = agency_client(agency, world["hers"])
    url = reverse("matching:recommend", args=[world["her"].pk, hidden.pk])
    response = client.post(url, {"reason": "试试"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "秘密会员" not in response.text
    assert "This candidate does not meet" in response.text
    ok = client.post(reverse("matching:recommend", args=[world["her"].pk, world["him"].pk]), {"reason": "合适"},
                     follow=True)  # fmt: skip
    assert "张明远" not in ok.text
