"""Excel import of members (F-C8): read an .xlsx, map its columns, preview the problems, import.

The first row of the first (active) sheet holds the column headers; every later non-empty row is
one member. A column mapping is a dict {member field → header text}; `propose_mapping` guesses one
from the headers in Chinese or English. `import_preview` is a dry run that validates every row and
reports each problem as (row number, column, message); `import_members` validates again and inserts
the good rows in one transaction. A phone number the agency already has, or one that appeared on an
earlier row of the same file, is reported as a duplicate and skipped: nothing is ever overwritten.

Between the preview and the confirmation the upload waits in private storage under
agencies/<agency id>/imports/<uuid>.xlsx (see `import_file_store`).
"""

import datetime
import re
import uuid
from dataclasses import dataclass, field
from functools import cache

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel

from apps.agencies.sequences import sequence_block
from apps.core.validators import normalize_mobile
from apps.matchmakers.models import User

from . import choices, divisions
from .models import Member
from .selectors import member_visible_list
from .storage import private_storage

IMPORT_FIELDS = (
    "name", "gender", "phone", "birth_date", "height_cm", "weight_kg", "education", "income",
    "marital_status", "occupation", "industry", "wechat", "email", "residence_province", "residence_city",
    "self_intro", "status",
)  # fmt: skip
REQUIRED_FIELDS = ("name", "gender", "phone")
MAX_ROWS = 50_000
MAX_FILE_BYTES = 20 * 1024 * 1024
MEMBER_SEQUENCE = "member"
BATCH_SIZE = 2000

# Header texts recognised for each field, besides the field's own label in every language. They
# are compared after `_key` (case, spaces and punctuation removed), so "Mobile phone" = "mobilephone".
HEADER_ALIASES = {
    "name": ["姓名", "名字", "会员姓名", "客户姓名", "name", "full name", "member name"],
    "gender": ["性别", "gender", "sex"],
    "phone": [
        "手机", "手机号", "手机号码", "电话", "电话号码", "联系电话", "联系方式", "mobile", "mobile phone",
        "mobile number", "phone", "phone number", "cell phone", "telephone",
    ],
    "birth_date": ["出生日期", "生日", "出生年月日", "出生年月", "date of birth", "birth date", "birthday", "dob"],
    "height_cm": ["身高", "身高cm", "身高厘米", "height", "height cm"],
    "weight_kg": ["体重", "体重kg", "体重公斤", "weight", "weight kg"],
    "education": ["学历", "最高学历", "文化程度", "education", "degree"],
    "income": ["月收入", "收入", "月薪", "工资", "monthly income", "income", "salary"],
    "marital_status": ["婚姻状况", "婚况", "婚姻状态", "婚姻", "marital status", "marriage"],
    "occupation": ["职业", "工作", "职位", "occupation", "job", "profession"],
    "industry": ["行业", "所属行业", "industry"],
    "wechat": ["微信", "微信号", "wechat", "wechat id", "weixin"],
    "email": ["邮箱", "电子邮箱", "电子邮件", "邮件", "email", "e-mail", "email address"],
    "residence_province": ["省份", "所在省份", "居住省份", "省", "province", "province of residence"],
    "residence_city": [
        "城市", "所在城市", "居住城市", "现居城市", "所在地", "现居地", "居住地", "city", "city of residence",
    ],
    "self_intro": ["自我介绍", "个人介绍", "简介", "个人简介", "self introduction", "introduction", "about me"],
    "status": ["状态", "会员状态", "客户状态", "status"],
}  # fmt: skip

# Values recognised besides the choices' own values and labels in every language (compared by `_key`).
GENDER_ALIASES = {
    choices.Gender.MALE: ["男", "男性", "男士", "先生", "m", "man"],
    choices.Gender.FEMALE: ["女", "女性", "女士", "小姐", "f", "woman"],
}
EDUCATION_ALIASES = {
    choices.Education.JUNIOR_HIGH: ["初中", "初中及以下", "初中以下", "小学", "junior high", "middle school"],
    choices.Education.HIGH_SCHOOL: ["高中", "中专", "职高", "技校", "高中中专", "high school", "vocational"],
    choices.Education.ASSOCIATE: ["大专", "专科", "高职", "associate", "college"],
    choices.Education.BACHELOR: ["本科", "大学本科", "学士", "bachelor", "bachelors", "undergraduate"],
    choices.Education.MASTER: ["硕士", "研究生", "硕士研究生", "master", "masters", "mba"],
    choices.Education.DOCTORATE: ["博士", "博士研究生", "博士后", "doctorate", "phd", "doctor"],
}
MARITAL_ALIASES = {
    choices.MaritalStatus.NEVER_MARRIED: ["未婚", "单身", "未婚无孩", "single", "unmarried"],
    choices.MaritalStatus.DIVORCED_NO_CHILDREN: [
        "离异无孩", "离异无子女", "离异未育", "离异无小孩", "离婚无孩", "离婚无子女", "divorced no children",
    ],
    choices.MaritalStatus.DIVORCED_WITH_CHILDREN: [
        "离异有孩", "离异带孩", "离异有子女", "离异有小孩", "离婚有孩", "离婚有子女", "divorced with children",
    ],
    choices.MaritalStatus.WIDOWED: ["丧偶", "widowed", "widow", "widower"],
}  # fmt: skip
# Upper bounds (exclusive) of the monthly income bands, in RMB, in the order of choices.Income.
INCOME_BOUNDS = [
    (3_000, choices.Income.UNDER_3K),
    (5_000, choices.Income.FROM_3K),
    (8_000, choices.Income.FROM_5K),
    (12_000, choices.Income.FROM_8K),
    (20_000, choices.Income.FROM_12K),
    (30_000, choices.Income.FROM_20K),
    (50_000, choices.Income.FROM_30K),
]
INCOME_UNITS = {"": 1, "k": 1_000, "千": 1_000, "w": 10_000, "万": 10_000}

_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_NUMBER_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([a-z\u4e00-\u9fff]*)$")
_AMOUNT = r"(\d+(?:\.\d+)?)(k|w|千|万)?"
_INCOME_RE = re.compile(rf"^{_AMOUNT}(?:[-~～—–至到]{_AMOUNT})?(以上|以下|及以上|\+)?$")
_STORED_NAME_RE = re.compile(r"^agencies/(\d+)/imports/[0-9a-f]{32}\.xlsx$")


@dataclass(frozen=True)
class RowError:
    """One problem of one row: the Excel row number (the header is row 1), the column and why."""

    row_number: int
    column_header: str
    message: str


@dataclass
class ImportReport:
    headers: list[str]
    mapping: dict[str, str]
    total_rows: int = 0  # non-empty rows below the header
    ok_count: int = 0  # rows that are (or would be) imported
    imported_count: int = 0  # 0 for a preview
    errors: list[RowError] = field(default_factory=list)
    duplicates: list[RowError] = field(default_factory=list)

    @property
    def error_row_count(self) -> int:
        return len({error.row_number for error in self.errors})

    @property
    def skipped_count(self) -> int:
        return self.error_row_count + len(self.duplicates)

    @property
    def skipped_rows(self) -> list[RowError]:
        """Every problem, errors and duplicates together, in row order."""
        return sorted([*self.errors, *self.duplicates], key=lambda error: error.row_number)


@dataclass
class _Row:
    number: int
    member: Member | None  # None when the row has errors
    phone: str  # the normalised phone, "" when missing or invalid


# --- Reading the workbook ---------------------------------------------------------------------


def _not_xlsx() -> ValidationError:
    return ValidationError(
        _("This file is not a readable Excel workbook (.xlsx). Save it as .xlsx in Excel or WPS and upload it again."),
        code="not_xlsx",
    )


def _header_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def _read(file, *, header_only: bool = False) -> tuple[list[str], list[tuple[int, tuple]]]:
    """The header texts and the non-empty data rows (Excel row number, cell values) of the file.

    With `header_only`, reading stops at the first data row: enough to know the file can be imported.
    """
    if getattr(file, "size", None) is not None and file.size > MAX_FILE_BYTES:
        raise ValidationError(_("The file is larger than 20 MB. Split it into smaller files."), code="too_large")
    try:
        file.seek(0)
        workbook = load_workbook(file, read_only=True, data_only=True)
    except Exception as error:  # zipfile, XML and openpyxl errors all mean the same to the user
        raise _not_xlsx() from error
    try:
        sheet = workbook.active if workbook.active is not None else workbook.worksheets[0]
        headers, data = _sheet_rows(sheet.iter_rows(values_only=True), header_only=header_only)
    except ValidationError:
        raise
    except Exception as error:
        raise _not_xlsx() from error
    finally:
        workbook.close()
    if not any(propose_mapping(headers).values()) and _looks_like_data(headers):
        raise ValidationError(
            _("The first row holds member data, not column headers. Insert a header row (such as 姓名, 性别, 手机)."),
            code="no_header",
        )
    if not data:
        raise ValidationError(_("The file has a header row but no members below it."), code="no_rows")
    return headers, data


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _sheet_rows(rows, *, header_only: bool) -> tuple[list[str], list[tuple[int, tuple]]]:
    header = next(rows, None)
    headers = [_header_text(value) for value in header or ()]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        if header is not None and any(not all(_is_blank(value) for value in row) for row in rows):
            raise ValidationError(
                _("The first row is empty. Put the column headers (such as 姓名, 性别, 手机) in the first row."),
                code="no_header",
            )
        raise ValidationError(_("The first sheet of the file is empty."), code="empty")
    data = []
    for number, row in enumerate(rows, start=2):
        if all(_is_blank(value) for value in row):
            continue
        data.append((number, row))
        if header_only:
            break
        if len(data) > MAX_ROWS:
            raise ValidationError(
                _("The file has more than %(max)s members. Split it into smaller files.") % {"max": MAX_ROWS},
                code="too_many_rows",
            )
    return headers, data


def _looks_like_data(headers: list[str]) -> bool:
    return any(
        re.fullmatch(r"1[3-9]\d{9}", normalize_mobile(text)) or _DATE_RE.match(text.split(" ")[0]) for text in headers
    )


def read_headers(file) -> list[str]:
    """The header texts of the file's first row; ValidationError when the file cannot be imported."""
    return _read(file, header_only=True)[0]


# --- Column mapping ---------------------------------------------------------------------------


def _key(text) -> str:
    """Text reduced for comparison: case-folded, without spaces and punctuation."""
    return re.sub(r"[\W_]+", "", str(text).casefold())


def _in_every_language(label) -> list[str]:
    labels = []
    for language in ("en", "zh-hans"):
        with translation.override(language):
            labels.append(str(label))
    return labels


@cache
def _header_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for name in IMPORT_FIELDS:
        texts = [*HEADER_ALIASES.get(name, ()), *_in_every_language(Member._meta.get_field(name).verbose_name)]
        for text in texts:
            lookup.setdefault(_key(text), name)
    return lookup


def _header_key_variants(header: str) -> list[str]:
    """The header as is, then without a bracketed unit or note ("身高（cm）" → "身高") or a "*" mark."""
    plain = re.sub(r"[(（\[【].*?[)）\]】]", "", header).strip(" *:：")
    return [key for key in dict.fromkeys([_key(header), _key(plain)]) if key]


def propose_mapping(headers: list[str]) -> dict[str, str]:
    """{field → header text} for every field whose label (Chinese or English) names a column."""
    lookup = _header_lookup()
    mapping: dict[str, str] = {}
    for header in headers:
        for key in _header_key_variants(header):
            name = lookup.get(key)
            if name is not None and name not in mapping:
                mapping[name] = header
                break
    return {name: mapping[name] for name in IMPORT_FIELDS if name in mapping}


def field_label(name: str) -> str:
    return capfirst(str(Member._meta.get_field(name).verbose_name))


def _columns(headers: list[str], mapping: dict[str, str]) -> dict[str, tuple[int, str]]:
    """{field → (column index, header)} of the mapping; ValidationError when it cannot be used."""
    columns: dict[str, tuple[int, str]] = {}
    errors = []
    for name, header in (mapping or {}).items():
        if not header:
            continue
        if name not in IMPORT_FIELDS:
            errors.append(_("“%(field)s” cannot be imported.") % {"field": name})
        elif header not in headers:
            errors.append(_("The file has no column “%(header)s”.") % {"header": header})
        else:
            columns[name] = (headers.index(header), header)
    missing = [field_label(name) for name in REQUIRED_FIELDS if name not in columns]
    if missing:
        errors.append(
            _("Choose the column of each of these fields, every member needs them: %(fields)s.")
            % {"fields": ", ".join(missing)}
        )
    if errors:
        raise ValidationError([ValidationError(message, code="mapping") for message in errors])
    return columns


# --- Parsing cell values ----------------------------------------------------------------------


def _choice_lookup(choice_class, aliases: dict) -> dict[str, object]:
    lookup: dict[str, object] = {}
    for value, label in choice_class.choices:
        values = [value] if isinstance(value, str) else []  # never a bare number such as "4" for a degree
        for text in [*values, *_in_every_language(label), *aliases.get(value, ())]:
            lookup.setdefault(_key(text), value)
    return lookup


@cache
def _lookups() -> dict[str, dict[str, object]]:
    return {
        "gender": _choice_lookup(choices.Gender, GENDER_ALIASES),
        "education": _choice_lookup(choices.Education, EDUCATION_ALIASES),
        "marital_status": _choice_lookup(choices.MaritalStatus, MARITAL_ALIASES),
        "status": _choice_lookup(choices.Status, {}),
        "income": {_income_key(text): value for value, label in choices.Income.choices
                   for text in _in_every_language(label)},
    }  # fmt: skip


def _labels(choice_class) -> str:
    return ", ".join(str(label) for label in choice_class.labels)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime):
        value = value.date()
    return str(value).strip()


class _CellError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _parse_choice(name: str, value, choice_class, message: str):
    text = _text(value)
    if not text:
        return None
    found = _lookups()[name].get(_key(text))
    if found is None:
        raise _CellError(message % {"value": text, "choices": _labels(choice_class)})
    return found


def _parse_gender(value):
    return _parse_choice(
        "gender", value, choices.Gender, _("“%(value)s” is not a gender. Write 男 or 女 (male or female).")
    )


def _parse_education(value):
    return _parse_choice(
        "education", value, choices.Education, _("“%(value)s” is not a level of education. Use one of: %(choices)s.")
    )


def _parse_marital_status(value):
    return _parse_choice(
        "marital_status", value, choices.MaritalStatus,
        _("“%(value)s” is not a marital status. Use one of: %(choices)s."),
    )  # fmt: skip


def _parse_status(value):
    return _parse_choice("status", value, choices.Status, _("“%(value)s” is not a status. Use one of: %(choices)s."))


def _income_key(text: str) -> str:
    text = str(text).casefold()
    for noise in ("人民币", "rmb", "¥", "￥", "元", "/月", "每月", "月薪", "月", ",", "，", " "):
        text = text.replace(noise, "")
    return text.replace("及以上", "以上")


def _income_band(amount: float):
    for bound, band in INCOME_BOUNDS:
        if amount < bound:
            return band
    return choices.Income.OVER_50K


def _parse_income(value):
    """A band by its label ("8,000-12,000", "8000-12000 元") or by an amount (9000, "1.5万", "8k-12k")."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise _CellError(_("The monthly income cannot be negative."))
        return _income_band(value)
    text = _text(value)
    if not text:
        return None
    key = _income_key(text)
    band = _lookups()["income"].get(key)
    if band is not None:
        return band
    match = _INCOME_RE.match(key)
    if match is None:
        raise _CellError(
            _("“%(value)s” is not a monthly income. Write an amount in RMB such as 8000, or a band: %(choices)s.")
            % {"value": text, "choices": _labels(choices.Income)}
        )
    low, low_unit, high, high_unit, open_end = match.groups()
    if high is not None and open_end is None:
        # "1-2万": the unit written once applies to both ends; the band of the lower end is taken.
        return _income_band(float(low) * INCOME_UNITS[low_unit or high_unit or ""])
    amount = float(low) * INCOME_UNITS[low_unit or ""]
    if open_end == "以下":
        amount -= 1
    return _income_band(amount)


def _parse_number(value, *, kind: str) -> int | None:
    """Height in cm ("175", "175cm", "1.75m") or weight in kg ("60", "60kg", "120斤")."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number, unit = float(value), ""
    else:
        text = _text(value).casefold().replace(" ", "")
        if not text:
            return None
        match = _NUMBER_RE.match(text)
        units = {"height": ("", "cm", "厘米", "公分", "m", "米"), "weight": ("", "kg", "公斤", "千克", "斤")}[kind]
        if match is None or match.group(2) not in units:
            if kind == "height":
                raise _CellError(_("“%(value)s” is not a height. Write it in centimetres, e.g. 172.") % {"value": text})
            raise _CellError(_("“%(value)s” is not a weight. Write it in kilograms, e.g. 60.") % {"value": text})
        number, unit = float(match.group(1)), match.group(2)
    if kind == "height" and (unit in ("m", "米") or (not unit and 0 < number < 3)):
        number *= 100  # metres
    if kind == "weight" and unit == "斤":
        number /= 2  # one jin is half a kilogram
    return round(number)


def _parse_date(value) -> datetime.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    invalid = _("“%(value)s” is not a date. Write it as YYYY-MM-DD, e.g. 1990-05-01.") % {"value": _text(value)}
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if 19000101 <= value <= 21001231 and float(value).is_integer():
            return _parse_date(str(int(value)))  # 19900501 typed as a number
        try:
            day = from_excel(value).date()  # an Excel serial day number in a cell not formatted as a date
        except (ValueError, OverflowError, TypeError):
            raise _CellError(invalid) from None
    else:
        text = str(value).strip().split(" ")[0].split("T")[0]
        match = _DATE_RE.match(text) or re.match(r"^(\d{4})(\d{2})(\d{2})$", text)
        if match is None:
            raise _CellError(invalid)
        try:
            day = datetime.date(*(int(part) for part in match.groups()))
        except ValueError:
            raise _CellError(invalid) from None
    if day > timezone.localdate():
        raise _CellError(_("The date of birth %(date)s is in the future.") % {"date": day.isoformat()})
    if day.year < 1900:
        raise _CellError(_("The date of birth %(date)s is before 1900.") % {"date": day.isoformat()})
    return day


def _parse_phone(value) -> str:
    return normalize_mobile(_text(value))


# --- Provinces and cities by name -------------------------------------------------------------


def _short_province(name: str) -> str:
    for suffix in _PROVINCE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class _Places:
    provinces: tuple[tuple[str, str], ...]  # (code, name)
    province_names: dict[str, str]  # full or short name → code
    cities: dict[str, tuple[tuple[str, str], ...]]  # province code → (code, name)


@cache
def _places() -> _Places:
    provinces = tuple(divisions.provinces())
    names: dict[str, str] = {}
    for code, name in provinces:
        names.setdefault(name, code)
        names.setdefault(_short_province(name), code)
    return _Places(provinces, names, {code: tuple(divisions.cities(code)) for code, _name in provinces})


def _division_code(text: str, *, level: str) -> str:
    """A code written as such: "33", "3301" or the six-digit form "330000" / "330100"."""
    if not text.isdigit():
        return ""
    candidates = [text]
    if len(text) == 6:
        candidates.append(text[:2] if text.endswith("0000") else text[:4] if text.endswith("00") else text)
    check = divisions.is_province if level == "province" else divisions.is_city
    return next((code for code in candidates if check(code)), "")


def _find_province(text: str) -> str:
    return _division_code(text, level="province") or _places().province_names.get(text, "")


def _match_city(text: str, province: str) -> str:
    """The city named `text` (in full, or a unique beginning of its name), within `province` if given."""
    places = _places()
    provinces = [province] if province else [code for code, _name in places.provinces]
    cities = [city for code in provinces for city in places.cities[code]]
    for candidate in (text, f"{text}市"):  # "重庆" is 重庆市, not the 重庆市（县） that also starts with it
        exact = [code for code, name in cities if name == candidate]
        if exact:
            return exact[0]
    if len(text) >= 2:
        starting = [code for code, name in cities if name.startswith(text)]
        if len(starting) == 1:
            return starting[0]
    if province and text in {name for _code, name in places.provinces if _code == province}:
        return _municipality_city(province)
    return ""


def _municipality_city(province: str) -> str:
    """The pseudo-city of a municipality (北京, 上海, …), which carries the municipality's name."""
    province_name = divisions.name_of(province)
    return next((code for code, name in _places().cities[province] if name == province_name), "")


def _parse_location(province_value, city_value) -> tuple[str, str, dict[str, str]]:
    """(province code, city code, {field → message}) from names such as "浙江省", "杭州", "浙江省杭州市"."""
    errors: dict[str, str] = {}
    province_text = _text(province_value).replace(" ", "")
    city_text = _text(city_value).replace(" ", "")
    province = ""
    if province_text:
        province = _find_province(province_text)
        if not province:
            errors["residence_province"] = _("There is no province named “%(value)s”.") % {"value": province_text}
    city = ""
    if city_text:
        # Within the given province first; then anywhere, so a city of another province is named as such.
        city = (
            _division_code(city_text, level="city")
            or _match_city(city_text, province)
            or (province and _match_city(city_text, ""))
            or _combined_location(city_text)
        )
        if not city:
            errors["residence_city"] = (
                _("There is no city named “%(value)s” in %(province)s.")
                % {"value": city_text, "province": divisions.name_of(province)}
                if province
                else _("There is no city named “%(value)s”.") % {"value": city_text}
            )
        elif province and divisions.parent_of(city) != province:
            errors["residence_city"] = _("%(city)s is not in %(province)s.") % {
                "city": divisions.name_of(city), "province": divisions.name_of(province),
            }  # fmt: skip
        else:
            province = divisions.parent_of(city)
    return province, city, errors


def _combined_location(text: str) -> str:
    """The city of "浙江省杭州市", "浙江杭州" or "北京市朝阳区" (a municipality and one of its districts)."""
    names = sorted(_places().province_names.items(), key=lambda item: -len(item[0]))
    for name, code in names:
        if text.startswith(name) and len(text) > len(name):
            rest = text[len(name) :].lstrip("-/·,，、")
            city = _match_city(rest, code) if rest else ""
            return city or _municipality_city(code)
    return ""


# --- Validation -------------------------------------------------------------------------------

_PARSERS = {
    "gender": _parse_gender,
    "phone": _parse_phone,
    "birth_date": _parse_date,
    "height_cm": lambda value: _parse_number(value, kind="height"),
    "weight_kg": lambda value: _parse_number(value, kind="weight"),
    "education": _parse_education,
    "income": _parse_income,
    "marital_status": _parse_marital_status,
    "status": _parse_status,
}
_NULLABLE = {"birth_date", "height_cm", "weight_kg", "education", "income"}
_NOT_VALIDATED = [f.name for f in Member._meta.concrete_fields if f.name not in IMPORT_FIELDS]


def _cell(row: tuple, columns: dict[str, tuple[int, str]], name: str):
    if name not in columns:
        return None
    index = columns[name][0]
    return row[index] if index < len(row) else None


def _validate_row(*, agency, actor: User, number: int, row: tuple, columns, errors: list[RowError]) -> _Row:
    values: dict[str, object] = {}
    failed: dict[str, str] = {}
    for name in columns:
        if name in ("residence_province", "residence_city"):
            continue
        value = _cell(row, columns, name)
        try:
            parsed = _PARSERS[name](value) if name in _PARSERS else _text(value)
        except _CellError as error:
            failed[name] = error.message
            continue
        if parsed is None and name not in _NULLABLE:
            parsed = ""
        values[name] = parsed
    if "residence_province" in columns or "residence_city" in columns:
        province, city, location_errors = _parse_location(
            _cell(row, columns, "residence_province"), _cell(row, columns, "residence_city")
        )
        values.update(residence_province=province, residence_city=city)
        failed.update(location_errors)
    if not values.get("status"):
        values["status"] = choices.Status.LEAD
    member = Member(
        agency=agency, presale_owner=actor, created_by=actor, source=choices.Source.IMPORT, **values
    )  # fmt: skip
    try:
        member.clean_fields(exclude=[*_NOT_VALIDATED, *failed])
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            failed.setdefault(name, " ".join(messages))
    for name, message in failed.items():
        errors.append(RowError(number, columns[name][1] if name in columns else "", message))
    phone = values.get("phone", "") if "phone" not in failed else ""
    return _Row(number, None if failed else member, phone)


def _validate(agency, actor: User, file, mapping: dict[str, str]) -> tuple[ImportReport, list[Member]]:
    if not actor.has_perm("matchmakers.add_members") or actor.agency_id != agency.pk:
        raise PermissionDenied(_("Your role does not allow adding members."))
    headers, data = _read(file)
    columns = _columns(headers, mapping)
    report = ImportReport(headers=headers, mapping={name: header for name, (_i, header) in columns.items()})
    report.total_rows = len(data)
    rows = [
        _validate_row(agency=agency, actor=actor, number=number, row=row, columns=columns, errors=report.errors)
        for number, row in data
    ]

    phone_header = columns["phone"][1]
    existing = _existing_phones(agency, actor, {row.phone for row in rows if row.member is not None})
    first_row: dict[str, int] = {}
    members = []
    for row in rows:
        earlier = first_row.setdefault(row.phone, row.number) if row.phone else row.number
        if row.member is None:
            continue
        if earlier != row.number:
            message = _("The same phone number is already on row %(row)s of this file; this row is skipped.") % {
                "row": earlier
            }
        elif row.phone in existing:
            message = existing[row.phone]
        else:
            members.append(row.member)
            continue
        report.duplicates.append(RowError(row.number, phone_header, message))
    report.ok_count = len(members)
    return report, members


def _existing_phones(agency, actor: User, phones: set[str]) -> dict[str, str]:
    """{phone → why the row is skipped} for the phones the agency already has."""
    found: set[str] = set()
    phone_list = sorted(phones)
    for start in range(0, len(phone_list), 5000):
        chunk = phone_list[start : start + 5000]
        found.update(Member.objects.filter(agency=agency, phone__in=chunk).values_list("phone", flat=True))
    if not found:
        return {}
    visible = {member.phone: member for member in member_visible_list(user=actor).filter(phone__in=found)}
    reasons = {}
    for phone in found:
        if phone in visible:
            reasons[phone] = _("This phone number belongs to %(member)s already; this row is skipped.") % {
                "member": visible[phone]
            }
        else:
            reasons[phone] = _(
                "A member with this phone number already exists, followed by a colleague; this row is skipped."
            )
    return reasons


# --- Services ---------------------------------------------------------------------------------


def import_preview(agency, actor: User, file, mapping: dict[str, str]) -> ImportReport:
    """Validate every row without saving anything: counts, errors per row and cell, duplicates."""
    report, _members = _validate(agency, actor, file, mapping)
    return report


def import_members(agency, actor: User, file, mapping: dict[str, str]) -> ImportReport:
    """Validate again and insert every good row in one transaction; duplicates and bad rows are skipped."""
    try:
        with transaction.atomic():
            report, members = _validate(agency, actor, file, mapping)
            if members:
                first = sequence_block(agency=agency, name=MEMBER_SEQUENCE, count=len(members))
                for offset, member in enumerate(members):
                    member.member_no = f"M{first + offset:06d}"
                Member.objects.bulk_create(members, batch_size=BATCH_SIZE)
    except IntegrityError:
        raise ValidationError(
            _("Someone added some of these phone numbers while the file was being imported. Nothing was imported; "
              "check the file again."),
            code="conflict",
        ) from None  # fmt: skip
    report.imported_count = len(members)
    return report


# --- The upload between preview and confirmation ----------------------------------------------


def import_file_store(agency, file) -> str:
    """Keep the upload in private storage until the import is confirmed; returns its storage name."""
    file.seek(0)
    return private_storage.save(f"agencies/{agency.pk}/imports/{uuid.uuid4().hex}.xlsx", file)


def _checked_name(agency, name: str) -> str:
    match = _STORED_NAME_RE.match(name or "")
    if match is None or int(match.group(1)) != agency.pk:
        raise ValidationError(_("This import file does not belong to this agency."), code="foreign_file")
    return name


def import_file_open(agency, name: str):
    """The stored upload, opened for reading; ValidationError when it is gone or not the agency's."""
    name = _checked_name(agency, name)
    if not private_storage.exists(name):
        raise ValidationError(_("The uploaded file is no longer available. Upload it again."), code="missing")
    return private_storage.open(name, "rb")


def import_file_delete(agency, name: str) -> None:
    name = _checked_name(agency, name)
    if private_storage.exists(name):
        private_storage.delete(name)
