"""The member services and selectors of the profile hub (issue 4), called directly.

Permission and visibility are the service's own checks (a view is only one caller); messages are
asserted in English, rendered inside translation.override("en").
"""

import datetime
import io
import itertools
from pathlib import Path

import pytest
from django.core.exceptions import FieldError, PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from openpyxl import load_workbook

from apps.agencies.context import agency_context
from apps.core.templatetags.matchcrm import mask_id, mask_phone
from apps.matchmakers.models import Role
from apps.members import exports
from apps.members.models import (
    ContactReveal,
    FamilyMember,
    Member,
    MemberExport,
    MemberPhoto,
    PartnerPreference,
    Tag,
)
from apps.members.selectors import member_list, member_profile, member_visible_list
from apps.members.services import (
    DEFAULT_TAGS,
    contact_reveal,
    family_member_add,
    family_member_delete,
    member_create,
    member_export_log,
    member_photo_add,
    member_photo_delete,
    member_share,
    member_update,
    tag_create,
    tag_delete,
    tags_create_defaults,
)
from apps.members.timeline import member_timeline
from tests.agencies.factories import AgencyFactory
from tests.conftest import image_bytes
from tests.matchmakers.factories import UserFactory, root_role

pytestmark = pytest.mark.django_db

VIEW = "matchmakers.view_members"
ADD = "matchmakers.add_members"
EDIT = "matchmakers.edit_members"
REVEAL = "matchmakers.reveal_contact"
SETTINGS = "matchmakers.edit_settings"
STAFF = [VIEW, ADD, EDIT]

PHONE = "13800138000"
ID_NUMBER = "330106199205170028"

_numbers = itertools.count(1)


def _phone() -> str:
    return f"139{next(_numbers):08d}"


def create(agency, actor, **fields) -> Member:
    """A member entered through the service; refusals are worded in English."""
    fields.setdefault("name", f"会员{next(_numbers)}")
    fields.setdefault("gender", "female")
    fields.setdefault("phone", _phone())
    with agency_context(agency), translation.override("en"):
        return member_create(agency=agency, actor=actor, **fields)


def put_under(boss, user) -> None:
    """Move `user`'s role right below `boss`'s, so `boss` sees the members `user` owns."""
    with agency_context(user.agency):
        Role.objects.get(pk=user.role_id).move_to(Role.objects.get(pk=boss.role_id), "last-child")


def tags_of(agency, kind: str) -> list[Tag]:
    return list(Tag.unscoped.filter(agency=agency, kind=kind).order_by("position"))


def messages_of(caught) -> dict[str, list[str]]:
    """The refusal's messages by field (services word them in the active language: call them in English)."""
    with translation.override("en"):
        error = caught.value
        return error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}


@pytest.fixture
def matchmaker(agency):
    return UserFactory(agency=agency, username="lin", name="林红娘", perms=STAFF)


@pytest.fixture
def lead(agency, matchmaker):
    lead = UserFactory(agency=agency, username="lead", name="周组长", perms=[*STAFF, REVEAL])
    put_under(lead, matchmaker)
    return lead


@pytest.fixture
def colleague(agency):
    """Same agency and permissions, a sibling branch: sees none of the matchmaker's members."""
    return UserFactory(agency=agency, username="zhao", name="赵红娘", perms=[*STAFF, REVEAL])


@pytest.fixture
def outsider(other_agency):
    return UserFactory(agency=other_agency, username="wu", name="吴红娘", perms=[*STAFF, REVEAL, SETTINGS])


# --- member_create ------------------------------------------------------------------------------------


def test_a_created_member_is_owned_and_entered_by_the_actor(agency, matchmaker):
    member = create(agency, matchmaker, name="林晓雨")
    assert member.agency_id == agency.pk
    assert member.presale_owner == matchmaker
    assert member.created_by == matchmaker
    assert member.aftersale_owner is None
    assert member.source == Member.Source.MANUAL
    assert member.status == Member.Status.LEAD
    assert member.service_status == "none"


def test_member_numbers_count_per_agency(agency, matchmaker, outsider):
    first, second = create(agency, matchmaker), create(agency, matchmaker)
    foreign = create(outsider.agency, outsider)
    assert (first.member_no, second.member_no) == ("M000001", "M000002")
    assert foreign.member_no == "M000001"


def test_a_refused_member_uses_no_member_number(agency, matchmaker):
    with pytest.raises(ValidationError):
        create(agency, matchmaker, phone="123")
    assert create(agency, matchmaker).member_no == "M000001"


@pytest.mark.parametrize(
    "raw", ["+86 138 0013 8000", "0086-138-0013-8000", "86 13800138000", "138 0013 8000", "138-0013-8000", PHONE]
)
def test_phone_numbers_are_stored_as_11_digits(agency, matchmaker, raw):
    assert create(agency, matchmaker, phone=raw).phone == PHONE


@pytest.mark.parametrize("raw", ["12345", "23800138000", "1380013800", "1280013800x"])
def test_an_invalid_phone_is_refused_on_the_phone_field(agency, matchmaker, raw):
    with pytest.raises(ValidationError) as caught:
        create(agency, matchmaker, phone=raw)
    assert messages_of(caught) == {"phone": ["A mobile number is 11 digits starting with 1, e.g. 13800138000."]}
    assert not Member.unscoped.exists()


def test_creating_needs_the_add_members_permission(agency):
    viewer = UserFactory(agency=agency, perms=[VIEW, EDIT])
    with pytest.raises(PermissionDenied):
        create(agency, viewer)
    assert not Member.unscoped.exists()


def test_a_duplicate_phone_names_member_and_owner_to_whoever_may_see_it(agency, matchmaker, lead):
    existing = create(agency, matchmaker, name="陈静", phone=PHONE)
    for actor in [matchmaker, lead]:
        with pytest.raises(ValidationError) as caught:
            create(agency, actor, phone="+86 138 0013 8000")
        assert messages_of(caught) == {
            "phone": [f"This phone number belongs to 陈静 ({existing.member_no}), followed by 林红娘."]
        }
    assert Member.unscoped.count() == 1


def test_a_duplicate_phone_of_a_member_without_owner_says_nobody_follows_it(agency, matchmaker):
    existing = create(agency, matchmaker, name="陈静", phone=PHONE)
    Member.unscoped.filter(pk=existing.pk).update(presale_owner=None, aftersale_owner=matchmaker)
    with pytest.raises(ValidationError) as caught:
        create(agency, matchmaker, phone=PHONE)
    assert messages_of(caught) == {
        "phone": [f"This phone number belongs to 陈静 ({existing.member_no}), followed by nobody yet."]
    }


def test_a_duplicate_phone_stays_anonymous_to_whoever_may_not_see_the_member(agency, matchmaker, colleague):
    create(agency, matchmaker, name="陈静", phone=PHONE)
    with pytest.raises(ValidationError) as caught:
        create(agency, colleague, phone=PHONE)
    assert messages_of(caught) == {
        "phone": ["A member with this phone number already exists, followed by a colleague."]
    }
    assert Member.unscoped.count() == 1


def test_the_same_phone_may_exist_in_two_agencies(agency, matchmaker, outsider):
    create(outsider.agency, outsider, phone=PHONE)
    assert create(agency, matchmaker, phone=PHONE).phone == PHONE


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ({"residence_province": "33", "residence_city": "4401"},
         {"residence_city": ["广州市 is not in 浙江省. Choose a city of that province."]}),
        ({"residence_province": "33", "residence_city": "3301", "residence_district": "330203"},
         {"residence_district": ["海曙区 is not in 杭州市. Choose a district of that city."]}),
        ({"residence_city": "3301"}, {"residence_city": ["Choose the province of 杭州市 first."]}),
        ({"residence_province": "99"},
         {"residence_province": ["There is no province with code 99. Choose a province from the list."]}),
        ({"native_province": "11", "native_city": "3302"},
         {"native_city": ["宁波市 is not in 北京市. Choose a city of that province."]}),
    ],
)  # fmt: skip
def test_a_location_must_follow_the_province_city_district_cascade(agency, matchmaker, location, expected):
    with pytest.raises(ValidationError) as caught:
        create(agency, matchmaker, **location)
    assert messages_of(caught) == expected
    assert not Member.unscoped.exists()


def test_a_consistent_location_is_stored(agency, matchmaker):
    member = create(
        agency, matchmaker, residence_province="33", residence_city="3301", residence_district="330106",
        native_province="11", native_city="1101",
    )  # fmt: skip
    assert (member.residence_city, member.residence_district, member.native_city) == ("3301", "330106", "1101")


def test_tags_of_another_agency_are_refused(agency, matchmaker, outsider):
    foreign = tags_of(outsider.agency, "interests")[0]
    own = tags_of(agency, "interests")[0]
    with pytest.raises(ValidationError) as caught:
        create(agency, matchmaker, tag_ids=[own.pk, foreign.pk])
    assert messages_of(caught) == {"__all__": ["Some tags do not belong to this agency's tag library."]}
    with pytest.raises(ValidationError):
        create(agency, matchmaker, tag_ids=[987654321])
    assert not Member.unscoped.exists()


def test_preferences_are_saved_with_the_member(agency, matchmaker):
    hard, interests = tags_of(agency, "hard"), tags_of(agency, "interests")
    preference = {
        "age_min": 28, "age_max": 38, "height_min": 170, "height_max": 185, "education_min": 4, "income_min": 5,
        "marital_statuses": ["never_married"], "city_codes": ["3301"], "must_tag_ids": [hard[0].pk],
        "nice_tag_ids": [interests[0].pk, interests[1].pk], "accepts_children": False, "notes": "孝顺",
    }  # fmt: skip
    member = create(agency, matchmaker, preference=preference)
    saved = PartnerPreference.unscoped.get(member=member)
    assert saved.agency_id == agency.pk
    assert {field: getattr(saved, field) for field in preference} == preference


def test_a_member_without_preferences_gets_no_preference_row(agency, matchmaker):
    create(agency, matchmaker)
    assert not PartnerPreference.unscoped.exists()


@pytest.mark.parametrize(
    ("preference", "message"),
    [
        ({"age_min": 40, "age_max": 30}, "The lowest age must not be above the highest."),
        ({"height_min": 190, "height_max": 170}, "The lowest height must not be above the highest."),
        ({"age_min": 17}, "Ensure this value is greater than or equal to 18."),
        ({"city_codes": ["33"]}, "Choose cities from the list."),
        ({"must_tag_ids": [987654321]}, "Some tags do not belong to this agency's tag library."),
    ],
)
def test_invalid_preferences_refuse_the_whole_member(agency, matchmaker, preference, message):
    with pytest.raises(ValidationError) as caught:
        create(agency, matchmaker, preference=preference)
    assert message in [text for texts in messages_of(caught).values() for text in texts]
    assert not Member.unscoped.exists()
    assert not PartnerPreference.unscoped.exists()


# --- member_update ------------------------------------------------------------------------------------


def test_updating_changes_the_profile_and_creates_then_updates_the_preferences(agency, matchmaker):
    member = create(agency, matchmaker, name="林晓雨")
    with agency_context(agency):
        member_update(
            agency=agency, actor=matchmaker, member=member, name="林晓雨", status="following", height_cm=166,
            preference={"age_min": 30},
        )  # fmt: skip
        member_update(agency=agency, actor=matchmaker, member=member, preference={"age_max": 40})
    member.refresh_from_db()
    assert (member.status, member.height_cm) == ("following", 166)
    preference = PartnerPreference.unscoped.get(member=member)
    assert (preference.age_min, preference.age_max) == (30, 40)


def test_updating_keeps_the_own_phone_without_calling_it_a_duplicate(agency, matchmaker):
    member = create(agency, matchmaker, phone=PHONE)
    with agency_context(agency):
        member_update(agency=agency, actor=matchmaker, member=member, phone="+86 138 0013 8000", name="新名字")
    member.refresh_from_db()
    assert (member.phone, member.name) == (PHONE, "新名字")


def test_updating_needs_the_edit_permission(agency, matchmaker):
    member = create(agency, matchmaker)
    reader = UserFactory(agency=agency, perms=[VIEW, ADD])
    put_under(reader, matchmaker)
    with agency_context(agency), pytest.raises(PermissionDenied):
        member_update(agency=agency, actor=reader, member=member, name="篡改")
    member.refresh_from_db()
    assert member.name != "篡改"


def test_updating_an_invisible_member_is_refused(agency, matchmaker, colleague, outsider):
    member = create(agency, matchmaker)
    with agency_context(agency), pytest.raises(PermissionDenied):
        member_update(agency=agency, actor=colleague, member=member, name="篡改")
    with agency_context(outsider.agency), pytest.raises(PermissionDenied):
        member_update(agency=outsider.agency, actor=outsider, member=member, name="篡改")
    member.refresh_from_db()
    assert member.name != "篡改"


def test_an_invalid_update_changes_nothing(agency, matchmaker):
    member = create(agency, matchmaker, name="原名", preference={"age_min": 25})
    with agency_context(agency), pytest.raises(ValidationError):
        member_update(
            agency=agency, actor=matchmaker, member=member, name="新名", preference={"age_min": 50, "age_max": 30}
        )
    member.refresh_from_db()
    assert member.name == "原名"
    assert PartnerPreference.unscoped.get(member=member).age_min == 25


# --- contact reveal and encryption --------------------------------------------------------------------


def test_revealing_returns_the_value_and_logs_who_what_and_where(agency, matchmaker, lead):
    member = create(agency, matchmaker, phone=PHONE, wechat="wx_lin", id_number=ID_NUMBER)
    with agency_context(agency):
        values = [
            contact_reveal(
                agency=agency, actor=lead, member=member, field=field, ip_address="192.0.2.1", user_agent="x" * 400
            )
            for field in ["phone", "wechat", "id_number"]
        ]
    assert values == [PHONE, "wx_lin", ID_NUMBER]
    reveals = list(ContactReveal.unscoped.order_by("id"))
    assert [reveal.field for reveal in reveals] == ["phone", "wechat", "id_number"]
    assert {(reveal.user_id, reveal.member_id, reveal.agency_id, reveal.ip_address) for reveal in reveals} == {
        (lead.pk, member.pk, agency.pk, "192.0.2.1")
    }
    assert len(reveals[0].user_agent) == 300


def test_revealing_needs_the_permission_and_logs_nothing_otherwise(agency, matchmaker):
    member = create(agency, matchmaker)
    with agency_context(agency), pytest.raises(PermissionDenied):
        contact_reveal(agency=agency, actor=matchmaker, member=member, field="phone")
    assert not ContactReveal.unscoped.exists()


def test_revealing_an_invisible_member_is_refused_and_logs_nothing(agency, matchmaker, colleague):
    member = create(agency, matchmaker)
    with agency_context(agency), pytest.raises(PermissionDenied):
        contact_reveal(agency=agency, actor=colleague, member=member, field="phone")
    assert not ContactReveal.unscoped.exists()


@pytest.mark.parametrize("field", ["email", "name", "attachment"])
def test_only_contact_fields_can_be_revealed(agency, matchmaker, lead, field):
    member = create(agency, matchmaker)
    with agency_context(agency), pytest.raises(ValidationError):
        contact_reveal(agency=agency, actor=lead, member=member, field=field)
    assert not ContactReveal.unscoped.exists()


def test_the_id_number_is_encrypted_at_rest_and_read_back_in_clear(agency, matchmaker):
    first = create(agency, matchmaker, id_number=ID_NUMBER)
    second = create(agency, matchmaker, id_number=ID_NUMBER)
    blank = create(agency, matchmaker)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, id_number FROM members_member WHERE id IN (%s, %s, %s)", [first.pk, second.pk, blank.pk]
        )
        raw = dict(cursor.fetchall())
    assert ID_NUMBER not in raw[first.pk]
    assert raw[first.pk] != raw[second.pk]  # a fresh ciphertext every time: equal numbers do not show
    assert raw[blank.pk] == ""
    assert Member.unscoped.get(pk=first.pk).id_number == ID_NUMBER
    assert Member.unscoped.get(pk=blank.pk).id_number == ""


def test_the_encrypted_id_number_cannot_be_searched_in_sql(agency, matchmaker):
    create(agency, matchmaker, id_number=ID_NUMBER)
    with pytest.raises(FieldError, match="encrypted"):
        Member.unscoped.filter(id_number=ID_NUMBER).exists()


@pytest.mark.parametrize(("value", "masked"), [(PHONE, "138****8000"), ("", ""), ("12345", "*****"), (None, "")])
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


@pytest.mark.parametrize(("value", "masked"), [(ID_NUMBER, "330106********0028"), ("", ""), ("123", "***")])
def test_mask_id(value, masked):
    assert mask_id(value) == masked


# --- photos, family -----------------------------------------------------------------------------------


def _png(name="photo.png"):
    return SimpleUploadedFile(name, image_bytes(), content_type="image/png")


def test_the_first_photo_is_the_main_one_until_another_is_chosen(agency, matchmaker):
    member = create(agency, matchmaker)
    with agency_context(agency):
        first = member_photo_add(agency=agency, actor=matchmaker, member=member, image=_png())
        second = member_photo_add(agency=agency, actor=matchmaker, member=member, image=_png())
        third = member_photo_add(agency=agency, actor=matchmaker, member=member, image=_png(), is_primary=True)
    primary = {photo.pk: photo.is_primary for photo in MemberPhoto.unscoped.all()}
    assert primary == {first.pk: False, second.pk: False, third.pk: True}


def test_a_photo_must_be_a_real_image(agency, matchmaker):
    member = create(agency, matchmaker)
    fake = SimpleUploadedFile("photo.png", b"%PDF-1.4 not an image", content_type="image/png")
    with agency_context(agency), pytest.raises(ValidationError):
        member_photo_add(agency=agency, actor=matchmaker, member=member, image=fake)
    assert not MemberPhoto.unscoped.exists()


def test_deleting_a_photo_removes_its_file_after_commit(agency, matchmaker, django_capture_on_commit_callbacks):
    member = create(agency, matchmaker)
    with agency_context(agency):
        photo = member_photo_add(agency=agency, actor=matchmaker, member=member, image=_png())
        path = Path(photo.image.path)
        with django_capture_on_commit_callbacks(execute=True):
            member_photo_delete(agency=agency, actor=matchmaker, photo=photo)
    assert not MemberPhoto.unscoped.exists()
    assert not path.exists()


def test_photos_need_the_edit_permission_and_visibility(agency, matchmaker, colleague):
    member = create(agency, matchmaker)
    reader = UserFactory(agency=agency, perms=[VIEW])
    put_under(reader, matchmaker)
    for actor in [reader, colleague]:
        with agency_context(agency), pytest.raises(PermissionDenied):
            member_photo_add(agency=agency, actor=actor, member=member, image=_png())
    assert not MemberPhoto.unscoped.exists()


def test_family_members_are_added_validated_and_deleted_per_member(agency, matchmaker):
    member, other = create(agency, matchmaker), create(agency, matchmaker)
    with agency_context(agency):
        father = family_member_add(agency=agency, actor=matchmaker, member=member, relation="father", name="林国栋")
        with pytest.raises(ValidationError):
            family_member_add(agency=agency, actor=matchmaker, member=member, relation="father", birth_year=1800)
        # A family id of another member is not deleted through this member.
        family_member_delete(agency=agency, actor=matchmaker, member=other, family_id=father.pk)
        assert FamilyMember.unscoped.filter(pk=father.pk).exists()
        family_member_delete(agency=agency, actor=matchmaker, member=member, family_id=father.pk)
    assert not FamilyMember.unscoped.exists()


# --- tag library --------------------------------------------------------------------------------------


@pytest.fixture
def tag_admin(agency):
    return UserFactory(agency=agency, username="tagadmin", perms=[VIEW, SETTINGS])


def test_a_new_agency_gets_the_default_tag_library_once(db):
    agency = AgencyFactory(slug="xinjia")
    tags = Tag.unscoped.filter(agency=agency)
    expected = {kind: len(names) for kind, names in DEFAULT_TAGS.items()}
    counts = {kind: tags.filter(kind=kind).count() for kind in expected}
    assert counts == expected
    assert set(expected) == {"hard", "interests", "values", "personality", "lifestyle"}
    assert list(tags.filter(kind="interests").order_by("position").values_list("position", flat=True)) == list(
        range(expected["interests"])
    )
    tags_create_defaults(agency=agency)
    assert tags.count() == sum(expected.values())


def test_adding_a_tag_strips_the_name_and_refuses_duplicates(agency, tag_admin):
    with agency_context(agency), translation.override("en"):
        tag = tag_create(agency=agency, actor=tag_admin, name="  爱猫 ", kind="lifestyle")
        assert tag.name == "爱猫"
        with pytest.raises(ValidationError) as caught:
            tag_create(agency=agency, actor=tag_admin, name="爱猫", kind="values")
    assert messages_of(caught) == {"name": ["The tag “爱猫” already exists."]}
    assert Tag.unscoped.filter(agency=agency, name="爱猫").count() == 1


def test_changing_the_tag_library_needs_the_settings_permission(agency, matchmaker):
    tag = tags_of(agency, "interests")[0]
    with agency_context(agency):
        with pytest.raises(PermissionDenied):
            tag_create(agency=agency, actor=matchmaker, name="爱猫", kind="lifestyle")
        with pytest.raises(PermissionDenied):
            tag_delete(agency=agency, actor=matchmaker, tag=tag)
    assert Tag.unscoped.filter(pk=tag.pk).exists()


def test_deleting_a_tag_strips_it_from_every_member_and_preference_of_the_agency(agency, matchmaker, tag_admin):
    travel, sports, reading = tags_of(agency, "interests")[:3]
    carrier = create(
        agency, matchmaker, tag_ids=[travel.pk, sports.pk],
        preference={"must_tag_ids": [travel.pk], "nice_tag_ids": [reading.pk, travel.pk]},
    )  # fmt: skip
    untouched = create(agency, matchmaker, tag_ids=[sports.pk], preference={"nice_tag_ids": [reading.pk]})
    with agency_context(agency):
        tag_delete(agency=agency, actor=tag_admin, tag=travel)
    assert not Tag.unscoped.filter(pk=travel.pk).exists()
    assert Member.unscoped.get(pk=carrier.pk).tag_ids == [sports.pk]
    assert Member.unscoped.get(pk=untouched.pk).tag_ids == [sports.pk]
    preference = PartnerPreference.unscoped.get(member=carrier)
    assert (preference.must_tag_ids, preference.nice_tag_ids) == ([], [reading.pk])
    assert PartnerPreference.unscoped.get(member=untouched).nice_tag_ids == [reading.pk]


# --- selectors ----------------------------------------------------------------------------------------


def test_visible_members_never_include_another_agencys(agency, matchmaker, outsider):
    mine = create(agency, matchmaker)
    create(outsider.agency, outsider)
    root_user = UserFactory(agency=agency, username="boss", role=root_role(agency))
    with agency_context(agency):
        assert list(member_visible_list(user=root_user).values_list("pk", flat=True)) == [mine.pk]
        assert list(member_list(user=outsider)) == []


def test_the_profile_carries_tags_in_their_order_and_skips_deleted_ones(agency, matchmaker, tag_admin):
    travel, sports, reading = tags_of(agency, "interests")[:3]
    hard = tags_of(agency, "hard")[0]
    member = create(
        agency, matchmaker, tag_ids=[reading.pk, travel.pk],
        preference={"must_tag_ids": [hard.pk, sports.pk], "nice_tag_ids": [travel.pk]},
    )  # fmt: skip
    Member.unscoped.filter(pk=member.pk).update(tag_ids=[reading.pk, 987654321, travel.pk])
    with agency_context(agency):
        profile = member_profile(user=matchmaker, pk=member.pk)
    assert [tag.pk for tag in profile.tag_objects] == [reading.pk, travel.pk]
    assert [tag.pk for tag in profile.preference.must_tags] == [hard.pk, sports.pk]
    assert [tag.pk for tag in profile.preference.nice_tags] == [travel.pk]


def test_the_profile_of_an_invisible_member_is_none(agency, matchmaker, colleague):
    member = create(agency, matchmaker)
    with agency_context(agency):
        assert member_profile(user=colleague, pk=member.pk) is None


def test_the_profile_loads_in_a_fixed_number_of_queries(agency, matchmaker, django_assert_max_num_queries):
    tags = tags_of(agency, "interests")
    small = create(agency, matchmaker, tag_ids=[tags[0].pk], preference={"nice_tag_ids": [tags[1].pk]})
    big = create(agency, matchmaker, tag_ids=[tag.pk for tag in tags], preference={"nice_tag_ids": [tags[1].pk]})
    with agency_context(agency):
        for member, count in [(small, 1), (big, 6)]:
            for number in range(count):
                member_photo_add(agency=agency, actor=matchmaker, member=member, image=_png())
                family_member_add(agency=agency, actor=matchmaker, member=member, relation="sibling", name=f"{number}")
        with CaptureQueriesContext(connection) as queries:
            member_profile(user=matchmaker, pk=small.pk)
        with django_assert_max_num_queries(len(queries.captured_queries)):
            profile = member_profile(user=matchmaker, pk=big.pk)
            assert len(profile.photos.all()) == 6
            assert len(profile.family.all()) == 6
            assert len(profile.tag_objects) == len(tags)


# --- timeline -----------------------------------------------------------------------------------------


def test_the_timeline_lists_registration_shares_and_reveals_newest_first(agency, matchmaker, lead, colleague):
    member = create(agency, matchmaker)
    with agency_context(agency):
        member_share(agency=agency, actor=matchmaker, member=member, with_user=colleague)
        contact_reveal(agency=agency, actor=lead, member=member, field="phone")
        with translation.override("en"):
            events = member_timeline(member=member, user=matchmaker)
    assert [event.kind for event in events] == ["reveal", "share", "registration"]
    assert [event.at for event in events] == sorted((event.at for event in events), reverse=True)
    assert events[0].title == "mobile phone revealed"
    assert events[0].actor == "周组长"
    assert events[1].title == "Shared with 赵红娘"
    assert events[2].title == "Registered (Manual entry)"
    assert events[2].actor == "林红娘"


def test_the_timeline_reads_a_fixed_number_of_queries_for_100_events(
    agency, matchmaker, lead, django_assert_max_num_queries
):
    member = create(agency, matchmaker)
    ContactReveal.unscoped.create(agency=agency, member=member, user=lead, field="phone")
    with agency_context(agency):
        with CaptureQueriesContext(connection) as one:
            member_timeline(member=member, user=matchmaker)
        for _ in range(99):
            ContactReveal.unscoped.create(agency=agency, member=member, user=lead, field="wechat")
        with django_assert_max_num_queries(len(one.captured_queries)):
            events = member_timeline(member=member, user=matchmaker)
    assert len(events) <= 100
    assert events[-1].kind == "registration"


# --- export -------------------------------------------------------------------------------------------


def _sheet(workbook) -> list[tuple]:
    output = io.BytesIO()
    workbook.save(output)
    return list(load_workbook(io.BytesIO(output.getvalue()), read_only=True).active.iter_rows(values_only=True))


@pytest.mark.parametrize("reveal", [False, True])
def test_the_workbook_masks_contacts_unless_revealing(agency, matchmaker, reveal):
    member = create(
        agency, matchmaker, name="林晓雨", phone=PHONE, wechat="wx_lin", email="lin@example.com",
        residence_province="33", residence_city="3301", birth_date=datetime.date(1992, 5, 17), id_number=ID_NUMBER,
    )  # fmt: skip
    with agency_context(agency), translation.override("en"):
        workbook, count = exports.members_workbook(member_list(user=matchmaker), reveal=reveal)
        rows = _sheet(workbook)
    assert count == 1
    header, row = rows
    assert header[:2] == ("Member number", "Name")
    assert header[9:12] == ("Mobile phone", "WeChat", "Email")
    assert row[0] == member.member_no
    assert row[8] == "杭州市"
    expected = (PHONE, "wx_lin", "lin@example.com") if reveal else ("138****8000", "****", "****")
    assert row[9:12] == expected
    assert ID_NUMBER not in [str(value) for value in row]  # never exported
    assert row[13] == "林红娘"


def test_every_export_is_logged(agency, matchmaker):
    with agency_context(agency):
        export = member_export_log(
            agency=agency, actor=matchmaker, row_count=7, filters={"gender": "female"}, revealed=False,
            ip_address="192.0.2.9",
        )  # fmt: skip
    saved = MemberExport.unscoped.get(pk=export.pk)
    assert (saved.user, saved.row_count, saved.filters, saved.revealed, saved.ip_address) == (
        matchmaker, 7, {"gender": "female"}, False, "192.0.2.9",
    )  # fmt: skip
    assert saved.exported_at <= timezone.now()


# --- model helpers ------------------------------------------------------------------------------------


def test_age_and_zodiac_follow_the_date_of_birth(agency, matchmaker):
    member = create(agency, matchmaker, birth_date=datetime.date(1992, 5, 17))
    assert member.age_on(datetime.date(2024, 5, 16)) == 31
    assert member.age_on(datetime.date(2024, 5, 17)) == 32
    with translation.override("en"):
        assert member.zodiac == "Monkey"
    assert Member(name="无生日").age_on(datetime.date(2024, 1, 1)) is None


def test_the_month_and_day_of_birth_are_kept_by_the_database(agency, matchmaker):
    member = create(agency, matchmaker, birth_date=datetime.date(1992, 2, 29))
    assert Member.unscoped.get(pk=member.pk).birth_md == 229
