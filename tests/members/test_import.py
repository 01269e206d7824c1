"""Excel import of members (F-C8): mapping, dry run, duplicates, one-transaction import, the views."""

import datetime
import io
import threading
import time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import translation
from openpyxl import Workbook

from apps.agencies.context import agency_context
from apps.members import imports, storage
from apps.members.imports import import_members, import_preview, propose_mapping
from apps.members.models import Member
from apps.members.selectors import member_visible_list
from apps.members.services import member_create
from tests.conftest import agency_client
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

MEMBER_PERMS = ["matchmakers.view_members", "matchmakers.add_members"]
HEADER = [
    "Name", "Gender", "Mobile phone", "Date of birth", "Height (cm)", "Education", "Monthly income",
    "Marital status", "City", "Email",
]  # fmt: skip
MAPPING = {
    "name": "Name", "gender": "Gender", "phone": "Mobile phone", "birth_date": "Date of birth",
    "height_cm": "Height (cm)", "education": "Education", "income": "Monthly income",
    "marital_status": "Marital status", "residence_city": "City", "email": "Email",
}  # fmt: skip
IMPORT_URL = "/staff/members/import/"
CONFIRM_URL = "/staff/members/import/confirm/"


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    """Uploads waiting for confirmation go to the test's own private folder."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return storage.private_storage


@pytest.fixture(autouse=True)
def _english():
    """The assertions read English messages; services and pages answer in the active language."""
    with translation.override("en"):
        yield


def en_client(agency, user):
    client = agency_client(agency, user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def importer(agency):
    return UserFactory(agency=agency, username="importer", name="导入员", perms=MEMBER_PERMS)


def workbook_bytes(rows, header=HEADER) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Members")
    if header is not None:
        sheet.append(header)
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def xlsx(rows, header=HEADER, name="members.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, workbook_bytes(rows, header), content_type="application/octet-stream")


def good_row(i: int) -> list:
    return [
        f"会员{i}", "男" if i % 2 else "女", f"139{i:08d}", datetime.date(1980 + i % 20, 1 + i % 12, 1 + i % 28),
        150 + i % 40, "本科", 8000 + i % 4000, "未婚", "杭州市", f"m{i}@example.com",
    ]  # fmt: skip


def members_of(agency):
    return Member.unscoped.filter(agency=agency)


# Ten kinds of bad rows: (column index, bad value, column header the error must name).
BAD_KINDS = [
    (1, "未知", "Gender"),
    (2, "12345", "Mobile phone"),
    (0, "", "Name"),
    (3, "1990-13-45", "Date of birth"),
    (4, 300, "Height (cm)"),
    (5, "幼儿园", "Education"),
    (9, "not-an-email", "Email"),
    (8, "火星市", "City"),
    (6, "很多", "Monthly income"),
    (3, "2999-01-01", "Date of birth"),
]


def test_ten_thousand_rows_with_fifty_bad_ones(agency, importer, capsys):
    """Acceptance: 10,000 rows with 50 bad rows import 9,950 and list the 50 with reasons."""
    rows, bad = [], {}
    for i in range(10_000):
        row = good_row(i)
        if i % 200 == 199:  # 50 bad rows spread over the file, five of each kind
            column, value, header = BAD_KINDS[len(bad) % len(BAD_KINDS)]
            row[column] = value
            bad[i + 2] = header  # Excel row number: the header is row 1
        rows.append(row)
    content = workbook_bytes(rows)
    assert len(bad) == 50

    with agency_context(agency):
        started = time.perf_counter()
        preview = import_preview(agency, importer, SimpleUploadedFile("m.xlsx", content), MAPPING)
        preview_seconds = time.perf_counter() - started
        assert members_of(agency).count() == 0
        started = time.perf_counter()
        report = import_members(agency, importer, SimpleUploadedFile("m.xlsx", content), MAPPING)
        import_seconds = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n10,000-row file: preview {preview_seconds:.1f} s, import {import_seconds:.1f} s")

    for result in (preview, report):
        assert result.total_rows == 10_000
        assert result.ok_count == 9_950
        assert result.skipped_count == 50
        assert result.duplicates == []
        assert {error.row_number: error.column_header for error in result.errors} == bad
        assert all(error.message for error in result.errors)
    assert preview.imported_count == 0
    assert report.imported_count == 9_950
    assert members_of(agency).count() == 9_950
    numbers = set(members_of(agency).values_list("member_no", flat=True))
    assert numbers == {f"M{n:06d}" for n in range(1, 9_951)}
    assert import_seconds < 60


def test_duplicate_phones_are_reported_and_skipped_never_overwritten(agency, other_agency, importer):
    colleague = UserFactory(agency=agency, username="colleague", perms=MEMBER_PERMS)
    outsider = UserFactory(agency=other_agency, username="outsider", perms=MEMBER_PERMS)
    with agency_context(agency):
        existing = member_create(agency=agency, actor=colleague, name="老会员", gender="female", phone="13900000001")
    with agency_context(other_agency):
        member_create(agency=other_agency, actor=outsider, name="别家的", gender="male", phone="13900000003")
    rows = [
        ["新名字", "男", "13900000001"],  # row 2: the agency already has it
        ["甲", "女", "13900000002"],  # row 3
        ["乙", "女", "139 0000 0002"],  # row 4: row 3 again once normalised
        ["丙", "男", "+86 139-0000-0003"],  # row 5: only another agency has it
    ]
    mapping = {"name": "Name", "gender": "Gender", "phone": "Mobile phone"}
    with agency_context(agency):
        preview = import_preview(agency, importer, xlsx(rows, HEADER[:3]), mapping)
        report = import_members(agency, importer, xlsx(rows, HEADER[:3]), mapping)

    for result in (preview, report):
        assert result.ok_count == 2
        assert result.errors == []
        duplicates = [(d.row_number, d.column_header) for d in result.duplicates]
        assert duplicates == [(2, "Mobile phone"), (4, "Mobile phone")]
        assert "row 3" in result.duplicates[1].message
    assert report.imported_count == 2
    assert set(members_of(agency).values_list("phone", flat=True)) == {"13900000001", "13900000002", "13900000003"}
    existing.refresh_from_db()
    assert (existing.name, existing.presale_owner, existing.gender) == ("老会员", colleague, "female")
    assert members_of(agency).get(phone="13900000002").name == "甲"


def test_duplicate_of_a_visible_member_names_it(agency, importer):
    with agency_context(agency):
        member = member_create(agency=agency, actor=importer, name="王芳", gender="female", phone="13900000001")
        report = import_preview(
            agency, importer, xlsx([["王芳", "女", "13900000001"]], HEADER[:3]), propose_mapping(HEADER[:3])
        )
    assert len(report.duplicates) == 1
    assert member.member_no in report.duplicates[0].message


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (SimpleUploadedFile("members.xlsx", "Name,Gender,Mobile phone\n张三,男,13900000001\n".encode()), "not_xlsx"),
        (SimpleUploadedFile("members.xlsx", b"PK\x03\x04 broken zip"), "not_xlsx"),
        (SimpleUploadedFile("members.xlsx", b""), "not_xlsx"),
        (xlsx([], header=None), "empty"),
        (xlsx([[None, None], ["张三", "男", "13900000001"]], header=None), "no_header"),
        (xlsx([["张三", "男", "13900000001"]], header=None), "no_header"),
        (xlsx([]), "no_rows"),
    ],
    ids=["csv", "broken-zip", "empty-file", "empty-sheet", "empty-first-row", "data-in-first-row", "header-only"],
)
def test_unreadable_or_headerless_files_import_nothing(agency, importer, upload, code):
    with agency_context(agency):
        for service in (import_preview, import_members):
            with pytest.raises(ValidationError) as raised:
                service(agency, importer, upload, MAPPING)
            assert raised.value.code == code
            assert raised.value.messages[0]
    assert members_of(agency).count() == 0


def test_too_many_rows_import_nothing(agency, importer, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    with agency_context(agency), pytest.raises(ValidationError) as raised:
        import_members(agency, importer, xlsx([good_row(i) for i in range(4)]), MAPPING)
    assert raised.value.code == "too_many_rows"
    assert members_of(agency).count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_phone_added_meanwhile_rolls_the_whole_import_back(agency, importer):
    """Should another user add one of the phones between the check and the insert, nothing is imported.

    A second connection enters the phone in an open transaction; the import's check cannot see it,
    its insert then waits on the unique index until the other transaction commits, and fails.
    """
    entered, release = threading.Event(), threading.Event()

    def colleague_enters_the_same_phone():
        try:
            with agency_context(agency), transaction.atomic():
                member_create(agency=agency, actor=importer, name="同时录入", gender="male", phone=good_row(2)[2])
                entered.set()
                release.wait(30)
        finally:
            connection.close()

    colleague = threading.Thread(target=colleague_enters_the_same_phone)
    colleague.start()
    assert entered.wait(30)
    threading.Timer(1.0, release.set).start()
    with agency_context(agency), pytest.raises(ValidationError) as raised:
        import_members(agency, importer, xlsx([good_row(1), good_row(2), good_row(3)]), MAPPING)
    colleague.join(30)
    assert raised.value.code == "conflict"
    assert list(members_of(agency).values_list("name", flat=True)) == ["同时录入"]


def test_mapping_missing_a_required_column_imports_nothing(agency, importer):
    with agency_context(agency), pytest.raises(ValidationError) as raised:
        import_members(agency, importer, xlsx([good_row(1)]), {"name": "Name", "gender": "Gender"})
    assert [error.code for error in raised.value.error_list] == ["mapping"]
    with agency_context(agency), pytest.raises(ValidationError):
        import_members(agency, importer, xlsx([good_row(1)]), MAPPING | {"phone": "Telephone"})
    assert members_of(agency).count() == 0


def test_mapping_is_proposed_from_chinese_and_english_headers():
    chinese = [
        "序号", "姓名", "性别", "手机号", "出生日期", "身高（cm）", "体重", "学历", "月收入", "婚姻状况", "职业",
        "行业", "微信", "邮箱", "省份", "所在城市", "自我介绍", "状态",
    ]  # fmt: skip
    assert propose_mapping(chinese) == {
        "name": "姓名", "gender": "性别", "phone": "手机号", "birth_date": "出生日期", "height_cm": "身高（cm）",
        "weight_kg": "体重", "education": "学历", "income": "月收入", "marital_status": "婚姻状况",
        "occupation": "职业", "industry": "行业", "wechat": "微信", "email": "邮箱",
        "residence_province": "省份", "residence_city": "所在城市", "self_intro": "自我介绍", "status": "状态",
    }  # fmt: skip
    assert propose_mapping([" 手机 ", "姓名*", "城市", "Sex"]) == {
        "name": "姓名*", "gender": "Sex", "phone": " 手机 ", "residence_city": "城市"
    }  # fmt: skip
    # The header row of the member export maps back onto the member fields.
    exported = propose_mapping([*HEADER, "Member number", "WeChat", "Status", "Registered at"])
    assert exported == MAPPING | {"wechat": "WeChat", "status": "Status"}


def _fields(member, *names):
    return {name: getattr(member, name) for name in names}


def test_chinese_file_values_are_parsed_leniently(agency, importer):
    header = [
        "姓名", "性别", "手机", "出生日期", "身高", "体重", "学历", "月收入", "婚姻状况", "所在城市", "省份", "状态",
    ]  # fmt: skip
    rows = [
        ["张伟", "男", 13900000001, datetime.datetime(1990, 5, 1), "178cm", "140斤", "硕士", "1.5万", "未婚",
         "杭州市", "浙江省", "跟进中"],
        ["李娜", "女士", "139-0000-0002", "1992/03/04", 1.65, "52kg", "大专", "8000-12000元", "离异有孩",
         "浙江省宁波市", None, None],
        ["Emily", "female", "+86 13900000003", "1993年7月8日", 160, None, "Bachelor's degree", "Under 3,000",
         "Never married", "北京", None, "Signed"],
        ["王强", "M", "13900000004", "19880102", None, None, None, None, None, "上海市浦东新区", None, None],
        ["赵敏", "女", "13900000005", None, None, None, None, None, None, "南京", "浙江", None],
    ]  # fmt: skip
    with agency_context(agency):
        report = import_members(agency, importer, xlsx(rows, header), propose_mapping(header))
    assert [(e.row_number, e.column_header) for e in report.errors] == [(6, "所在城市")]
    assert "南京市" in report.errors[0].message and "浙江省" in report.errors[0].message
    assert report.imported_count == 4
    zhang, li, emily, wang = (members_of(agency).get(phone=f"1390000000{n}") for n in range(1, 5))
    profile = ("gender", "birth_date", "height_cm", "weight_kg", "education", "income", "marital_status", "status")
    place = ("residence_province", "residence_city")
    assert _fields(zhang, *profile, *place) == {
        "gender": "male", "birth_date": datetime.date(1990, 5, 1), "height_cm": 178, "weight_kg": 70,
        "education": 5, "income": 5, "marital_status": "never_married", "status": "following",
        "residence_province": "33", "residence_city": "3301",
    }  # fmt: skip
    assert _fields(li, *profile, *place) == {
        "gender": "female", "birth_date": datetime.date(1992, 3, 4), "height_cm": 165, "weight_kg": 52,
        "education": 3, "income": 4, "marital_status": "divorced_children", "status": "lead",
        "residence_province": "33", "residence_city": "3302",
    }  # fmt: skip
    assert _fields(emily, *profile, *place) == {
        "gender": "female", "birth_date": datetime.date(1993, 7, 8), "height_cm": 160, "weight_kg": None,
        "education": 4, "income": 1, "marital_status": "never_married", "status": "signed",
        "residence_province": "11", "residence_city": "1101",
    }  # fmt: skip
    assert _fields(wang, "gender", "birth_date", *place) == {
        "gender": "male", "birth_date": datetime.date(1988, 1, 2), "residence_province": "31", "residence_city": "3101"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("value", "band"),
    [(2999, 1), ("3000", 2), ("5,000-8,000", 3), ("8000-12000 元", 4), ("1.5万", 5), ("2-3万", 6), ("30k", 7),
     ("5 万元以上", 8), ("Over 50,000", 8), ("3000 元以下", 1), (None, None)],
)  # fmt: skip
def test_income_is_read_from_bands_and_amounts(value, band):
    assert imports._parse_income(value) == band


@pytest.mark.parametrize(
    ("province", "city", "codes"),
    [("", "杭州", ("33", "3301")), ("", "重庆", ("50", "5001")), ("", "恩施", ("42", "4228")),
     ("", "内蒙古呼和浩特", ("15", "1501")), ("广东", "深圳市", ("44", "4403")), ("", "330100", ("33", "3301")),
     ("浙江省", "", ("33", "")), ("", "吉林市", ("22", "2202"))],
)  # fmt: skip
def test_provinces_and_cities_are_found_by_name(province, city, codes):
    assert imports._parse_location(province, city) == (*codes, {})


@pytest.mark.parametrize(("province", "city"), [("浙江", "南京"), ("", "火星"), ("火星省", "")])
def test_unknown_or_mismatched_places_are_errors(province, city):
    assert imports._parse_location(province, city)[2]


def test_imported_members_are_owned_by_the_importer_and_numbered_after_existing_ones(agency, importer):
    with agency_context(agency):
        first = member_create(agency=agency, actor=importer, name="先来的", gender="male", phone="13800000000")
        import_members(agency, importer, xlsx([good_row(1), good_row(2), good_row(3)]), MAPPING)
        last = member_create(agency=agency, actor=importer, name="后来的", gender="male", phone="13800000009")
        imported = members_of(agency).filter(source=Member.Source.IMPORT).order_by("member_no")
        assert [m.member_no for m in imported] == ["M000002", "M000003", "M000004"]
        assert (first.member_no, last.member_no) == ("M000001", "M000005")
        for member in imported:
            assert (member.presale_owner, member.created_by, member.aftersale_owner) == (importer, importer, None)
            assert member.status == Member.Status.LEAD
        assert set(member_visible_list(user=importer).values_list("pk", flat=True)) >= {m.pk for m in imported}


def test_the_service_requires_the_add_members_permission(agency):
    viewer = UserFactory(agency=agency, username="viewer", perms=["matchmakers.view_members"])
    with agency_context(agency), pytest.raises(PermissionDenied):
        import_preview(agency, viewer, xlsx([good_row(1)]), MAPPING)
    with agency_context(agency), pytest.raises(PermissionDenied):
        import_members(agency, viewer, xlsx([good_row(1)]), MAPPING)
    assert members_of(agency).count() == 0


# --- Views ------------------------------------------------------------------------------------


def _upload(client, upload):
    return client.post(IMPORT_URL, {"file": upload})


def _confirm_data(token, mapping=MAPPING):
    return {"token": token, **mapping}


def test_upload_preview_confirm_flow(agency, importer, private_storage):
    client = en_client(agency, importer)
    page = client.get(IMPORT_URL)
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text

    rows = [good_row(1), good_row(2), good_row(3)]
    preview = _upload(client, xlsx(rows))
    assert preview.status_code == 200
    report = preview.context["report"]
    assert (report.ok_count, report.skipped_count) == (3, 0)
    assert preview.context["form"].initial == {} and preview.context["form"]["phone"].value() == "Mobile phone"
    pending = client.session["members_import"]
    assert pending["name"].startswith(f"agencies/{agency.pk}/imports/") and pending["name"].endswith(".xlsx")
    assert private_storage.exists(pending["name"])
    assert members_of(agency).count() == 0

    # Checking again with another mapping: the city is no longer imported.
    again = client.post(IMPORT_URL, _confirm_data(pending["token"], MAPPING | {"residence_city": ""}))
    assert again.status_code == 200
    assert again.context["report"].ok_count == 3

    done = client.post(CONFIRM_URL, _confirm_data(pending["token"]))
    assert done.status_code == 302
    assert done["Location"] == "/staff/members/"
    assert members_of(agency).count() == 3
    assert not private_storage.exists(pending["name"])
    assert "members_import" not in client.session

    listing = client.get("/staff/members/")
    assert "Imported 3 members; 0 rows skipped." in [str(m) for m in listing.context["messages"]]
    assert {m.name for m in listing.context["page"]} == {"会员1", "会员2", "会员3"}

    # The same confirmation again imports nothing twice.
    repeated = client.post(CONFIRM_URL, _confirm_data(pending["token"]))
    assert repeated.status_code == 400
    assert members_of(agency).count() == 3


def test_skipped_rows_are_listed_on_the_result_page(agency, importer):
    client = en_client(agency, importer)
    bad = good_row(2)
    bad[1] = "未知"
    preview = _upload(client, xlsx([good_row(1), bad, good_row(1)]))
    assert preview.status_code == 200
    assert 'id="import-problems"' in preview.text
    token = client.session["members_import"]["token"]
    result = client.post(CONFIRM_URL, _confirm_data(token))
    assert result.status_code == 200
    assert result.templates[0].name == "members/import_result.html"
    assert [(p.row_number, p.column_header) for p in result.context["problems"]] == [(3, "Gender"), (4, "Mobile phone")]
    assert "未知" in result.text
    assert "Imported 1 members; 2 rows skipped." in [str(m) for m in result.context["messages"]]
    assert members_of(agency).count() == 1


@pytest.mark.parametrize(
    ("name", "content"),
    [("members.csv", b"Name,Gender\n"), ("members.xls", b"\xd0\xcf\x11\xe0"), ("members.xlsx", b"not a zip")],
)
def test_bad_uploads_answer_400_with_a_clear_message(agency, importer, name, content):
    client = en_client(agency, importer)
    response = _upload(client, SimpleUploadedFile(name, content))
    assert response.status_code == 400
    assert response.context["form"].errors or response.context["error"]
    assert ".xlsx" in response.text
    assert "members_import" not in client.session
    assert members_of(agency).count() == 0


def test_headerless_upload_answers_400(agency, importer):
    client = en_client(agency, importer)
    response = _upload(client, xlsx([[None], ["张三", "男", "13900000001"]], header=None))
    assert response.status_code == 400
    assert "first row" in response.context["error"]
    assert 'id="import-error"' in response.text
    assert members_of(agency).count() == 0


def test_missing_required_mapping_is_asked_for_and_refused_at_confirmation(agency, importer):
    client = en_client(agency, importer)
    preview = _upload(client, xlsx([["张三", "男", "13900000001"]], header=["客户", "性别", "号码"]))
    assert preview.status_code == 200
    assert preview.context["report"] is None
    assert preview.context["form"].errors.keys() == {"name", "phone"}
    token = client.session["members_import"]["token"]
    refused = client.post(CONFIRM_URL, {"token": token, "gender": "性别"})
    assert refused.status_code == 400
    assert members_of(agency).count() == 0
    done = client.post(CONFIRM_URL, {"token": token, "name": "客户", "gender": "性别", "phone": "号码"})
    assert done.status_code == 302
    assert members_of(agency).get().name == "张三"


def test_a_user_without_add_members_gets_403(agency):
    viewer = UserFactory(agency=agency, username="viewer", perms=["matchmakers.view_members"])
    client = en_client(agency, viewer)
    assert client.get(IMPORT_URL).status_code == 403
    assert _upload(client, xlsx([good_row(1)])).status_code == 403
    assert client.post(CONFIRM_URL, _confirm_data("0" * 32)).status_code == 403
    assert "Import Excel" not in client.get("/staff/members/").text
    assert members_of(agency).count() == 0


def test_list_offers_the_import_to_those_who_may_add(agency, importer):
    page = en_client(agency, importer).get("/staff/members/")
    assert 'href="/staff/members/import/"' in page.text


def test_another_agency_or_session_cannot_confirm_the_upload(agency, other_agency, importer, private_storage):
    client = en_client(agency, importer)
    _upload(client, xlsx([good_row(1), good_row(2)]))
    pending = client.session["members_import"]

    outsider = UserFactory(agency=other_agency, username="outsider", perms=MEMBER_PERMS)
    response = en_client(other_agency, outsider).post(CONFIRM_URL, _confirm_data(pending["token"]))
    assert response.status_code == 400
    colleague = UserFactory(agency=agency, username="colleague", perms=MEMBER_PERMS)
    response = en_client(agency, colleague).post(CONFIRM_URL, _confirm_data(pending["token"]))
    assert response.status_code == 400
    assert members_of(agency).count() == 0
    assert members_of(other_agency).count() == 0
    assert private_storage.exists(pending["name"])

    # A tampered token in the right session is refused as well.
    assert client.post(CONFIRM_URL, _confirm_data("f" * 32)).status_code == 400
    assert members_of(agency).count() == 0


def test_stored_files_are_checked_against_the_agency(agency, other_agency, private_storage):
    with pytest.raises(ValidationError):
        imports.import_file_open(other_agency, f"agencies/{agency.pk}/imports/{'a' * 32}.xlsx")
    with pytest.raises(ValidationError):
        imports.import_file_open(agency, f"agencies/{agency.pk}/imports/../../../etc/passwd")
    name = imports.import_file_store(agency, xlsx([good_row(1)]))
    with pytest.raises(ValidationError):
        imports.import_file_delete(other_agency, name)
    assert private_storage.exists(name)
    with imports.import_file_open(agency, name) as file:
        assert imports.read_headers(file) == HEADER
