"""The public consultation and registration forms (F-E5, F-E6, F-A3): fields, honeypot, rate limits,
repeat phones, and arbitrary input thrown at every field."""

import datetime
import itertools
import re

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.agencies.context import agency_context
from apps.agencies.models import SiteSettings
from apps.followups.models import Consultation, FollowUp
from apps.followups.selectors import Pool, due_followups, pool_members
from apps.members.models import Member
from tests.conftest import agency_client
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

ALL_FIELDS = ["birth_date", "height_cm", "education", "income", "marital_status", "residence_city",
              "occupation", "wechat", "email", "self_intro"]  # fmt: skip
HANGZHOU, ZHEJIANG = "3301", "33"
ADULT_BIRTH_DATE = "1992-05-17"

CONSULT = {"name": "王小姐", "phone": "+86 138 0013 8000", "message": "想了解一下会员服务和收费。"}
REGISTER = {
    "name": "李先生", "gender": "male", "phone": "139-0013-9000", "birth_date": ADULT_BIRTH_DATE,
    "height_cm": "178", "education": "4", "income": "5", "marital_status": "never_married",
    "residence_city": HANGZHOU, "occupation": "工程师", "wechat": "li_wx", "email": "li@example.com",
    "self_intro": "喜欢爬山和做饭。",
}  # fmt: skip

_addresses = itertools.count(1)


def next_ip() -> str:
    n = next(_addresses)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def visitor(agency, ip="203.0.113.7"):
    client = agency_client(agency)
    client.defaults.update(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=ip)
    return client


def configure(agency, shown=ALL_FIELDS, required=()):
    SiteSettings.unscoped.filter(agency=agency).update(
        registration_fields=list(shown), registration_required=list(required)
    )


@pytest.fixture
def owner(agency):
    return UserFactory(
        agency=agency, username="owner", perms=["matchmakers.view_members", "matchmakers.view_followups"]
    )


def existing_member(agency, owner, phone="13800138000", name="老会员"):
    return Member.unscoped.create(agency=agency, member_no="M900001", name=name, gender="female", phone=phone,
                                  presale_owner=owner, status="following")  # fmt: skip


def field_errors(response, field) -> list[str]:
    return [str(error) for error in response.context["form"].errors.get(field, [])]


# --- pages and links -------------------------------------------------------------------------------


def test_home_page_and_header_link_to_both_forms(agency):
    page = visitor(agency).get("/")
    assert page.status_code == 200
    assert 'href="/consult/"' in page.text and 'href="/register/"' in page.text
    assert 'id="public-forms"' in page.text


@pytest.mark.parametrize("url", ["/consult/", "/register/"])
def test_forms_hide_the_honeypot_with_a_css_class_not_an_inline_style(agency, url):
    page = visitor(agency).get(url)
    assert page.status_code == 200
    assert re.search(r'<div class="form-extra" aria-hidden="true">.*?name="website"', page.text, re.S)
    assert "style=" not in page.text.split("<main>")[1]


# --- consultation ----------------------------------------------------------------------------------


def test_consultation_is_stored_with_the_normalised_phone_and_the_ip(agency):
    client = visitor(agency)
    response = client.post("/consult/", CONSULT)
    assert response.status_code == 302 and response.url == "/consult/thanks/"
    consultation = Consultation.unscoped.get(agency=agency)
    assert (consultation.name, consultation.phone, consultation.message) == (
        "王小姐",
        "13800138000",
        CONSULT["message"],
    )
    assert consultation.status == "pending" and consultation.assigned_to is None and consultation.member is None
    assert consultation.ip_address == "203.0.113.7"
    thanks = client.get(response.url)
    assert "Your question has been received" in thanks.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required."),
        ("name", "   ", "This field is required."),
        ("name", "名" * 51, "Ensure this value has at most 50 characters (it has 51)."),
        ("name", "王\x00小姐", "Null characters are not allowed."),
        ("phone", "", "This field is required."),
        ("phone", "12345", "A mobile number is 11 digits starting with 1, e.g. 13800138000."),
        ("phone", "+1 415 555 0100", "A mobile number is 11 digits starting with 1, e.g. 13800138000."),
        ("phone", "12800138000", "A mobile number is 11 digits starting with 1, e.g. 13800138000."),
        ("phone", "1" * 31, "Ensure this value has at most 30 characters (it has 31)."),
        ("phone", "\x00", "Null characters are not allowed."),
        ("message", "", "This field is required."),
        ("message", "问" * 1001, "Ensure this value has at most 1000 characters (it has 1001)."),
        ("message", "a\x00", "Null characters are not allowed."),
    ],
)
def test_each_bad_consultation_field_is_refused_with_its_message(agency, field, value, message):
    response = visitor(agency).post("/consult/", {**CONSULT, field: value})
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert "Please correct the fields marked below." in response.text
    assert not Consultation.unscoped.exists()


def test_a_huge_consultation_is_refused_not_crashed(agency):
    response = visitor(agency).post(
        "/consult/", {"name": "x" * 200_000, "phone": "9" * 100_000, "message": "y" * 2_000_000}
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "phone", "message"}
    assert not Consultation.unscoped.exists()


def test_a_filled_honeypot_gets_the_thank_you_page_and_writes_nothing(agency):
    response = visitor(agency).post("/consult/", {**CONSULT, "website": "http://spam.example"})
    assert response.status_code == 302 and response.url == "/consult/thanks/"
    assert not Consultation.unscoped.exists()


def test_a_filled_honeypot_with_bad_fields_still_gets_the_thank_you_page(agency):
    response = visitor(agency).post("/consult/", {"phone": "nonsense", "website": "x"})
    assert response.status_code == 302 and response.url == "/consult/thanks/"
    assert not Consultation.unscoped.exists()


def test_the_sixth_consultation_from_one_ip_in_ten_minutes_gets_the_429_page(agency):
    client = visitor(agency)
    for n in range(5):
        assert client.post("/consult/", {**CONSULT, "phone": f"1380013{n:04d}"}).status_code == 302
    response = client.post("/consult/", {**CONSULT, "phone": "13800139999"})
    assert response.status_code == 429
    assert "Too many submissions" in response.text and "try again in 10 minutes" in response.text
    assert response["Retry-After"] == "600"
    assert Consultation.unscoped.count() == 5


def test_the_fourth_consultation_with_one_phone_in_an_hour_gets_the_429_page(agency):
    for _n in range(3):
        assert visitor(agency, ip=next_ip()).post("/consult/", CONSULT).status_code == 302
    response = visitor(agency, ip=next_ip()).post("/consult/", CONSULT)
    assert response.status_code == 429
    assert "try again in 60 minutes" in response.text
    assert Consultation.unscoped.count() == 3


def test_the_rate_limit_is_counted_per_agency(agency, other_agency):
    client = visitor(agency)
    for n in range(5):
        client.post("/consult/", {**CONSULT, "phone": f"1380013{n:04d}"})
    assert client.post("/consult/", CONSULT).status_code == 429
    assert visitor(other_agency).post("/consult/", CONSULT).status_code == 302


def test_refused_input_does_not_use_up_the_rate_limit(agency):
    client = visitor(agency)
    for _n in range(8):
        assert client.post("/consult/", {**CONSULT, "phone": "bad"}).status_code == 400
    assert client.post("/consult/", CONSULT).status_code == 302


def test_an_unreadable_client_address_is_stored_as_unknown(agency):
    assert visitor(agency, ip="not-an-address").post("/consult/", CONSULT).status_code == 302
    assert Consultation.unscoped.get(agency=agency).ip_address is None


def test_a_cache_outage_lets_submissions_through(agency, settings):
    """A real outage: the cache points at a Redis port where nothing listens."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0", "OPTIONS": {}},
    }
    assert visitor(agency).post("/consult/", CONSULT).status_code == 302
    assert Consultation.unscoped.count() == 1


def test_a_consultation_from_a_known_phone_is_linked_to_the_member_and_adds_no_member(agency, owner):
    member = existing_member(agency, owner)
    assert visitor(agency).post("/consult/", {**CONSULT, "phone": "138 0013 8000"}).status_code == 302
    consultation = Consultation.unscoped.get(agency=agency)
    assert consultation.member == member
    assert Member.unscoped.filter(agency=agency).count() == 1


# --- registration ----------------------------------------------------------------------------------


def test_registration_page_shows_the_fields_the_agency_chose(agency):
    configure(agency, shown=["height_cm", "wechat"], required=["wechat"])
    page = visitor(agency).get("/register/")
    form = page.context["form"]
    assert list(form.fields) == ["website", "name", "gender", "phone", "height_cm", "wechat"]
    assert [name for name, field in form.fields.items() if field.required] == ["name", "gender", "phone", "wechat"]
    assert 'name="birth_date"' not in page.text


def test_registration_creates_an_ownerless_lead_in_the_unassigned_pool(agency):
    configure(agency)
    client = visitor(agency)
    response = client.post("/register/", REGISTER)
    assert response.status_code == 302 and response.url == "/register/thanks/"
    member = Member.unscoped.get(agency=agency)
    assert member.source == "site_registration" and member.status == "lead"
    assert member.presale_owner is None and member.created_by is None
    assert member.phone == "13900139000" and member.member_no.startswith("M")
    assert (member.residence_province, member.residence_city) == (ZHEJIANG, HANGZHOU)
    assert (member.birth_date, member.height_cm, member.education, member.income) == (
        datetime.date(1992, 5, 17), 178, 4, 5)  # fmt: skip
    assert (member.email, member.wechat, member.self_intro) == ("li@example.com", "li_wx", "喜欢爬山和做饭。")
    with agency_context(agency):
        assert list(pool_members(agency=agency, pool=Pool.UNASSIGNED)) == [member]
    assert "Your registration has been received" in client.get(response.url).text


def test_fields_the_agency_does_not_show_are_ignored(agency):
    configure(agency, shown=[])
    assert visitor(agency).post("/register/", REGISTER).status_code == 302
    member = Member.unscoped.get(agency=agency)
    assert (member.birth_date, member.height_cm, member.email) == (None, None, "")


@pytest.mark.parametrize("field", ALL_FIELDS)
def test_a_field_the_agency_requires_must_be_filled(agency, field):
    configure(agency, required=[field])
    response = visitor(agency).post("/register/", {**REGISTER, field: ""})
    assert response.status_code == 400
    assert field_errors(response, field) == ["This field is required."]
    assert not Member.unscoped.exists()


def _years_ago(years: int) -> str:
    return (timezone.localdate() - datetime.timedelta(days=365 * years)).isoformat()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required."),
        ("name", "李" * 51, "Ensure this value has at most 50 characters (it has 51)."),
        ("name", "李\x00", "Null characters are not allowed."),
        ("gender", "", "This field is required."),
        ("gender", "other", "Select a valid choice. other is not one of the available choices."),
        ("phone", "", "This field is required."),
        ("phone", "010-88886666", "A mobile number is 11 digits starting with 1, e.g. 13800138000."),
        ("phone", "0044 20 7946 0958", "A mobile number is 11 digits starting with 1, e.g. 13800138000."),
        ("birth_date", "31/31/1990", "Enter a valid date."),
        ("birth_date", "2999-01-01", "The date of birth cannot be in the future."),
        ("birth_date", "1800-01-01", "Please check the year of birth."),
        ("height_cm", "abc", "Enter a whole number."),
        ("height_cm", "50", "Ensure this value is greater than or equal to 120."),
        ("height_cm", "300", "Ensure this value is less than or equal to 230."),
        ("height_cm", "9" * 5000, "Enter a whole number."),
        ("education", "9", "Select a valid choice. 9 is not one of the available choices."),
        ("income", "rich", "Select a valid choice. rich is not one of the available choices."),
        ("marital_status", "complicated", "Select a valid choice. complicated is not one of the available choices."),
        ("residence_city", "999999", "Select a valid choice. 999999 is not one of the available choices."),
        ("residence_city", ZHEJIANG, f"Select a valid choice. {ZHEJIANG} is not one of the available choices."),
        ("occupation", "职" * 51, "Ensure this value has at most 50 characters (it has 51)."),
        ("wechat", "w" * 51, "Ensure this value has at most 50 characters (it has 51)."),
        ("email", "not-an-email", "Enter a valid email address."),
        ("self_intro", "介" * 1001, "Ensure this value has at most 1000 characters (it has 1001)."),
        ("self_intro", "\x00", "Null characters are not allowed."),
    ],
)
def test_each_bad_registration_field_is_refused_with_its_message(agency, field, value, message):
    configure(agency)
    response = visitor(agency).post("/register/", {**REGISTER, field: value})
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert not Member.unscoped.exists()


def test_an_applicant_under_eighteen_is_refused(agency):
    configure(agency)
    response = visitor(agency).post("/register/", {**REGISTER, "birth_date": _years_ago(17)})
    assert field_errors(response, "birth_date") == ["You must be at least 18 years old to register."]
    assert not Member.unscoped.exists()


def test_a_filled_honeypot_registers_nobody(agency):
    configure(agency)
    response = visitor(agency).post("/register/", {**REGISTER, "website": "buy now"})
    assert response.status_code == 302 and response.url == "/register/thanks/"
    assert not Member.unscoped.exists()


def test_the_sixth_registration_from_one_ip_gets_the_429_page(agency):
    configure(agency, shown=[])
    client = visitor(agency)
    for n in range(5):
        assert client.post("/register/", {**REGISTER, "phone": f"1390013{n:04d}"}).status_code == 302
    response = client.post("/register/", {**REGISTER, "phone": "13900139999"})
    assert response.status_code == 429 and "Too many submissions" in response.text
    assert Member.unscoped.count() == 5


def test_the_fourth_registration_with_one_phone_gets_the_429_page(agency):
    configure(agency, shown=[])
    for _n in range(3):
        assert visitor(agency, ip=next_ip()).post("/register/", REGISTER).status_code == 302
    assert visitor(agency, ip=next_ip()).post("/register/", REGISTER).status_code == 429
    assert Member.unscoped.count() == 1
    assert FollowUp.unscoped.count() == 2  # the second and third were repeats


def test_a_repeat_registration_becomes_a_due_followup_for_the_owner(agency, owner):
    configure(agency)
    member = existing_member(agency, owner, phone="13900139000")
    before = timezone.now()
    response = visitor(agency).post("/register/", {**REGISTER, "phone": "+86 139 0013 9000"})
    assert response.status_code == 302 and response.url == "/register/thanks/"
    assert Member.unscoped.filter(agency=agency).count() == 1
    member.refresh_from_db()
    assert member.name == "老会员" and member.presale_owner == owner  # the public cannot edit a profile
    followup = FollowUp.unscoped.get(member=member)
    assert followup.author is None and followup.channel == "site"
    assert "李先生" in followup.content and "li@example.com" in followup.content
    assert followup.next_followup_at >= before and member.next_followup_at == followup.next_followup_at
    assert member.followup_count == 1
    with agency_context(agency):
        assert list(due_followups(user=owner)) == [member]


def test_a_repeat_registration_of_a_pool_member_stays_in_the_pool(agency):
    configure(agency, shown=[])
    assert visitor(agency, ip=next_ip()).post("/register/", REGISTER).status_code == 302
    assert visitor(agency, ip=next_ip()).post("/register/", {**REGISTER, "name": "又一次"}).status_code == 302
    member = Member.unscoped.get(agency=agency)
    assert member.presale_owner is None and member.followup_count == 1
    with agency_context(agency):
        assert list(pool_members(agency=agency, pool=Pool.UNASSIGNED)) == [member]


def test_the_same_phone_in_another_agency_is_a_new_member_there(agency, other_agency, owner):
    existing_member(agency, owner, phone="13900139000")
    configure(other_agency, shown=[])
    assert visitor(other_agency).post("/register/", REGISTER).status_code == 302
    assert Member.unscoped.filter(agency=other_agency, phone="13900139000").count() == 1
    assert not FollowUp.unscoped.exists()


# --- the agency admin chooses the registration fields ---------------------------------------------


def test_the_admin_chooses_shown_and_required_fields_in_the_site_settings(agency, site_admin):
    client = agency_client(agency, site_admin)
    data = {"site_name": "安和婚恋", "registration_fields": ["wechat", "birth_date"],
            "registration_required": ["education"]}  # fmt: skip
    assert client.post("/staff/settings/site/", data).status_code == 302
    stored = SiteSettings.unscoped.get(agency=agency)
    assert stored.registration_fields == ["birth_date", "education", "wechat"]  # a required field is shown
    assert stored.registration_required == ["education"]
    form = visitor(agency).get("/register/").context["form"]
    assert form.fields["education"].required and not form.fields["wechat"].required


def test_an_unknown_registration_field_is_refused_in_the_settings(agency, site_admin):
    client = agency_client(agency, site_admin)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post("/staff/settings/site/", {"site_name": "x", "registration_fields": ["id_number"]})
    assert response.status_code == 400
    assert "Select a valid choice. id_number is not one of the available choices." in response.text
    assert "id_number" not in SiteSettings.unscoped.get(agency=agency).registration_fields


# --- arbitrary input -------------------------------------------------------------------------------

FUZZ = hypothesis_settings(
    max_examples=60, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
text = st.text(max_size=120) | st.text(alphabet="0123456789 +-", max_size=20)
_phones = itertools.count(1)


@st.composite
def submissions(draw, valid: dict):
    """Valid data with any set of fields replaced by arbitrary text or left out, and now and then a
    filled honeypot. The phone is this example's own, so no example trips another's rate limit."""
    data = {**valid, "phone": f"137{next(_phones):08d}"}
    for name in draw(st.sets(st.sampled_from(sorted(data)))):
        value = draw(st.none() | text)
        if value is None:
            del data[name]
        else:
            data[name] = value
    data["website"] = draw(text) if draw(st.integers(0, 9)) == 0 else ""
    return data


@FUZZ
@given(data=submissions(CONSULT))
def test_arbitrary_consultation_input_never_fails_and_writes_only_valid_rows(agency, data):
    before = Consultation.unscoped.count()
    response = visitor(agency, ip=next_ip()).post("/consult/", data)
    assert response.status_code in (302, 400)
    event(f"status {response.status_code}, honeypot {bool(data.get('website'))}")
    written = Consultation.unscoped.order_by("-id")[: Consultation.unscoped.count() - before]
    if response.status_code == 400 or data.get("website"):
        assert not written
        return
    [row] = written
    assert 1 <= len(row.name) <= 50 and row.name == row.name.strip() and "\x00" not in row.name
    assert re.fullmatch(r"1[3-9]\d{9}", row.phone)
    assert 1 <= len(row.message) <= 1000 and "\x00" not in row.message


@FUZZ
@given(data=submissions(REGISTER))
def test_arbitrary_registration_input_never_fails_and_writes_only_valid_rows(agency, data):
    configure(agency, required=["birth_date", "residence_city"])
    members, followups = Member.unscoped.count(), FollowUp.unscoped.count()
    response = visitor(agency, ip=next_ip()).post("/register/", data)
    assert response.status_code in (302, 400)
    event(f"status {response.status_code}, honeypot {bool(data.get('website'))}")
    new_members = Member.unscoped.count() - members
    new_followups = FollowUp.unscoped.count() - followups
    if response.status_code == 400 or data.get("website"):
        assert (new_members, new_followups) == (0, 0)
        return
    assert new_members + new_followups == 1
    if new_members:
        member = Member.unscoped.order_by("-id").first()
        assert member.source == "site_registration" and member.presale_owner is None
        assert re.fullmatch(r"1[3-9]\d{9}", member.phone) and 1 <= len(member.name) <= 50
        assert member.birth_date is not None and member.residence_city and member.residence_province
        assert not member.height_cm or 120 <= member.height_cm <= 230
