"""The bidirectional match engine (F-F4): hard criteria both ways, exclusions, a symmetric score, reasons."""

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.agencies.context import agency_context
from apps.matching import engine
from apps.matching.models import MatchProfile, Recommendation
from apps.matching.reasons import pair_reasons, tag_names_for
from apps.members.models import Member, PartnerPreference, Tag
from tests.matching.factories import TODAY, person, wants
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db


def found(agency, member):
    with agency_context(agency):
        return [c.member_id for c in engine.top_candidates(agency=agency, member=member, limit=100, today=TODAY)]


def floor(agency, member):
    with agency_context(agency):
        return sorted(engine.candidate_ids(agency=agency, member=member, today=TODAY))


def test_a_candidate_who_fits_but_does_not_want_the_member_never_appears(agency):
    him = person(agency, "male", 30)
    wants(him, age_min=25, age_max=32)
    her = person(agency, "female", 28)
    wants(her, age_min=35, age_max=40)  # he is too young for her
    assert found(agency, him) == [] and found(agency, her) == []
    wants(her, age_min=29, age_max=40)
    assert found(agency, him) == [her.pk] and found(agency, her) == [him.pk]
    assert floor(agency, him) == [her.pk]


# Each hard criterion on its own, in both directions: (preference that excludes, candidate facts).
CRITERIA = [
    ({"age_min": 40, "age_max": 45}, {}),
    ({"height_min": 190}, {}),
    ({"height_max": 150}, {}),
    ({"education_min": 5}, {}),
    ({"income_min": 6}, {}),
    ({"marital_statuses": ["divorced"]}, {}),
    ({"city_codes": ["1101"]}, {}),
    ({"accepts_children": False}, {"children": "with_me"}),
]


@pytest.mark.parametrize(("excluding", "facts"), CRITERIA, ids=[next(iter(c[0])) for c in CRITERIA])
@pytest.mark.parametrize("direction", ["member", "candidate"])
def test_each_hard_criterion_alone_excludes_in_either_direction(agency, excluding, facts, direction):
    him = person(agency, "male", 30, **(facts if direction == "candidate" else {}))
    her = person(agency, "female", 28, **(facts if direction == "member" else {}))
    assert found(agency, him) == [her.pk]
    wisher = him if direction == "member" else her  # "member": his wish excludes her; "candidate": hers him
    wants(wisher, **excluding)
    assert found(agency, him) == [] and found(agency, her) == []


def test_must_have_tags_are_hard_and_nice_tags_only_score(agency):
    hiking = Tag.unscoped.create(agency=agency, name="徒步", kind="interest")
    him, her = person(agency, "male", 30), person(agency, "female", 28)
    wants(him, must_tag_ids=[hiking.pk])
    assert found(agency, him) == []
    Member.unscoped.filter(pk=her.pk).update(tag_ids=[hiking.pk])
    assert found(agency, him) == [her.pk]
    wants(her, nice_tag_ids=[999_999])  # a wish nobody meets lowers the score, excludes nobody
    assert found(agency, her) == [him.pk]


def test_same_gender_is_never_proposed(agency):
    him = person(agency, "male", 30)
    person(agency, "male", 29)
    assert found(agency, him) == []


LEFT_OUT = [("status", "paused"), ("status", "success"), ("status", "abandoned"), ("service_status", "paused"),
            ("service_status", "finished")]  # fmt: skip


@pytest.mark.parametrize(("field", "value"), LEFT_OUT)
def test_paused_finished_and_abandoned_members_are_left_out(agency, field, value):
    him, her = person(agency, "male", 30), person(agency, "female", 28)
    Member.unscoped.filter(pk=her.pk).update(**{field: value})
    assert found(agency, him) == []
    Member.unscoped.filter(pk=her.pk).update(status="in_service", service_status="active")
    assert found(agency, him) == [her.pk]


@pytest.mark.parametrize("status", [s for s, _label in Recommendation.Status.choices])
def test_a_pair_already_recommended_either_way_is_left_out_whatever_came_of_it(agency, status):
    him, her, other = person(agency, "male", 30), person(agency, "female", 28), person(agency, "female", 29)
    staff = UserFactory(agency=agency)
    Recommendation.unscoped.create(agency=agency, member=her, candidate=him, score=80, reason="x", status=status,
                                   recommended_by=staff)  # fmt: skip
    assert found(agency, him) == [other.pk]  # she proposed him: he is not proposed her again
    assert found(agency, her) == []


def test_another_agencys_members_are_never_candidates(agency, other_agency):
    him = person(agency, "male", 30)
    person(other_agency, "female", 28)
    assert found(agency, him) == []


def test_without_an_age_wish_the_engine_looks_six_years_either_way(agency):
    him = person(agency, "male", 30)
    near, far = person(agency, "female", 24), person(agency, "female", 23)
    assert found(agency, him) == [near.pk]
    assert far.pk not in found(agency, him)


def test_unknown_facts_do_not_meet_a_stated_wish_and_no_birth_date_means_no_matching(agency):
    him = person(agency, "male", 30, height_cm=None)
    her = person(agency, "female", 28)
    assert found(agency, her) == [him.pk]
    wants(her, height_min=170)
    assert found(agency, her) == []
    assert found(agency, him) == []  # both ways
    undated = person(agency, "female", None)
    other = person(agency, "male", 29)
    assert found(agency, undated) == [] and undated.pk not in found(agency, other)


def test_results_are_ordered_by_score_and_both_sides_count(agency):
    hiking = Tag.unscoped.create(agency=agency, name="徒步", kind="interest")
    him = person(agency, "male", 30, tag_ids=[hiking.pk])
    wants(him, nice_tag_ids=[hiking.pk], age_min=25, age_max=31)
    best = person(agency, "female", 28, tag_ids=[hiking.pk])
    wants(best, nice_tag_ids=[hiking.pk])
    plain = person(agency, "female", 28, residence_city="3201", residence_province="32")
    with agency_context(agency):
        ranked = engine.top_candidates(agency=agency, member=him, today=TODAY)
    assert [c.member_id for c in ranked] == [best.pk, plain.pk]
    assert ranked[0].score > ranked[1].score
    assert all(0 <= c.score <= 100 for c in ranked)


def test_the_score_is_the_same_whichever_side_asks(agency):
    hiking = Tag.unscoped.create(agency=agency, name="徒步", kind="interest")
    him = person(agency, "male", 33, tag_ids=[hiking.pk], education=5, income=6)
    wants(him, age_min=26, age_max=32, height_min=158, height_max=170, education_min=3, nice_tag_ids=[hiking.pk])
    her = person(agency, "female", 29, height_cm=162, native_city="3302", residence_city="3301")
    wants(her, age_min=30, age_max=38, income_min=4)
    with agency_context(agency):
        forward = engine.pair(agency=agency, member=him, candidate=her, today=TODAY)
        backward = engine.pair(agency=agency, member=her, candidate=him, today=TODAY)
    assert forward.score == backward.score
    assert forward.forward == pytest.approx(backward.backward) and forward.backward == pytest.approx(backward.forward)


ages = st.integers(min_value=22, max_value=45)
optional_range = st.one_of(st.none(), st.tuples(st.integers(20, 40), st.integers(0, 15)))


pairs = st.fixed_dictionaries({
    "his_age": ages, "her_age": ages, "his_range": optional_range, "her_range": optional_range,
    "his_education": st.integers(1, 6), "her_education": st.integers(1, 6),
    "his_min": st.one_of(st.none(), st.integers(1, 6)), "her_min": st.one_of(st.none(), st.integers(1, 6)),
    "her_city": st.sampled_from(["3301", "3302", "1101"]),
})  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=pairs)
def test_property_pairs_qualify_both_ways_or_neither_and_score_alike(agency, case):
    Member.unscoped.filter(agency=agency).delete()
    him = person(agency, "male", case["his_age"], education=case["his_education"])
    her = person(agency, "female", case["her_age"], education=case["her_education"], residence_city=case["her_city"])
    for member, age_range, education_min in ((him, case["his_range"], case["his_min"]),
                                             (her, case["her_range"], case["her_min"])):  # fmt: skip
        fields = {"education_min": education_min}
        if age_range is not None:
            fields.update(age_min=age_range[0], age_max=age_range[0] + age_range[1])
        wants(member, **fields)
    with agency_context(agency):
        forward = engine.pair(agency=agency, member=him, candidate=her, today=TODAY)
        backward = engine.pair(agency=agency, member=her, candidate=him, today=TODAY)
    assert (forward is None) == (backward is None)
    if forward is not None:
        assert forward.score == backward.score


def test_reasons_say_what_the_data_says(agency):
    hiking = Tag.unscoped.create(agency=agency, name="徒步", kind="interest")
    him = person(agency, "male", 31, tag_ids=[hiking.pk], education=5)
    wants(him, age_min=26, age_max=30)
    her = person(agency, "female", 28, tag_ids=[hiking.pk])
    wants(her, education_min=4)
    with agency_context(agency), translation.override("en"):
        candidate = engine.pair(agency=agency, member=him, candidate=her, today=TODAY)
        mine = MatchProfile.objects.get(member=him)
        me = engine._wishes({name: getattr(mine, name) for name in engine._PROFILE_FIELDS})
        names = tag_names_for(agency=agency, profiles=[me, candidate.profile])
        reasons = pair_reasons(me, candidate.profile, today=TODAY, tag_names=names)
    assert "Both live in 杭州市" in reasons
    assert "Both: 徒步" in reasons
    assert "Meets her education requirement" in reasons  # her wish, his degree
    assert "Age 28, within his wish of 26-30" in reasons
    assert not any("income" in reason for reason in reasons)


def test_profiles_follow_members_and_preferences(agency):
    her = person(agency, "female", 28)
    profile = MatchProfile.unscoped.get(member_id=her.pk)
    assert profile.residence_city == 3301 and profile.pref_age_min == 0 and profile.eligible
    wants(her, age_min=30, age_max=36, city_codes=["3301"], marital_statuses=["never_married", "widowed"])
    Member.unscoped.filter(pk=her.pk).update(residence_city="3302", status="paused")
    profile.refresh_from_db()
    assert (profile.pref_age_min, profile.pref_city_codes, profile.residence_city) == (30, [3301], 3302)
    assert profile.pref_marital_mask == 1 | 8
    assert not profile.eligible
    PartnerPreference.unscoped.filter(member=her).delete()
    profile.refresh_from_db()
    assert (profile.pref_age_min, profile.pref_age_max) == (0, 255) and profile.pref_city_codes == []
    Member.unscoped.filter(pk=her.pk).delete()
    assert not MatchProfile.unscoped.filter(member_id=her.pk).exists()


def test_unknown_children_do_not_meet_a_no_children_wish(agency):
    him = person(agency, "male", 30, children="")
    her = person(agency, "female", 28)
    assert found(agency, her) == [him.pk]
    wants(her, accepts_children=False)
    assert found(agency, her) == [] and found(agency, him) == []
    Member.unscoped.filter(pk=him.pk).update(children="none")
    assert found(agency, her) == [him.pk]
