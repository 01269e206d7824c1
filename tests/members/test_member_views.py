"""The member profile hub through its pages (issue 4): create and edit with partner preferences and
tags, the 360° page, contact masking and the reveal log, private documents, photos, family, the
Excel export, the list filters, birthdays, the tag library and the cascading division selects.

Users get their roles from UserFactory(perms=[…]): each such role sits directly under the agency's
root, so two of them are sibling branches that do not see each other's members. `lead` holds the
role above `matchmaker`'s and sees their members through the role tree.
"""

import datetime
import io
import itertools
from pathlib import Path
from urllib.parse import urlencode

import pytest
from dateutil.relativedelta import relativedelta
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape
from openpyxl import load_workbook

from apps.agencies.context import agency_context
from apps.matchmakers.models import Role
from apps.members.models import (
    ContactReveal,
    FamilyMember,
    Member,
    MemberAttachment,
    MemberExport,
    MemberPhoto,
    PartnerPreference,
    Tag,
)
from apps.members.services import family_member_add, member_attachment_add, member_create, member_photo_add
from tests.conftest import agency_client, image_bytes
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

VIEW = "matchmakers.view_members"
ADD = "matchmakers.add_members"
EDIT = "matchmakers.edit_members"
REVEAL = "matchmakers.reveal_contact"
EXPORT = "matchmakers.export_data"
SETTINGS = "matchmakers.edit_settings"
STAFF = [VIEW, ADD, EDIT]

PHONE = "13800138000"
MASKED_PHONE = "138****8000"
WECHAT = "xiaoyu_lin_88"
ID_NUMBER = "330106199205170028"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"

_numbers = itertools.count(1)


def _phone() -> str:
    return f"139{next(_numbers):08d}"


def make_member(agency, owner, **fields) -> Member:
    """A member entered by `owner` (who needs add_members) through the service."""
    fields.setdefault("name", f"会员{next(_numbers)}")
    fields.setdefault("gender", "female")
    fields.setdefault("phone", _phone())
    with agency_context(agency):
        return member_create(agency=agency, actor=owner, **fields)


def put_under(boss, user) -> None:
    """Move `user`'s role right below `boss`'s, so `boss` sees the members `user` owns."""
    with agency_context(user.agency):
        Role.objects.get(pk=user.role_id).move_to(Role.objects.get(pk=boss.role_id), "last-child")


def tags_of(agency, kind: str) -> list[Tag]:
    return list(Tag.unscoped.filter(agency=agency, kind=kind).order_by("position"))


def english(client, method: str, path: str, data=None, **extra):
    return getattr(client, method)(path, data, HTTP_ACCEPT_LANGUAGE="en", **extra)


@pytest.fixture
def matchmaker(agency):
    return UserFactory(agency=agency, username="lin", name="林红娘", perms=STAFF)


@pytest.fixture
def lead(agency, matchmaker):
    """Holds the role directly above the matchmaker's, so sees the matchmaker's members."""
    lead = UserFactory(agency=agency, username="lead", name="周组长", perms=[*STAFF, REVEAL])
    put_under(lead, matchmaker)
    return lead


@pytest.fixture
def colleague(agency):
    """Same agency and permissions, another branch: sees none of the matchmaker's members."""
    return UserFactory(agency=agency, username="zhao", name="赵红娘", perms=[*STAFF, REVEAL, EXPORT])


@pytest.fixture
def outsider(other_agency):
    """A matchmaker of another agency holding every member permission."""
    return UserFactory(agency=other_agency, username="wu", name="吴红娘", perms=[*STAFF, REVEAL, EXPORT, SETTINGS])


@pytest.fixture
def private_root(settings, tmp_path, db):
    """Private documents of a test go to its own folder, outside MEDIA_ROOT.

    Whatever the storage really wrote is removed afterwards, so a storage that ignores the
    setting (see test_an_uploaded_pdf_is_stored_under_the_private_root_not_under_media_root)
    leaves nothing behind in the checkout.
    """
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    storage = MemberAttachment._meta.get_field("file").storage
    location = Path(storage.location)
    existed = location.exists()
    yield settings.PRIVATE_MEDIA_ROOT
    for attachment in MemberAttachment.unscoped.all():
        storage.delete(attachment.file.name)
    if location.exists() and not location.is_relative_to(tmp_path):
        for folder in sorted((p for p in location.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            if not any(folder.iterdir()):
                folder.rmdir()
        if not existed and not any(location.iterdir()):
            location.rmdir()


# --- create -------------------------------------------------------------------------------------------


def member_form_data(agency, **changes) -> dict:
    """A complete profile with partner preferences and tags, as the form posts it."""
    interests = tags_of(agency, "interests")
    hard = tags_of(agency, "hard")
    data = {
        "name": "林晓雨",
        "gender": "female",
        "birth_date": "1992-05-17",
        "phone": "+86 138 0013 8000",
        "wechat": WECHAT,
        "email": "xiaoyu@example.com",
        "id_number": ID_NUMBER,
        "height_cm": "165",
        "weight_kg": "52",
        "education": "5",
        "occupation": "中学教师",
        "industry": "教育",
        "income": "5",
        "marital_status": "never_married",
        "children": "none",
        "housing": "own",
        "has_car": "true",
        "ethnicity": "汉族",
        "smoking": "never",
        "drinking": "sometimes",
        "residence_province": "33",
        "residence_city": "3301",
        "residence_district": "330106",
        "native_province": "33",
        "native_city": "3302",
        "self_intro": "喜欢徒步和做饭。",
        "past_relationships": "一段三年的恋爱。",
        "tag_ids": [str(interests[0].pk), str(interests[1].pk)],
        "status": "lead",
        "service_status": "none",
        "pref-age_min": "28",
        "pref-age_max": "38",
        "pref-height_min": "172",
        "pref-height_max": "190",
        "pref-education_min": "4",
        "pref-income_min": "5",
        "pref-marital_statuses": ["never_married", "divorced"],
        "pref-city_codes": ["3301", "3302"],
        "pref-accepts_children": "on",
        "pref-must_tag_ids": [str(hard[2].pk)],
        "pref-nice_tag_ids": [str(interests[2].pk)],
        "pref-notes": "希望对方孝顺。",
    }
    return {**data, **changes}


def test_creating_a_member_saves_profile_preferences_and_tags_owned_by_the_creator(agency, matchmaker):
    client = agency_client(agency, matchmaker)
    data = member_form_data(agency)
    response = client.post("/staff/members/new/", data)

    assert response.status_code == 302
    member = Member.unscoped.get(agency=agency)
    assert response["Location"] == f"/staff/members/{member.pk}/"
    assert member.member_no == "M000001"
    assert member.presale_owner == matchmaker
    assert member.created_by == matchmaker
    assert member.aftersale_owner is None
    assert member.source == Member.Source.MANUAL
    assert member.phone == PHONE
    assert member.name == "林晓雨"
    assert member.birth_date == datetime.date(1992, 5, 17)
    assert (member.height_cm, member.weight_kg, member.education, member.income) == (165, 52, 5, 5)
    assert member.has_car is True
    assert (member.residence_province, member.residence_city, member.residence_district) == ("33", "3301", "330106")
    assert (member.native_province, member.native_city) == ("33", "3302")
    assert member.id_number == ID_NUMBER
    assert member.tag_ids == [int(pk) for pk in data["tag_ids"]]

    preference = PartnerPreference.unscoped.get(member=member)
    assert preference.agency_id == agency.pk
    assert (preference.age_min, preference.age_max, preference.height_min, preference.height_max) == (28, 38, 172, 190)
    assert (preference.education_min, preference.income_min) == (4, 5)
    assert preference.marital_statuses == ["never_married", "divorced"]
    assert preference.city_codes == ["3301", "3302"]
    assert preference.accepts_children is True
    assert preference.must_tag_ids == [int(data["pref-must_tag_ids"][0])]
    assert preference.nice_tag_ids == [int(data["pref-nice_tag_ids"][0])]
    assert preference.notes == "希望对方孝顺。"


def test_member_numbers_follow_each_other_within_the_agency(agency, matchmaker):
    client = agency_client(agency, matchmaker)
    client.post("/staff/members/new/", member_form_data(agency))
    client.post("/staff/members/new/", member_form_data(agency, name="王芳", phone="13900000001", id_number=""))
    numbers = list(Member.unscoped.filter(agency=agency).order_by("member_no").values_list("member_no", flat=True))
    assert numbers == ["M000001", "M000002"]


def test_the_create_page_needs_the_add_members_permission(agency):
    viewer = UserFactory(agency=agency, perms=[VIEW, EDIT])
    client = agency_client(agency, viewer)
    assert client.get("/staff/members/new/").status_code == 403
    assert client.post("/staff/members/new/", member_form_data(agency)).status_code == 403
    assert not Member.unscoped.exists()


def test_the_create_form_offers_the_agencys_tags_and_cascading_selects(agency, matchmaker):
    response = english(agency_client(agency, matchmaker), "get", "/staff/members/new/")
    assert response.status_code == 200
    for tag in Tag.unscoped.filter(agency=agency):
        assert f'value="{tag.pk}"' in response.text
    assert 'name="pref-age_min"' in response.text
    assert 'hx-get="/staff/members/divisions/?level=city"' in response.text
    assert 'hx-target="#id_residence_city"' in response.text


def _assert_refused(response, *messages):
    assert response.status_code == 400
    for message in messages:
        assert escape(message) in response.text, message
    assert not Member.unscoped.exists()
    assert not PartnerPreference.unscoped.exists()


@pytest.mark.parametrize("phone", ["12345", "23800138000", "1380013800a", "1380013800", ""])
def test_creating_with_an_invalid_phone_is_refused_with_a_message(agency, matchmaker, phone):
    client = agency_client(agency, matchmaker)
    response = english(client, "post", "/staff/members/new/", member_form_data(agency, phone=phone))
    message = (
        "This field is required." if not phone else "A mobile number is 11 digits starting with 1, e.g. 13800138000."
    )
    _assert_refused(response, message)


def test_a_foreign_number_is_refused_rather_than_read_as_a_mainland_mobile(agency, matchmaker):
    # +1 415 555 0100 is a US number; dropping "+1"'s plus sign must not turn it into 14155550100.
    client = agency_client(agency, matchmaker)
    response = english(client, "post", "/staff/members/new/", member_form_data(agency, phone="+1 415 555 0100"))
    _assert_refused(response, "A mobile number is 11 digits starting with 1, e.g. 13800138000.")


def test_a_duplicate_phone_names_the_existing_member_and_owner_to_a_user_who_may_see_it(agency, matchmaker):
    existing = make_member(agency, matchmaker, name="陈静", phone=PHONE)
    client = agency_client(agency, matchmaker)
    response = english(client, "post", "/staff/members/new/", member_form_data(agency, phone="138-0013-8000"))
    assert response.status_code == 400
    assert f"This phone number belongs to 陈静 ({existing.member_no}), followed by 林红娘." in response.text
    assert list(Member.unscoped.values_list("pk", flat=True)) == [existing.pk]
    assert not PartnerPreference.unscoped.exists()


def test_a_duplicate_phone_does_not_name_a_member_the_user_may_not_see(agency, matchmaker, colleague):
    existing = make_member(agency, matchmaker, name="陈静", phone=PHONE)
    client = agency_client(agency, colleague)
    response = english(client, "post", "/staff/members/new/", member_form_data(agency))
    assert response.status_code == 400
    assert "A member with this phone number already exists, followed by a colleague." in response.text
    assert "陈静" not in response.text
    assert existing.member_no not in response.text
    assert "林红娘" not in response.text
    assert list(Member.unscoped.values_list("pk", flat=True)) == [existing.pk]


def test_a_duplicate_phone_of_another_agency_is_no_duplicate(agency, other_agency, matchmaker, outsider):
    make_member(other_agency, outsider, phone=PHONE)
    response = agency_client(agency, matchmaker).post("/staff/members/new/", member_form_data(agency))
    assert response.status_code == 302
    assert Member.unscoped.filter(agency=agency, phone=PHONE).exists()


@pytest.mark.parametrize(
    ("location", "field"),
    [
        ({"residence_province": "33", "residence_city": "4401", "residence_district": ""}, "residence_city"),
        ({"residence_province": "33", "residence_city": "3301", "residence_district": "330203"}, "residence_district"),
        ({"native_province": "11", "native_city": "3302"}, "native_city"),
    ],
)
def test_a_location_that_breaks_the_cascade_is_refused_on_its_field(agency, matchmaker, location, field):
    data = member_form_data(agency, **location)
    response = english(agency_client(agency, matchmaker), "post", "/staff/members/new/", data)
    _assert_refused(response)
    assert list(response.context["form"].errors) == [field]


def test_a_city_outside_the_chosen_province_is_refused_with_a_message_naming_both(agency, matchmaker):
    data = member_form_data(agency, residence_province="33", residence_city="4401", residence_district="")
    response = english(agency_client(agency, matchmaker), "post", "/staff/members/new/", data)
    _assert_refused(response, "广州市 is not in 浙江省. Choose a city of that province.")


def test_a_district_outside_the_chosen_city_is_refused_with_a_message_naming_both(agency, matchmaker):
    data = member_form_data(agency, residence_province="33", residence_city="3301", residence_district="330203")
    response = english(agency_client(agency, matchmaker), "post", "/staff/members/new/", data)
    _assert_refused(response, "海曙区 is not in 杭州市. Choose a district of that city.")


def test_preferences_with_the_lowest_age_above_the_highest_are_refused(agency, matchmaker):
    data = member_form_data(agency, **{"pref-age_min": "40", "pref-age_max": "30"})
    response = english(agency_client(agency, matchmaker), "post", "/staff/members/new/", data)
    _assert_refused(response, "The lowest age must not be above the highest.")
    assert response.context["preference_form"].errors


def test_an_unknown_tag_id_is_refused(agency, matchmaker):
    data = member_form_data(agency, tag_ids=["987654321"])
    response = english(agency_client(agency, matchmaker), "post", "/staff/members/new/", data)
    _assert_refused(response, "Select a valid choice. 987654321 is not one of the available choices.")
    assert "tag_ids" in response.context["form"].errors


def test_a_tag_of_another_agency_is_refused_in_preferences(agency, other_agency, matchmaker):
    foreign = Tag.unscoped.filter(agency=other_agency).first()
    data = member_form_data(agency, **{"pref-must_tag_ids": [str(foreign.pk)]})
    response = english(agency_client(agency, matchmaker), "post", "/staff/members/new/", data)
    _assert_refused(response, f"Select a valid choice. {foreign.pk} is not one of the available choices.")


# --- edit ---------------------------------------------------------------------------------------------


@pytest.fixture
def member(agency, matchmaker):
    """The matchmaker's member with the full profile, preferences and tags of the form."""
    response = agency_client(agency, matchmaker).post("/staff/members/new/", member_form_data(agency))
    assert response.status_code == 302
    return Member.unscoped.get(agency=agency)


def test_editing_a_member_saves_profile_and_preferences(agency, matchmaker, member):
    client = agency_client(agency, matchmaker)
    assert client.get(f"/staff/members/{member.pk}/edit/").status_code == 200
    reading = tags_of(agency, "interests")[2]
    data = member_form_data(
        agency,
        name="林晓雨（改）",
        status="following",
        height_cm="166",
        residence_province="44",
        residence_city="4401",
        residence_district="440106",
        tag_ids=[str(reading.pk)],
        **{"pref-age_max": "40", "pref-must_tag_ids": [], "pref-marital_statuses": []},
    )
    response = client.post(f"/staff/members/{member.pk}/edit/", data)

    assert response.status_code == 302
    assert response["Location"] == f"/staff/members/{member.pk}/"
    member.refresh_from_db()
    assert (member.name, member.status, member.height_cm) == ("林晓雨（改）", "following", 166)
    assert (member.residence_province, member.residence_city, member.residence_district) == ("44", "4401", "440106")
    assert member.tag_ids == [reading.pk]
    assert member.member_no == "M000001"
    assert member.presale_owner == matchmaker
    preference = PartnerPreference.unscoped.get(member=member)
    assert (preference.age_min, preference.age_max) == (28, 40)
    assert preference.must_tag_ids == []
    assert preference.marital_statuses == []
    assert PartnerPreference.unscoped.count() == 1


def test_a_lead_may_edit_a_team_members_record(agency, matchmaker, lead, member):
    data = member_form_data(agency, status="signed")
    response = agency_client(agency, lead).post(f"/staff/members/{member.pk}/edit/", data)
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.status == "signed"


def test_an_edit_with_invalid_data_answers_400_and_changes_nothing(agency, matchmaker, member):
    data = member_form_data(agency, name="改名", phone="123", **{"pref-height_min": "190", "pref-height_max": "170"})
    response = english(agency_client(agency, matchmaker), "post", f"/staff/members/{member.pk}/edit/", data)
    assert response.status_code == 400
    assert "The lowest height must not be above the highest." in response.text
    member.refresh_from_db()
    assert member.name == "林晓雨"
    assert PartnerPreference.unscoped.get(member=member).height_min == 172


def test_editing_to_the_phone_of_another_member_is_refused(agency, matchmaker, lead, member):
    # Contact fields are only editable by roles that may reveal them: the lead may.
    other = make_member(agency, matchmaker, name="王芳")
    data = member_form_data(agency, phone=PHONE, name="王芳", id_number="")
    response = english(agency_client(agency, lead), "post", f"/staff/members/{other.pk}/edit/", data)
    assert response.status_code == 400
    assert f"This phone number belongs to 林晓雨 ({member.member_no}), followed by 林红娘." in response.text
    other.refresh_from_db()
    assert other.phone != PHONE


def test_a_user_of_another_agency_cannot_edit_the_member(agency, outsider, member):
    client = agency_client(outsider.agency, outsider)
    assert client.get(f"/staff/members/{member.pk}/edit/").status_code == 404
    response = client.post(f"/staff/members/{member.pk}/edit/", member_form_data(agency, name="篡改"))
    assert response.status_code == 404
    member.refresh_from_db()
    assert member.name == "林晓雨"


def test_a_user_outside_the_branch_cannot_edit_the_member(agency, colleague, member):
    client = agency_client(agency, colleague)
    assert client.get(f"/staff/members/{member.pk}/edit/").status_code == 404
    response = client.post(f"/staff/members/{member.pk}/edit/", member_form_data(agency, name="篡改"))
    assert response.status_code == 404
    member.refresh_from_db()
    assert member.name == "林晓雨"


def test_a_user_without_the_edit_permission_gets_403(agency, matchmaker, member):
    # Above the matchmaker in the tree, so the member is visible: only the permission is missing.
    reader = UserFactory(agency=agency, username="reader", perms=[VIEW, ADD])
    put_under(reader, matchmaker)
    client = agency_client(agency, reader)
    assert client.get(f"/staff/members/{member.pk}/").status_code == 200
    assert client.get(f"/staff/members/{member.pk}/edit/").status_code == 403
    response = client.post(f"/staff/members/{member.pk}/edit/", member_form_data(agency, name="篡改"))
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.name == "林晓雨"


# --- the 360° page ------------------------------------------------------------------------------------


def _furnish(agency, matchmaker, member):
    """A photo, a private document and a family member, through the services."""
    with agency_context(agency):
        member_photo_add(
            agency=agency, actor=matchmaker, member=member, caption="生活照",
            image=SimpleUploadedFile("me.png", image_bytes(), content_type="image/png"),
        )  # fmt: skip
        member_attachment_add(
            agency=agency, actor=matchmaker, member=member, kind="diploma",
            file=SimpleUploadedFile("硕士学位证.pdf", PDF, content_type="application/pdf"),
        )  # fmt: skip
        family_member_add(
            agency=agency, actor=matchmaker, member=member, relation="father", name="林国栋", birth_year=1960,
            occupation="工程师",
        )  # fmt: skip


def test_the_360_page_shows_profile_preferences_tags_photos_documents_family_and_timeline(
    agency, matchmaker, member, private_root
):
    _furnish(agency, matchmaker, member)
    response = english(agency_client(agency, matchmaker), "get", f"/staff/members/{member.pk}/")
    assert response.status_code == 200
    text = response.text
    # Profile
    for value in ["林晓雨", member.member_no, "165", "Master's degree", "12,000-20,000",
                  "Never married", "中学教师", "浙江省 杭州市 西湖区", "浙江省 宁波市", "Monkey", "1992-05-17",
                  "喜欢徒步和做饭。", "一段三年的恋爱。", "林红娘", "Lead"]:  # fmt: skip
        assert escape(value) in text, value
    # Tags of the member and of the preferences, by name
    interests = tags_of(agency, "interests")
    hard = tags_of(agency, "hard")
    preferences = text.split('id="preferences"')[1].split("</dl>")[0]
    for tag in [interests[0], interests[1]]:
        assert f'<span class="badge text-bg-light border">{tag.name}</span>' in text
    assert hard[2].name in preferences
    assert interests[2].name in preferences
    for value in ["28 – 38", "172 – 190", "Bachelor", "Never married、Divorced, no children", "杭州市、宁波市",
                  "Accepted", "希望对方孝顺。"]:  # fmt: skip
        assert escape(value) in preferences, value
    # Photos, private documents and family
    photo = MemberPhoto.unscoped.get(member=member)
    assert f'src="/staff/members/{member.pk}/photos/{photo.pk}/"' in text
    attachment = MemberAttachment.unscoped.get(member=member)
    assert f'href="/staff/members/{member.pk}/documents/{attachment.pk}/"' in text
    assert "Diploma · 硕士学位证.pdf" in text
    assert "Father 林国栋 (1960) · 工程师" in text
    # Timeline
    timeline = text.split('id="timeline"')[1].split("</ul>")[0]
    assert 'data-kind="registration"' in timeline
    assert "Registered (Manual entry)" in timeline


def test_the_360_page_of_a_member_without_preferences_says_so(agency, matchmaker):
    bare = make_member(agency, matchmaker, name="无偏好")
    response = english(agency_client(agency, matchmaker), "get", f"/staff/members/{bare.pk}/")
    assert response.status_code == 200
    assert "No preferences recorded yet." in response.text


def test_the_360_page_is_404_for_another_branch_and_another_agency(agency, colleague, outsider, member):
    assert agency_client(agency, colleague).get(f"/staff/members/{member.pk}/").status_code == 404
    assert agency_client(outsider.agency, outsider).get(f"/staff/members/{member.pk}/").status_code == 404


def test_the_360_page_runs_a_constant_number_of_queries_however_long_the_timeline(
    agency, matchmaker, lead, member, django_assert_max_num_queries
):
    _furnish_without_documents(agency, matchmaker, member)
    users = [matchmaker, lead]
    ContactReveal.unscoped.create(agency=agency, member=member, user=lead, field="phone")
    client = agency_client(agency, matchmaker)
    url = f"/staff/members/{member.pk}/"
    client.get(url)  # warm the permission cache
    with CaptureQueriesContext(connection) as one_event:
        response = client.get(url)
    assert response.text.count('data-kind="reveal"') == 1

    for number in range(99):
        ContactReveal.unscoped.create(
            agency=agency, member=member, user=users[number % 2], field=["phone", "wechat", "id_number"][number % 3]
        )
    with django_assert_max_num_queries(len(one_event.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
    assert response.text.count('data-kind="reveal"') == 20  # the latest ones
    assert 'data-kind="registration"' in response.text


def _furnish_without_documents(agency, matchmaker, member):
    with agency_context(agency):
        member_photo_add(
            agency=agency, actor=matchmaker, member=member,
            image=SimpleUploadedFile("me.png", image_bytes(), content_type="image/png"),
        )  # fmt: skip
        family_member_add(agency=agency, actor=matchmaker, member=member, relation="mother", name="王秀英")


# --- masking and the reveal log -----------------------------------------------------------------------


@pytest.fixture
def contact_member(agency, matchmaker):
    return make_member(agency, matchmaker, name="林晓雨", phone=PHONE, wechat=WECHAT, id_number=ID_NUMBER)


def _assert_no_full_contact(text):
    assert PHONE not in text
    assert WECHAT not in text
    assert ID_NUMBER not in text


def test_without_reveal_permission_list_and_detail_show_masked_contacts_only(agency, matchmaker, contact_member):
    client = agency_client(agency, matchmaker)
    listing = client.get("/staff/members/")
    assert MASKED_PHONE in listing.text
    _assert_no_full_contact(listing.text)

    detail = client.get(f"/staff/members/{contact_member.pk}/")
    assert MASKED_PHONE in detail.text
    assert "330106********0028" in detail.text
    _assert_no_full_contact(detail.text)
    assert "/reveal/" not in detail.text


def test_the_edit_form_does_not_leak_full_contacts_to_a_user_without_reveal_permission(
    agency, matchmaker, contact_member
):
    # The edit page is one more door to the member: it must not undo the masking of the detail page.
    response = agency_client(agency, matchmaker).get(f"/staff/members/{contact_member.pk}/edit/")
    assert response.status_code == 200
    _assert_no_full_contact(response.text)


def _export_rows(response) -> list[tuple]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].startswith('attachment; filename="members-')
    rows = list(load_workbook(io.BytesIO(response.content), read_only=True).active.iter_rows(values_only=True))
    return rows[1:]


@pytest.fixture
def exporter(agency, matchmaker):
    """Above the matchmaker in the tree, allowed to export but not to reveal."""
    user = UserFactory(agency=agency, username="exporter", name="钱主管", perms=[VIEW, EXPORT])
    put_under(user, matchmaker)
    return user


@pytest.fixture
def revealing_exporter(agency, matchmaker):
    user = UserFactory(agency=agency, username="revealer", name="孙主管", perms=[VIEW, EXPORT, REVEAL])
    put_under(user, matchmaker)
    return user


def test_the_export_masks_contacts_without_the_reveal_permission(agency, exporter, contact_member):
    rows = _export_rows(agency_client(agency, exporter).get("/staff/members/export.xlsx"))
    assert len(rows) == 1
    row = rows[0]
    assert row[0] == contact_member.member_no
    assert row[9] == MASKED_PHONE
    assert row[10] == "****"
    assert ID_NUMBER not in [str(value) for value in row]
    assert PHONE not in [str(value) for value in row]
    export = MemberExport.unscoped.get()
    assert export.revealed is False


def test_the_export_shows_full_contacts_with_the_reveal_permission(agency, revealing_exporter, contact_member):
    rows = _export_rows(agency_client(agency, revealing_exporter).get("/staff/members/export.xlsx"))
    assert rows[0][9] == PHONE
    assert rows[0][10] == WECHAT
    assert MemberExport.unscoped.get().revealed is True


def test_with_reveal_permission_the_detail_masks_values_and_offers_a_reveal_button(agency, lead, contact_member):
    detail = agency_client(agency, lead).get(f"/staff/members/{contact_member.pk}/")
    assert detail.status_code == 200
    assert MASKED_PHONE in detail.text
    _assert_no_full_contact(detail.text)
    for field in ["phone", "wechat", "id_number"]:
        assert f'hx-post="/staff/members/{contact_member.pk}/reveal/{field}/"' in detail.text
    assert not ContactReveal.unscoped.exists()


def test_revealing_the_phone_returns_the_full_number_and_logs_who_what_and_where(agency, lead, contact_member):
    client = agency_client(agency, lead)
    response = client.post(
        f"/staff/members/{contact_member.pk}/reveal/phone/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Browser/1.0"
    )
    assert response.status_code == 200
    assert f'<span class="revealed">{PHONE}</span>' in response.text
    reveal = ContactReveal.unscoped.get()
    assert reveal.agency_id == agency.pk
    assert reveal.user == lead
    assert reveal.member_id == contact_member.pk
    assert reveal.field == "phone"
    assert reveal.ip_address == "203.0.113.9"
    assert reveal.user_agent == "Browser/1.0"


@pytest.mark.parametrize(("field", "value"), [("wechat", WECHAT), ("id_number", ID_NUMBER)])
def test_revealing_wechat_and_id_number_returns_the_plain_value_and_logs_it(agency, lead, contact_member, field, value):
    response = agency_client(agency, lead).post(f"/staff/members/{contact_member.pk}/reveal/{field}/")
    assert response.status_code == 200
    assert value in response.text
    assert list(ContactReveal.unscoped.values_list("field", flat=True)) == [field]


def test_a_reveal_shows_on_the_members_timeline(agency, lead, contact_member):
    client = agency_client(agency, lead)
    client.post(f"/staff/members/{contact_member.pk}/reveal/phone/")
    detail = english(client, "get", f"/staff/members/{contact_member.pk}/")
    timeline = detail.text.split('id="timeline"')[1].split("</ul>")[0]
    assert "mobile phone revealed" in timeline
    assert "周组长" in timeline


def test_revealing_needs_a_post(agency, lead, contact_member):
    response = agency_client(agency, lead).get(f"/staff/members/{contact_member.pk}/reveal/phone/")
    assert response.status_code == 405
    assert not ContactReveal.unscoped.exists()


def test_revealing_without_the_permission_is_403_and_logs_nothing(agency, matchmaker, contact_member):
    response = agency_client(agency, matchmaker).post(f"/staff/members/{contact_member.pk}/reveal/phone/")
    assert response.status_code == 403
    assert PHONE not in response.text
    assert not ContactReveal.unscoped.exists()


def test_revealing_an_invisible_member_is_404_and_logs_nothing(agency, colleague, outsider, contact_member):
    response = agency_client(agency, colleague).post(f"/staff/members/{contact_member.pk}/reveal/phone/")
    assert response.status_code == 404
    response = agency_client(outsider.agency, outsider).post(f"/staff/members/{contact_member.pk}/reveal/phone/")
    assert response.status_code == 404
    assert not ContactReveal.unscoped.exists()


@pytest.mark.parametrize("field", ["email", "name", "attachment"])
def test_revealing_something_that_is_not_a_contact_field_is_404_and_logs_nothing(agency, lead, contact_member, field):
    response = agency_client(agency, lead).post(f"/staff/members/{contact_member.pk}/reveal/{field}/")
    assert response.status_code == 404
    assert not ContactReveal.unscoped.exists()


def test_the_id_number_is_stored_encrypted(agency, contact_member):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM members_member WHERE id = %s", [contact_member.pk])
        (raw,) = cursor.fetchone()
    assert raw
    assert raw != ID_NUMBER
    assert ID_NUMBER not in raw
    assert Member.unscoped.get(pk=contact_member.pk).id_number == ID_NUMBER


# --- private documents --------------------------------------------------------------------------------


def _upload_document(client, member, name="学位证.pdf", content=PDF, kind="diploma", **extra):
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")
    return client.post(f"/staff/members/{member.pk}/documents/", {"kind": kind, "file": upload}, **extra)


def test_an_uploaded_pdf_is_stored_under_the_private_root_not_under_media_root(
    agency, matchmaker, member, private_root, settings
):
    response = _upload_document(agency_client(agency, matchmaker), member)
    assert response.status_code == 302
    assert response["Location"] == f"/staff/members/{member.pk}/"
    attachment = MemberAttachment.unscoped.get(member=member)
    assert attachment.agency_id == agency.pk
    assert attachment.kind == "diploma"
    assert attachment.original_name == "学位证.pdf"
    assert attachment.uploaded_by == matchmaker
    path = Path(attachment.file.path)
    assert path.read_bytes() == PDF
    assert "学位证" not in path.name  # stored under a random name
    assert not path.is_relative_to(Path(settings.MEDIA_ROOT))
    assert path.is_relative_to(Path(private_root))


def test_a_user_who_may_see_the_member_downloads_the_document_and_the_read_is_logged(
    agency, matchmaker, lead, member, private_root
):
    _upload_document(agency_client(agency, matchmaker), member)
    attachment = MemberAttachment.unscoped.get(member=member)
    response = agency_client(agency, lead).get(f"/staff/members/{member.pk}/documents/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    reveal = ContactReveal.unscoped.get()
    assert (reveal.user, reveal.member_id, reveal.field) == (lead, member.pk, "attachment")
    assert reveal.agency_id == agency.pk


def test_a_colleague_who_may_not_see_the_member_cannot_download_its_document(
    agency, matchmaker, colleague, member, private_root
):
    _upload_document(agency_client(agency, matchmaker), member)
    attachment = MemberAttachment.unscoped.get(member=member)
    response = agency_client(agency, colleague).get(f"/staff/members/{member.pk}/documents/{attachment.pk}/")
    assert response.status_code == 404
    assert not ContactReveal.unscoped.exists()


def test_a_user_of_another_agency_cannot_download_the_document(agency, matchmaker, outsider, member, private_root):
    _upload_document(agency_client(agency, matchmaker), member)
    attachment = MemberAttachment.unscoped.get(member=member)
    client = agency_client(outsider.agency, outsider)
    assert client.get(f"/staff/members/{member.pk}/documents/{attachment.pk}/").status_code == 404
    own = make_member(outsider.agency, outsider)
    # Nor through a member of their own agency.
    assert client.get(f"/staff/members/{own.pk}/documents/{attachment.pk}/").status_code == 404
    assert not ContactReveal.unscoped.exists()


def test_a_document_of_one_member_cannot_be_fetched_through_another(agency, matchmaker, member, private_root):
    _upload_document(agency_client(agency, matchmaker), member)
    attachment = MemberAttachment.unscoped.get(member=member)
    other = make_member(agency, matchmaker)
    response = agency_client(agency, matchmaker).get(f"/staff/members/{other.pk}/documents/{attachment.pk}/")
    assert response.status_code == 404


@pytest.mark.usefixtures("private_root")
@pytest.mark.parametrize(
    ("name", "content"),
    [("notes.txt", b"just some text"), ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00"), ("scan.pdf", b"<html></html>")],
)
def test_a_file_that_is_neither_pdf_nor_image_is_refused_with_a_message(agency, matchmaker, member, name, content):
    client = agency_client(agency, matchmaker)
    response = _upload_document(client, member, name=name, content=content, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "The document was not stored: Only PDF, JPEG, PNG or WebP files can be stored." in response.text
    assert not MemberAttachment.unscoped.exists()


def test_a_png_scan_is_accepted_as_a_document(agency, matchmaker, member, private_root):
    response = _upload_document(agency_client(agency, matchmaker), member, name="id.png", content=image_bytes())
    assert response.status_code == 302
    assert MemberAttachment.unscoped.get(member=member).kind == "diploma"


def test_documents_can_be_deleted_by_an_editor(
    agency, matchmaker, member, private_root, django_capture_on_commit_callbacks
):
    client = agency_client(agency, matchmaker)
    _upload_document(client, member)
    attachment = MemberAttachment.unscoped.get(member=member)
    path = Path(attachment.file.path)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/staff/members/{member.pk}/documents/{attachment.pk}/delete/")
    assert response.status_code == 302
    assert not MemberAttachment.unscoped.exists()
    assert not path.exists()


def test_uploading_a_document_needs_the_edit_permission_and_visibility(
    agency, matchmaker, colleague, member, private_root
):
    reader = UserFactory(agency=agency, username="reader", perms=[VIEW])
    put_under(reader, matchmaker)
    assert _upload_document(agency_client(agency, reader), member).status_code == 403
    assert _upload_document(agency_client(agency, colleague), member).status_code == 404
    assert not MemberAttachment.unscoped.exists()


# --- photos and family --------------------------------------------------------------------------------


def _upload_photo(client, member, content=None, name="photo.png", **data):
    upload = SimpleUploadedFile(name, content or image_bytes(), content_type="image/png")
    return client.post(f"/staff/members/{member.pk}/photos/", {"image": upload, **data})


def test_photos_can_be_uploaded_and_the_first_becomes_the_main_photo(agency, matchmaker, member, private_root):
    client = agency_client(agency, matchmaker)
    assert _upload_photo(client, member, caption="证件照").status_code == 302
    assert _upload_photo(client, member, caption="生活照").status_code == 302
    photos = list(MemberPhoto.unscoped.filter(member=member).order_by("id"))
    assert [(photo.caption, photo.is_primary) for photo in photos] == [("证件照", True), ("生活照", False)]
    assert Path(photos[0].image.path).is_relative_to(Path(private_root))  # never a public file
    assert photos[0].image.name.startswith(f"agencies/{agency.pk}/members/{member.pk}/")

    assert _upload_photo(client, member, caption="新主图", is_primary="on").status_code == 302
    assert MemberPhoto.unscoped.get(member=member, is_primary=True).caption == "新主图"
    detail = client.get(f"/staff/members/{member.pk}/")
    for photo in MemberPhoto.unscoped.filter(member=member):
        assert f'src="/staff/members/{member.pk}/photos/{photo.pk}/"' in detail.text


def test_a_file_that_is_not_an_image_is_refused_as_a_photo(agency, matchmaker, member):
    client = agency_client(agency, matchmaker)
    upload = SimpleUploadedFile("photo.png", b"not an image at all", content_type="image/png")
    response = client.post(
        f"/staff/members/{member.pk}/photos/", {"image": upload}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "The photo was not added:" in response.text
    assert not MemberPhoto.unscoped.exists()


def test_photos_can_be_deleted_and_their_file_goes_too(agency, matchmaker, member, django_capture_on_commit_callbacks):
    client = agency_client(agency, matchmaker)
    _upload_photo(client, member)
    photo = MemberPhoto.unscoped.get(member=member)
    path = Path(photo.image.path)
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/staff/members/{member.pk}/photos/{photo.pk}/delete/")
    assert response.status_code == 302
    assert not MemberPhoto.unscoped.exists()
    assert not path.exists()


def test_photos_of_an_invisible_member_cannot_be_added_or_deleted(agency, matchmaker, colleague, member):
    _upload_photo(agency_client(agency, matchmaker), member)
    photo = MemberPhoto.unscoped.get(member=member)
    client = agency_client(agency, colleague)
    assert _upload_photo(client, member).status_code == 404
    assert client.post(f"/staff/members/{member.pk}/photos/{photo.pk}/delete/").status_code == 404
    assert MemberPhoto.unscoped.count() == 1


def test_family_members_can_be_added_and_removed(agency, matchmaker, member):
    client = agency_client(agency, matchmaker)
    data = {"relation": "father", "name": "林国栋", "birth_year": "1960", "occupation": "工程师", "note": "退休"}
    response = client.post(f"/staff/members/{member.pk}/family/", data)
    assert response.status_code == 302
    relative = FamilyMember.unscoped.get(member=member)
    assert (relative.relation, relative.name, relative.birth_year, relative.agency_id) == (
        "father", "林国栋", 1960, agency.pk,
    )  # fmt: skip
    detail = english(client, "get", f"/staff/members/{member.pk}/")
    assert "Father 林国栋 (1960) · 工程师 · 退休" in detail.text

    response = client.post(f"/staff/members/{member.pk}/family/{relative.pk}/delete/")
    assert response.status_code == 302
    assert not FamilyMember.unscoped.exists()


def test_an_invalid_family_member_is_refused_with_a_message(agency, matchmaker, member):
    response = agency_client(agency, matchmaker).post(
        f"/staff/members/{member.pk}/family/", {"relation": "uncle", "birth_year": "1800"},
        follow=True, HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert "The family member was not added:" in response.text
    assert not FamilyMember.unscoped.exists()


def test_family_of_an_invisible_member_cannot_be_changed(agency, matchmaker, colleague, member):
    with agency_context(agency):
        relative = family_member_add(agency=agency, actor=matchmaker, member=member, relation="mother", name="王秀英")
    client = agency_client(agency, colleague)
    assert client.post(f"/staff/members/{member.pk}/family/", {"relation": "father"}).status_code == 404
    assert client.post(f"/staff/members/{member.pk}/family/{relative.pk}/delete/").status_code == 404
    assert list(FamilyMember.unscoped.values_list("pk", flat=True)) == [relative.pk]


# --- export -------------------------------------------------------------------------------------------


def test_the_export_holds_only_visible_members_and_logs_rows_and_filters(
    agency, matchmaker, colleague, outsider, exporter
):
    mine_f = make_member(agency, matchmaker, name="甲", gender="female")
    make_member(agency, matchmaker, name="乙", gender="male")
    make_member(agency, colleague, name="丙", gender="female")
    make_member(outsider.agency, outsider, name="丁", gender="female")

    client = agency_client(agency, exporter)
    rows = _export_rows(client.get("/staff/members/export.xlsx", {"gender": "female"}, REMOTE_ADDR="198.51.100.4"))
    assert [row[0] for row in rows] == [mine_f.member_no]
    assert rows[0][1] == "甲"

    export = MemberExport.unscoped.get()
    assert export.agency_id == agency.pk
    assert export.user == exporter
    assert export.row_count == 1
    assert export.filters == {"gender": "female"}
    assert export.ip_address == "198.51.100.4"

    rows = _export_rows(client.get("/staff/members/export.xlsx"))
    assert sorted(row[1] for row in rows) == ["乙", "甲"]
    assert MemberExport.unscoped.order_by("-exported_at", "-id").first().row_count == 2


def test_the_export_log_keeps_every_value_of_a_multi_valued_filter(agency, matchmaker, exporter):
    make_member(agency, matchmaker, marital_status="divorced")
    make_member(agency, matchmaker, marital_status="widowed")
    make_member(agency, matchmaker, marital_status="never_married")
    client = agency_client(agency, exporter)
    response = client.get("/staff/members/export.xlsx", {"marital_status": ["divorced", "widowed"]})
    assert len(_export_rows(response)) == 2
    export = MemberExport.unscoped.get()
    assert export.row_count == 2
    assert export.filters == {"marital_status": ["divorced", "widowed"]}


def test_exporting_needs_the_export_permission(agency, matchmaker):
    make_member(agency, matchmaker)
    response = agency_client(agency, matchmaker).get("/staff/members/export.xlsx")
    assert response.status_code == 403
    assert not MemberExport.unscoped.exists()


def test_the_list_links_to_the_export_only_for_users_who_may_export(agency, matchmaker, exporter):
    assert "export.xlsx" not in agency_client(agency, matchmaker).get("/staff/members/").text
    assert 'href="/staff/members/export.xlsx?"' in agency_client(agency, exporter).get("/staff/members/").text


# --- list filters -------------------------------------------------------------------------------------


def _born(age: int) -> datetime.date:
    """A date of birth giving `age` years today, well away from the birthday."""
    return timezone.localdate() - relativedelta(years=age, months=3)


class Population:
    def __init__(self, members, tokens):
        self.members = members
        self.tokens = tokens

    def resolve(self, params: dict) -> dict:
        def fill(value):
            return [fill(item) for item in value] if isinstance(value, list) else str(value).format(**self.tokens)

        return {key: fill(value) for key, value in params.items()}

    def keys(self, pks) -> set[str]:
        by_pk = {member.pk: key for key, member in self.members.items()}
        return {by_pk[pk] for pk in pks}


@pytest.fixture
def population(agency, exporter, matchmaker, colleague, outsider):
    """Six members visible to `exporter` (through the matchmaker) and two that must never show."""
    travel, sports, reading = tags_of(agency, "interests")[:3]
    now = timezone.now()
    specs = {
        # key: (profile, days since registration, follow-ups)
        "a": ({"gender": "female", "birth_date": _born(26), "height_cm": 160, "education": 3, "income": 3,
               "marital_status": "never_married", "residence_province": "33", "residence_city": "3301",
               "tag_ids": [travel.pk], "status": "lead", "wechat": "wx_aaa"}, 1, 0),
        "b": ({"gender": "female", "birth_date": _born(31), "height_cm": 168, "education": 4, "income": 5,
               "marital_status": "divorced", "residence_province": "33", "residence_city": "3302",
               "tag_ids": [travel.pk, reading.pk], "status": "signed"}, 20, 1),
        "c": ({"gender": "male", "birth_date": _born(35), "height_cm": 175, "education": 5, "income": 6,
               "marital_status": "widowed", "residence_province": "44", "residence_city": "4401",
               "tag_ids": [reading.pk], "status": "following"}, 60, 3),
        "d": ({"gender": "male", "birth_date": _born(41), "height_cm": 182, "education": 6, "income": 8,
               "marital_status": "divorced_children", "residence_province": "33", "residence_city": "3301",
               "tag_ids": [sports.pk], "status": "signed"}, 150, 5),
        "e": ({"gender": "female", "birth_date": _born(29), "height_cm": 158, "education": 2, "income": 2,
               "marital_status": "never_married", "residence_province": "11", "residence_city": "1101",
               "tag_ids": [travel.pk], "status": "lead"}, 300, 7),
        "f": ({"gender": "male", "status": "paused"}, 500, 6),
    }  # fmt: skip
    members = {}
    for key, (profile, days, followups) in specs.items():
        member = make_member(agency, matchmaker, name=f"会员{key.upper()}", phone=f"1370000000{ord(key) - 97}",
                             **profile)  # fmt: skip
        Member.unscoped.filter(pk=member.pk).update(
            created_at=now - datetime.timedelta(days=days), followup_count=followups
        )
        members[key] = member
    # Matching almost every filter, but invisible to the exporter or of another agency.
    twin = specs["a"][0] | {"wechat": "wx_twin"}
    members["hidden"] = make_member(agency, colleague, name="会员隐藏", **twin)
    foreign_twin = twin | {"tag_ids": [tags_of(outsider.agency, "interests")[0].pk]}
    members["foreign"] = make_member(outsider.agency, outsider, name="会员外机构", phone="13700000000", **foreign_twin)
    tokens = {"travel": travel.pk, "sports": sports.pk, "reading": reading.pk, "c_no": members["c"].member_no}
    return Population(members, tokens)


FILTER_CASES = [
    pytest.param({}, "abcdef", id="no filter"),
    pytest.param({"gender": "female"}, "abe", id="gender female"),
    pytest.param({"gender": "male"}, "cdf", id="gender male"),
    pytest.param({"age_min": "30", "age_max": "35"}, "bc", id="age 30-35"),
    pytest.param({"age_min": "40"}, "d", id="age from 40"),
    pytest.param({"age_max": "29"}, "ae", id="age up to 29"),
    pytest.param({"height_min": "160", "height_max": "175"}, "abc", id="height 160-175"),
    pytest.param({"education": "5"}, "cd", id="education at least master"),
    pytest.param({"income": "5"}, "bcd", id="income at least 12000"),
    pytest.param({"marital_status": ["divorced", "widowed"]}, "bc", id="marital status multi"),
    pytest.param({"city": "3301"}, "ad", id="city"),
    pytest.param({"tag": ["{travel}"]}, "abe", id="one tag"),
    pytest.param({"tag": ["{travel}", "{reading}"]}, "b", id="all of two tags"),
    pytest.param({"registered": "3d"}, "a", id="registered 3 days"),
    pytest.param({"registered": "1m"}, "ab", id="registered 1 month"),
    pytest.param({"registered": "3m"}, "abc", id="registered 3 months"),
    pytest.param({"registered": "6m"}, "abcd", id="registered 6 months"),
    pytest.param({"registered": "1y"}, "abcde", id="registered 1 year"),
    pytest.param({"followups": "0"}, "a", id="never followed up"),
    pytest.param({"followups": "1"}, "b", id="followed up once"),
    pytest.param({"followups": "le3"}, "bc", id="followed up up to 3 times"),
    pytest.param({"followups": "le5"}, "bcd", id="followed up up to 5 times"),
    pytest.param({"followups": "6plus"}, "ef", id="followed up 6 times or more"),
    pytest.param({"status": "signed"}, "bd", id="status"),
    pytest.param({"q": "{c_no}"}, "c", id="search member number"),
    pytest.param({"q": "会员D"}, "d", id="search name"),
    pytest.param({"q": "13700000004"}, "e", id="search phone"),
    pytest.param({"q": "wx_aaa"}, "a", id="search wechat"),
    pytest.param({"gender": "female", "status": "lead", "registered": "1m"}, "a", id="combined"),
]


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES)
def test_each_list_filter_narrows_to_the_matching_visible_members_and_stays_in_the_url(
    agency, exporter, population, params, expected
):
    params = population.resolve(params)
    client = agency_client(agency, exporter)
    response = client.get("/staff/members/", params)
    assert response.status_code == 200
    page = response.context["page"]
    assert population.keys(member.pk for member in page.object_list) == set(expected)
    assert page.paginator.count == len(expected)
    for key in ["hidden", "foreign"]:
        assert f'href="/staff/members/{population.members[key].pk}/"' not in response.text
    # The filters live in the query string: the export link carries them, and so does the export.
    query = urlencode(params, doseq=True)
    assert f'href="/staff/members/export.xlsx?{escape(query)}"' in response.text
    exported = {row[0] for row in _export_rows(client.get("/staff/members/export.xlsx", params))}
    assert exported == {population.members[key].member_no for key in expected}


def test_an_invalid_filter_value_does_not_widen_the_list(agency, exporter, population):
    response = agency_client(agency, exporter).get("/staff/members/", {"gender": "robot"})
    assert response.status_code == 200
    assert population.members["hidden"].pk not in {member.pk for member in response.context["page"].object_list}


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("height", ["e", "a", "b"]), ("-height", ["b", "a", "e"]), ("number", ["a", "b", "e"]),
     ("-registered", ["a", "b", "e"]), ("registered", ["e", "b", "a"]), ("-followups", ["e", "b", "a"])],
)  # fmt: skip
def test_the_list_sorts_by_the_chosen_column(agency, exporter, population, sort, expected):
    response = agency_client(agency, exporter).get("/staff/members/", {"gender": "female", "sort": sort})
    by_pk = {member.pk: key for key, member in population.members.items()}
    assert [by_pk[member.pk] for member in response.context["page"].object_list] == expected


def test_the_list_filter_form_shows_the_chosen_values(agency, exporter, population):
    params = population.resolve({"gender": "female", "registered": "1m", "tag": ["{travel}"]})
    response = agency_client(agency, exporter).get("/staff/members/", params)
    form = response.context["filter"].form
    assert form["gender"].value() == "female"
    assert form["registered"].value() == "1m"
    assert form["tag"].value() == [str(population.tokens["travel"])]
    assert '<option value="female" selected>' in response.text


def test_pagination_links_keep_the_filters(agency, matchmaker, exporter):
    for _ in range(27):
        make_member(agency, matchmaker, gender="male")
    response = agency_client(agency, exporter).get("/staff/members/", {"gender": "male"})
    assert response.context["page"].paginator.count == 27
    assert 'href="?gender=male&amp;page=2"' in response.text


def test_the_list_runs_a_constant_number_of_queries_as_rows_grow(
    agency, matchmaker, exporter, django_assert_max_num_queries
):
    travel = tags_of(agency, "interests")[0]
    for _ in range(3):
        make_member(agency, matchmaker, tag_ids=[travel.pk], birth_date=_born(30))
    client = agency_client(agency, exporter)
    params = {"tag": str(travel.pk), "sort": "-registered"}
    client.get("/staff/members/", params)  # warm the permission cache
    with CaptureQueriesContext(connection) as small:
        response = client.get("/staff/members/", params)
    assert response.context["page"].paginator.count == 3

    lead_of_exporter = exporter  # the exporter sees the matchmaker's members and their after-sale owners
    for number in range(27):
        member = make_member(agency, matchmaker, tag_ids=[travel.pk], birth_date=_born(30 + number % 10))
        if number % 3 == 0:
            Member.unscoped.filter(pk=member.pk).update(aftersale_owner=lead_of_exporter)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/staff/members/", params)
    assert response.context["page"].paginator.count == 30
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/staff/members/", {**params, "page": 2})
    assert len(response.context["page"].object_list) == 5


def test_another_agencys_members_never_appear_in_the_list(agency, matchmaker, outsider):
    foreign = make_member(outsider.agency, outsider, name="外机构会员")
    client = agency_client(agency, matchmaker)
    for params in [{}, {"q": "外机构会员"}, {"q": foreign.member_no}, {"q": foreign.phone}]:
        response = client.get("/staff/members/", params)
        assert foreign.pk not in {member.pk for member in response.context["page"].object_list}
        assert response.context["page"].paginator.count == 0
        assert f'href="/staff/members/{foreign.pk}/"' not in response.text


# --- birthdays ----------------------------------------------------------------------------------------


def _birthday_in(days: int, age: int = 30) -> datetime.date:
    """A date of birth whose anniversary falls `days` from today (a leap year, so 29 February exists)."""
    day = timezone.localdate() + datetime.timedelta(days=days)
    return datetime.date(2000 - 4 * (age // 4), day.month, day.day)


@pytest.fixture
def birthdays(agency, other_agency, matchmaker, colleague, outsider):
    offsets = {"today": 0, "in3": 3, "in6": 6, "in10": 10, "in25": 25, "yesterday": -1}
    members = {key: make_member(agency, matchmaker, name=f"寿星{key}", birth_date=_birthday_in(days))
               for key, days in offsets.items()}  # fmt: skip
    make_member(agency, matchmaker, name="寿星无生日")
    members["hidden"] = make_member(agency, colleague, name="寿星隐藏", birth_date=_birthday_in(0))
    members["foreign"] = make_member(other_agency, outsider, name="寿星外机构", birth_date=_birthday_in(0))
    return offsets, members


def _expected_birthdays(offsets, window):
    today = timezone.localdate()
    expected = set()
    for key, days in offsets.items():
        day = today + datetime.timedelta(days=days)
        in_window = {
            "today": days == 0,
            "week": 0 <= days < 7,
            "month": days >= 0 and day.month == today.month,
        }[window]
        if in_window:
            expected.add(key)
    return expected


@pytest.mark.parametrize("window", ["today", "week", "month"])
def test_birthdays_lists_visible_members_whose_birthday_falls_in_the_window(agency, matchmaker, birthdays, window):
    offsets, members = birthdays
    response = agency_client(agency, matchmaker).get("/staff/members/birthdays/", {"window": window})
    assert response.status_code == 200
    shown = {member.pk for member in response.context["members"]}
    expected = _expected_birthdays(offsets, window)
    assert shown == {members[key].pk for key in expected}
    for key in expected:
        assert f"寿星{key}" in response.text
    for name in ["寿星隐藏", "寿星外机构", "寿星无生日", "寿星yesterday"]:
        assert name not in response.text


def test_birthdays_default_to_today_and_show_the_age(agency, matchmaker, birthdays):
    _offsets, members = birthdays
    response = agency_client(agency, matchmaker).get("/staff/members/birthdays/")
    assert response.context["window"] == "today"
    assert [member.pk for member in response.context["members"]] == [members["today"].pk]
    today = timezone.localdate()
    age = today.year - members["today"].birth_date.year
    assert f"<td>{age}</td>" in response.text


def test_the_birthday_list_is_empty_for_a_colleague_of_another_branch(agency, colleague, birthdays):
    _offsets, members = birthdays
    response = agency_client(agency, colleague).get("/staff/members/birthdays/", {"window": "month"})
    assert {member.pk for member in response.context["members"]} == {members["hidden"].pk}


# --- tag library --------------------------------------------------------------------------------------


@pytest.fixture
def tag_admin(agency):
    return UserFactory(agency=agency, username="tagadmin", perms=[VIEW, SETTINGS])


def test_the_tag_library_needs_the_settings_permission(agency, matchmaker):
    client = agency_client(agency, matchmaker)
    assert client.get("/staff/members/tags/").status_code == 403
    assert client.post("/staff/members/tags/", {"name": "爱猫", "kind": "lifestyle"}).status_code == 403
    tag = Tag.unscoped.filter(agency=agency).first()
    assert client.post(f"/staff/members/tags/{tag.pk}/delete/").status_code == 403
    assert not Tag.unscoped.filter(agency=agency, name="爱猫").exists()
    assert Tag.unscoped.filter(pk=tag.pk).exists()


def test_the_tag_library_lists_the_agencys_default_tags_by_dimension(agency, other_agency, tag_admin):
    Tag.unscoped.create(agency=other_agency, name="外机构标签", kind="values")
    response = english(agency_client(agency, tag_admin), "get", "/staff/members/tags/")
    assert response.status_code == 200
    for tag in Tag.unscoped.filter(agency=agency):
        assert tag.name in response.text
    for dimension in ["Hard condition", "Interests", "Values", "Personality", "Lifestyle"]:
        assert dimension in response.text
    assert "外机构标签" not in response.text


def test_a_tag_can_be_added_to_the_library(agency, tag_admin):
    client = agency_client(agency, tag_admin)
    response = client.post("/staff/members/tags/", {"name": "  爱猫  ", "kind": "lifestyle"})
    assert response.status_code == 302
    assert response["Location"] == "/staff/members/tags/"
    tag = Tag.unscoped.get(agency=agency, name="爱猫")
    assert tag.kind == "lifestyle"


def test_a_duplicate_tag_name_is_refused_with_a_message(agency, tag_admin):
    existing = Tag.unscoped.filter(agency=agency).first()
    count = Tag.unscoped.filter(agency=agency).count()
    response = english(
        agency_client(agency, tag_admin), "post", "/staff/members/tags/", {"name": existing.name, "kind": "values"}
    )
    assert response.status_code == 400
    assert escape(f"The tag “{existing.name}” already exists.") in response.text
    assert Tag.unscoped.filter(agency=agency).count() == count


def test_the_same_tag_name_may_exist_in_another_agency(agency, other_agency, tag_admin):
    Tag.unscoped.create(agency=other_agency, name="爱猫", kind="lifestyle")
    response = agency_client(agency, tag_admin).post("/staff/members/tags/", {"name": "爱猫", "kind": "lifestyle"})
    assert response.status_code == 302


def test_an_invalid_tag_is_refused_with_400(agency, tag_admin):
    response = agency_client(agency, tag_admin).post("/staff/members/tags/", {"name": "", "kind": "mood"})
    assert response.status_code == 400


def test_deleting_a_tag_removes_it_from_members_and_preferences(agency, matchmaker, tag_admin):
    travel, sports, reading = tags_of(agency, "interests")[:3]
    preference = {"must_tag_ids": [travel.pk, reading.pk], "nice_tag_ids": [sports.pk, travel.pk]}
    carrier = make_member(agency, matchmaker, tag_ids=[sports.pk, travel.pk, reading.pk], preference=preference)
    other = make_member(agency, matchmaker, tag_ids=[reading.pk], preference={"nice_tag_ids": [travel.pk]})

    response = agency_client(agency, tag_admin).post(f"/staff/members/tags/{travel.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"] == "/staff/members/tags/"
    assert not Tag.unscoped.filter(pk=travel.pk).exists()
    carrier.refresh_from_db()
    other.refresh_from_db()
    assert carrier.tag_ids == [sports.pk, reading.pk]
    assert other.tag_ids == [reading.pk]
    carrier_pref = PartnerPreference.unscoped.get(member=carrier)
    assert carrier_pref.must_tag_ids == [reading.pk]
    assert carrier_pref.nice_tag_ids == [sports.pk]
    assert PartnerPreference.unscoped.get(member=other).nice_tag_ids == []


def test_a_tag_of_another_agency_cannot_be_deleted(agency, other_agency, tag_admin):
    foreign = Tag.unscoped.filter(agency=other_agency).first()
    response = agency_client(agency, tag_admin).post(f"/staff/members/tags/{foreign.pk}/delete/")
    assert response.status_code == 404
    assert Tag.unscoped.filter(pk=foreign.pk).exists()


# --- division options ---------------------------------------------------------------------------------


def test_the_division_endpoint_returns_the_cities_of_a_province(agency, matchmaker):
    client = agency_client(agency, matchmaker)
    response = client.get(
        "/staff/members/divisions/", {"level": "city", "residence_province": "33"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.text.startswith('<option value="">---------</option>')
    assert '<option value="3301">杭州市</option>' in response.text
    assert '<option value="3302">宁波市</option>' in response.text
    assert "4401" not in response.text
    assert response.text.count("<option") == 12  # the empty choice and the 11 cities of Zhejiang


def test_the_division_endpoint_returns_the_districts_of_a_city(agency, matchmaker):
    client = agency_client(agency, matchmaker)
    response = client.get("/staff/members/divisions/", {"level": "district", "residence_city": "3301"})
    assert response.status_code == 200
    assert '<option value="330106">西湖区</option>' in response.text
    assert "330203" not in response.text


@pytest.mark.parametrize(
    "params", [{"level": "city", "residence_province": "3301"}, {"level": "district", "residence_city": "33"},
               {"level": "city"}],
)  # fmt: skip
def test_the_division_endpoint_offers_only_the_empty_choice_for_a_wrong_parent(agency, matchmaker, params):
    response = agency_client(agency, matchmaker).get("/staff/members/divisions/", params)
    assert response.status_code == 200
    assert response.text.count("<option") == 1


def test_the_division_endpoint_needs_the_view_permission(agency):
    user = UserFactory(agency=agency, perms=[])
    response = agency_client(agency, user).get("/staff/members/divisions/", {"level": "city", "p": "33"})
    assert response.status_code == 403
