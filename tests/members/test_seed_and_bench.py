"""seed_members (synthetic members by COPY) and `manage.py bench members`."""

import io
import json
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.agencies.models import Agency, AgencySequence
from apps.core import bench
from apps.core.validators import mobile_phone_validator
from apps.matchmakers.models import Role, User
from apps.members import divisions
from apps.members.models import Member, PartnerPreference, Tag
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

PROFILE_COLUMNS = (
    "name", "gender", "birth_date", "height_cm", "weight_kg", "education", "income", "marital_status",
    "residence_city", "tag_ids", "status",
)  # fmt: skip


def seed(slug, count, *extra):
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_members", "--agency", slug, "--count", str(count), *extra, stdout=out, stderr=err)
    return out.getvalue()


def test_seed_members_fills_the_agency_with_valid_members(agency):
    output = seed(agency.slug, 500)
    today = timezone.localdate()

    assert "Seeded 500 members" in output
    members = list(Member.unscoped.filter(agency=agency))
    assert len(members) == 500
    # Member numbers: one block of the agency's counter.
    assert AgencySequence.unscoped.get(agency=agency, name="member").last_value == 500
    assert {member.member_no for member in members} == {f"M{n:06d}" for n in range(1, 501)}
    # Phones: valid mobile numbers, unique in the agency.
    phones = [member.phone for member in members]
    assert len(set(phones)) == 500
    for phone in phones:
        mobile_phone_validator(phone)
    for member in members:
        assert divisions.is_province(member.residence_province)
        assert divisions.parent_of(member.residence_city) == member.residence_province
        assert not member.residence_district or divisions.parent_of(member.residence_district) == member.residence_city
        assert divisions.parent_of(member.native_city) == member.native_province
        assert 22 <= member.age_on(today) <= 56
        assert member.gender in {"male", "female"} and 145 <= member.height_cm <= 200
        assert member.birth_md == member.birth_date.month * 100 + member.birth_date.day
    # Realistic spreads rather than constants.
    assert Counter(member.marital_status for member in members).most_common(1)[0][0] == "never_married"
    assert len({member.residence_city for member in members}) >= 12
    assert len({member.created_at.date() for member in members}) > 200
    tag_ids = set(Tag.unscoped.filter(agency=agency).values_list("pk", flat=True))
    assert all(set(member.tag_ids) <= tag_ids for member in members)
    assert sum(bool(member.tag_ids) for member in members) > 400
    # Signed members carry an (encrypted) ID number that decrypts to 18 characters.
    with_id = [member for member in members if member.id_number]
    assert with_id and all(len(member.id_number) == 18 for member in with_id)


def test_most_members_get_partner_preferences_matching_their_profile(agency):
    seed(agency.slug, 500)

    preferences = list(PartnerPreference.unscoped.filter(agency=agency).select_related("member"))
    assert 0.75 * 500 <= len(preferences) < 500
    assert len({preference.member_id for preference in preferences}) == len(preferences)
    ranged = [preference for preference in preferences if preference.age_min is not None]
    assert ranged and all(preference.age_min <= preference.age_max for preference in ranged)
    today = timezone.localdate()
    for preference in ranged:  # around the member's own age
        assert preference.age_min - 1 <= preference.member.age_on(today) <= preference.age_max + 1
    assert any(preference.city_codes for preference in preferences)
    assert all(divisions.is_city(code) for preference in preferences for code in preference.city_codes)


def test_without_staff_bench_matchmakers_own_the_members(agency):
    seed(agency.slug, 300)

    staff = {user.pk: user for user in User.objects.filter(agency=agency)}
    assert staff, "bench matchmakers were created"
    members = Member.unscoped.filter(agency=agency)
    # Owner-less members are the assignment pools: fresh leads and abandoned ones only.
    assert set(members.filter(presale_owner=None).values_list("status", flat=True)) <= {"lead", "abandoned"}
    presale_owners = set(members.exclude(presale_owner=None).values_list("presale_owner_id", flat=True))
    aftersale_owners = set(members.exclude(aftersale_owner=None).values_list("aftersale_owner_id", flat=True))
    assert presale_owners <= set(staff) and len(presale_owners) > 1
    assert aftersale_owners and aftersale_owners <= set(staff)
    assert {staff[pk].role.name for pk in presale_owners} == {"售前红娘"}
    assert Role.unscoped.get(agency=agency, parent=None).users.filter(username="admin").exists()


def test_existing_staff_own_the_members(agency):
    role = Role.unscoped.get(agency=agency, name="售前红娘")
    mine = [UserFactory(agency=agency, username=f"p{i}", role=role) for i in range(3)]
    UserFactory(agency=agency, username="left", role=role, is_active=False)

    seed(agency.slug, 200)

    members = Member.unscoped.filter(agency=agency)
    owners = set(members.exclude(presale_owner=None).values_list("presale_owner_id", flat=True))
    assert owners == {user.pk for user in mine}
    assert set(members.filter(presale_owner=None).values_list("status", flat=True)) <= {"lead", "abandoned"}
    assert User.objects.filter(agency=agency).count() == 4, "no bench matchmakers added"


def test_seed_is_deterministic_and_runs_again_with_new_numbers_and_phones(agency, other_agency):
    seed(agency.slug, 50, "--seed", "7")
    seed(other_agency.slug, 50, "--seed", "7")

    def profiles(target):
        return list(Member.unscoped.filter(agency=target).order_by("member_no").values_list(*PROFILE_COLUMNS))

    first = profiles(agency)
    assert [row[:-2] for row in first] == [row[:-2] for row in profiles(other_agency)]

    seed(agency.slug, 50, "--seed", "7")
    members = Member.unscoped.filter(agency=agency)
    assert members.count() == 100
    assert members.values("phone").distinct().count() == 100
    assert AgencySequence.unscoped.get(agency=agency, name="member").last_value == 100


def test_unknown_agency_is_refused_unless_created(db):
    with pytest.raises(CommandError, match="--create"):
        seed("nowhere", 10)

    seed("nowhere", 10, "--create")

    created = Agency.objects.get(slug="nowhere")
    assert Member.unscoped.filter(agency=created).count() == 10
    assert Tag.unscoped.filter(agency=created).exists()


def test_bench_members_prints_one_json_object(agency):
    seed(agency.slug, 500)
    out = io.StringIO()

    call_command("bench", "members", "--json", "--agency", agency.slug, "--requests", "3", "--warmup", "1", stdout=out)

    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["bench"] == "members"
    assert result["members"] == 500
    assert {"list_p50_ms", "list_p95_ms", "list_queries"} <= set(result)
    assert 0 < result["list_p50_ms"] <= result["list_p95_ms"]
    assert 0 < result["list_queries"] <= 12
    assert set(result["users"]) == {"admin", "presale"}
    assert result["users"]["admin"]["visible"] >= result["users"]["presale"]["visible"] > 0


def test_bench_all_runs_every_registered_bench(agency):
    seed(agency.slug, 50)
    out = io.StringIO()

    call_command("bench", "--all", "--json", "--agency", agency.slug, "--requests", "1", "--warmup", "0", stdout=out)

    names = [json.loads(line)["bench"] for line in out.getvalue().splitlines()]
    assert names == bench.names() and "members" in names


def test_bench_refuses_unknown_names_and_agencies(agency):
    with pytest.raises(CommandError, match="unknown bench"):
        call_command("bench", "nothing", "--agency", agency.slug)
    with pytest.raises(CommandError, match="no agency"):
        call_command("bench", "members", "--agency", "nowhere")
