"""Reading an OElove site's MySQL/MariaDB database and mapping its rows onto MatchCRM's vocabulary.

Everything here is read-only on the site. Reads are keyset batches (`WHERE key > last ORDER BY key
LIMIT n`) streamed with an unbuffered cursor: each statement ends quickly, so MyISAM's table read
lock is never held while MatchCRM writes, and the live site keeps answering. Code lists come from
`love_paramter` and places from `area`, both matched by LABEL (an agency may have renumbered them).
See /shared/spec/oelove.md.
"""

import datetime
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import pymysql
import pymysql.cursors
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.validators import normalize_mobile
from apps.members import choices, divisions
from apps.members.imports import INCOME_BOUNDS

from .models import TABLE_PREFIX_RE

PROFILE_TABLES = ("user", "user_profile", "user_cond", "user_validate", "user_status")
REQUIRED_TABLES = (*PROFILE_TABLES, "area", "love_paramter", "message", "home_viewer", "hibox", "payment_log",
                   "user_viprecord")  # fmt: skip
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_email_validator = EmailValidator()

# MySQL client error numbers the connection test explains.
ER_ACCESS_DENIED = 1045
ER_BAD_DB = 1049
CR_CONN_HOST_ERROR = 2003
CR_UNKNOWN_HOST = 2005


class SourceError(Exception):
    """The site database cannot be used; the message says why, for the person who set it up."""


def describe_error(error: Exception, source) -> str:
    code = error.args[0] if getattr(error, "args", None) and isinstance(error.args[0], int) else None
    where = {"host": source.host, "port": source.port}
    if code in (CR_CONN_HOST_ERROR, CR_UNKNOWN_HOST) or isinstance(error, OSError):
        return _("Cannot reach %(host)s on port %(port)s: check the host, the port and the firewall.") % where
    if code == ER_ACCESS_DENIED:
        return _("The server refused the user name or password (user “%(user)s”).") % {"user": source.user}
    if code == ER_BAD_DB:
        return _("The server has no database named “%(database)s”.") % {"database": source.database}
    return _("The database answered with an error: %(error)s") % {"error": error}


def connect(source, *, timeout: int = 10, read_timeout: int = 300) -> pymysql.connections.Connection:
    try:
        return pymysql.connect(
            host=source.host, port=source.port, user=source.user, password=source.password or "",
            database=source.database, charset="utf8mb4", connect_timeout=timeout, read_timeout=read_timeout,
            cursorclass=pymysql.cursors.SSCursor, autocommit=True,
        )  # fmt: skip
    except pymysql.MySQLError as error:
        raise SourceError(describe_error(error, source)) from error


def table(prefix: str, name: str) -> str:
    if not re.match(TABLE_PREFIX_RE, prefix or ""):
        raise SourceError(_("The table prefix may hold only letters, digits and underscores."))
    return f"`{prefix}{name}`"


def missing_tables(connection, prefix: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SHOW TABLES")
        present = {row[0] for row in cursor.fetchall()}
    return [f"{prefix}{name}" for name in REQUIRED_TABLES if f"{prefix}{name}" not in present]


def check_connection(source) -> str:
    """A sentence saying the site database is usable; SourceError saying what is wrong otherwise."""
    # A short read timeout too: a port that accepts but never answers must not hold the web request.
    connection = connect(source, timeout=5, read_timeout=10)
    try:
        missing = missing_tables(connection, source.table_prefix)
        if missing:
            raise SourceError(
                _("Connected, but these OElove tables are missing: %(tables)s. Check the database name and the "
                  "table prefix.") % {"tables": ", ".join(missing)}
            )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {table(source.table_prefix, 'user')}")  # noqa: S608 - names validated by table()
            users = cursor.fetchone()[0]
    except pymysql.MySQLError as error:
        raise SourceError(describe_error(error, source)) from error
    finally:
        connection.close()
    return _("Connected: the OElove tables are all there, with %(count)s users.") % {"count": users}


# --- Reading ------------------------------------------------------------------------------------

PROFILE_COLUMNS = (
    "u.userid", "u.username", "u.email", "u.gender", "u.isblack",
    "p.provinceid", "p.cityid", "p.distid", "p.birthday", "p.marrystatus", "p.education", "p.height", "p.weight",
    "p.salary", "p.housing", "p.caring", "p.childrenstatus", "p.monolog",
    "c.startage", "c.endage", "c.startheight", "c.endheight", "c.marry", "c.startedu", "c.areas",
    "v.viplevel", "v.vipstartdate", "v.vipenddate",
    "s.regtime", "s.logintime", "s.logintimes", "s.hits", "s.rzmobile", "s.rzidnumber", "s.rzvideo",
)  # fmt: skip


def _without_nul(row: tuple) -> tuple:
    """PostgreSQL text cannot hold NUL characters, which MySQL text can: drop them from every value, so
    one such row cannot fail a whole batch (and every run after it)."""
    return tuple(value.replace("\x00", "") if isinstance(value, str) and "\x00" in value else value for value in row)


def read_users(connection, prefix: str, *, after: int, limit: int) -> list[tuple]:
    """The next `limit` users after user id `after`, each joined with its profile, criteria and status."""
    t = lambda name: table(prefix, name)  # noqa: E731
    sql = (
        f"SELECT {', '.join(PROFILE_COLUMNS)} FROM {t('user')} u"  # noqa: S608 - names validated by table()
        f" LEFT JOIN {t('user_profile')} p ON p.userid = u.userid"
        f" LEFT JOIN {t('user_cond')} c ON c.userid = u.userid"
        f" LEFT JOIN {t('user_validate')} v ON v.userid = u.userid"
        f" LEFT JOIN {t('user_status')} s ON s.userid = u.userid"
        " WHERE u.userid > %s ORDER BY u.userid LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [after, limit])
        return [_without_nul(row) for row in cursor.fetchall_unbuffered()]


@dataclass(frozen=True)
class ActivityTable:
    """An append-only table read by (time, id) keyset; `columns` follow the time and id columns."""

    name: str
    time_column: str
    id_column: str
    columns: tuple[str, ...]
    condition: str = ""


ACTIVITY_TABLES = (
    ActivityTable("message", "sendtime", "msgid", ("fromuserid", "touserid"), "issystem = 0"),
    ActivityTable("home_viewer", "viewtime", "viewid", ("homeuserid", "viewuserid")),
    ActivityTable("hibox", "sendtime", "hiid", ("fromuserid", "touserid")),
    ActivityTable("payment_log", "addtime", "paynum", ("userid", "realamount", "amount"), "paystatus = 1"),
    ActivityTable("user_viprecord", "dateline", "id", ("userid", "viplevel", "startdate", "enddate", "money")),
)


def read_activity(connection, prefix: str, spec: ActivityTable, *, since: int, after=None, limit: int) -> list[tuple]:
    """Rows (time, id, *columns) from time `since` on, or strictly after the key `after` = (time, id)."""
    time_col, id_col = spec.time_column, spec.id_column
    where, params = (f"{time_col} >= %s", [since]) if after is None else (
        f"({time_col} > %s OR ({time_col} = %s AND {id_col} > %s))", [after[0], after[0], after[1]]
    )  # fmt: skip
    if spec.condition:
        where = f"{where} AND {spec.condition}"
    sql = (
        f"SELECT {time_col}, {id_col}, {', '.join(spec.columns)} FROM {table(prefix, spec.name)}"  # noqa: S608 - names validated by table()
        f" WHERE {where} ORDER BY {time_col}, {id_col} LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        return [_without_nul(row) for row in cursor.fetchall_unbuffered()]


# --- Code lists by label ------------------------------------------------------------------------


def _norm(label: str) -> str:
    return re.sub(r"[\s/\\、，,（）()·\-~～]+", "", str(label or "")).casefold()


def education_of(label: str):
    key = _norm(label)
    if key.endswith("以下") or any(word in key for word in ("初中", "小学")):
        return choices.Education.JUNIOR_HIGH
    for words, value in (
        (("博士",), choices.Education.DOCTORATE),
        (("硕士", "研究生", "mba"), choices.Education.MASTER),
        (("本科", "学士", "大学"), choices.Education.BACHELOR),
        (("大专", "专科", "高职"), choices.Education.ASSOCIATE),
        (("高中", "中专", "职高", "技校"), choices.Education.HIGH_SCHOOL),
    ):
        if any(word in key for word in words):
            return value
    return None


def marital_of(label: str):
    key = _norm(label)
    if "未婚" in key or "单身" in key:
        return choices.MaritalStatus.NEVER_MARRIED
    if "离" in key:
        return choices.MaritalStatus.DIVORCED_NO_CHILDREN
    if "丧偶" in key:
        return choices.MaritalStatus.WIDOWED
    return None  # 已婚 (married) and anything else: no member vocabulary for it


def income_of(label: str):
    key = _norm(label)
    numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", str(label or "").replace(",", ""))]
    if not numbers:
        return None
    amount = numbers[0] * (10_000 if "万" in key else 1_000 if key.rstrip("元以上下").endswith("k") else 1)
    if "以下" in key or key.startswith("<"):
        amount -= 1
    for bound, band in INCOME_BOUNDS:
        if amount < bound:
            return band
    return choices.Income.OVER_50K


def children_of(label: str):
    key = _norm(label)
    if any(word in key for word in ("没有", "无小孩", "无子女", "无孩")) or key == "无":
        return choices.Children.NONE
    if "有" in key:
        if "不" in key or "偶尔" in key:
            return choices.Children.NOT_WITH_ME
        return choices.Children.WITH_ME
    return None


def housing_of(label: str):
    key = _norm(label)
    if "贷" in key or "按揭" in key:
        return choices.Housing.OWN_MORTGAGE
    if "租" in key:
        return choices.Housing.RENT
    if "父母" in key:
        return choices.Housing.WITH_PARENTS
    if ("购房" in key or "有房" in key) and not any(word in key for word in ("未", "没", "暂无", "无房")):
        return choices.Housing.OWN
    return choices.Housing.OTHER if key else None


def car_of(label: str):
    key = _norm(label)
    if any(word in key for word in ("未", "没", "无")):
        return False
    if "车" in key:
        return True
    return None


LABEL_MAPPERS = {
    "education": education_of,
    "marrystatus": marital_of,
    "salary": income_of,
    "childrenstatus": children_of,
    "housing": housing_of,
    "caring": car_of,
}


def parse_code_list(text: str) -> dict[int, str]:
    """`1#未婚|2#已婚|…` → {1: "未婚", 2: "已婚", …}; malformed pieces are ignored."""
    result = {}
    for piece in str(text or "").split("|"):
        code, _sep, label = piece.partition("#")
        if code.strip().isdigit() and label.strip():
            result[int(code)] = label.strip()
    return result


def read_code_lists(connection, prefix: str) -> dict[str, dict[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ptname, ptvalue FROM {table(prefix, 'love_paramter')}")  # noqa: S608 - names validated by table()
        return {str(name).strip(): parse_code_list(value) for name, value in cursor.fetchall_unbuffered()}


# --- Places by name -----------------------------------------------------------------------------

_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")


def _short(name: str) -> str:
    for suffix in _PROVINCE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _pick(name: str, options: list[tuple[str, str]]) -> str:
    for candidate in (name, f"{name}市", f"{name}区", f"{name}县"):
        for code, label in options:
            if label == candidate:
                return code
    starting = [code for code, label in options if len(name) >= 2 and label.startswith(name)]
    return starting[0] if len(starting) == 1 else ""


def resolve_area_chain(names: list[str]) -> tuple[str, str, str]:
    """[province name, city name, district name] (any prefix of it) → GB/T 2260 codes; "" where unknown."""
    province = city = district = ""
    if not names:
        return province, city, district
    by_short = {}
    for code, label in divisions.provinces():
        by_short.setdefault(label, code)
        by_short.setdefault(_short(label), code)
    province = by_short.get(names[0]) or by_short.get(_short(names[0]), "")
    if not province or len(names) < 2:
        return province, city, district
    cities = divisions.cities(province)
    city = _pick(names[1], cities)
    if not city:
        # A municipality's second level in OElove is a district (北京 › 朝阳区): find it under the pseudo-cities.
        for pseudo, _label in cities:
            found = _pick(names[1], divisions.districts(pseudo))
            if found:
                return province, pseudo, found
        return province, "", ""
    if len(names) >= 3:
        district = _pick(names[2], divisions.districts(city))
    return province, city, district


def read_areas(connection, prefix: str) -> dict[int, tuple[str, str, str] | None]:
    """{areaid → (province, city, district)} for every area of the site; None for names not recognised."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT areaid, rootid, areaname FROM {table(prefix, 'area')}")  # noqa: S608 - names validated by table()
        rows = {int(area_id): (int(root or 0), str(name or "").strip()) for area_id, root, name in cursor.fetchall()}
    resolved = {}
    for area_id in rows:
        chain, current, guard = [], area_id, 0
        while current in rows and guard < 5:
            parent, name = rows[current]
            chain.append(name)
            current, guard = parent, guard + 1
        codes = resolve_area_chain(list(reversed(chain)))
        depth_ok = codes[min(len(chain), 3) - 1] if chain else ""
        resolved[area_id] = codes if depth_ok else None
    return resolved


# --- Mapping one user ---------------------------------------------------------------------------


@dataclass
class MappedUser:
    userid: int
    skip_reason: str = ""
    member: dict = field(default_factory=dict)
    preference: dict | None = None
    status: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    row_hash: str = ""
    status_hash: str = ""
    login_time: int = 0

    @property
    def phone(self) -> str:
        return self.member.get("phone", "")

    @property
    def email(self) -> str:
        return self.member.get("email", "")


MEMBER_FIELDS = (
    "gender", "birth_date", "height_cm", "weight_kg", "education", "income", "marital_status", "children",
    "housing", "has_car", "residence_province", "residence_city", "residence_district", "self_intro", "phone",
    "email",
)  # fmt: skip
PREFERENCE_FIELDS = ("age_min", "age_max", "height_min", "height_max", "education_min", "marital_statuses",
                     "city_codes")  # fmt: skip
STATUS_FIELDS = ("username", "vip_level", "vip_start", "vip_end", "mobile_verified", "id_verified",
                 "video_verified", "login_count", "last_login_at", "profile_views", "registered_at")  # fmt: skip


def _digest(values) -> str:
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


def epoch(value) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=datetime.UTC)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.UTC)
    try:
        number = int(value or 0)
    except (TypeError, ValueError):
        return None
    return datetime.datetime.fromtimestamp(number, tz=datetime.UTC) if 0 < number < 4_102_444_800 else None


def money(value) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return None
    return amount.quantize(Decimal("0.01")) if amount.is_finite() and abs(amount) < 10**10 else None


def _int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _in_range(value, low: int, high: int) -> int | None:
    number = _int(value)
    return number if low <= number <= high else None


class ProfileMapper:
    """Maps joined profile rows with the site's own code lists and places, read once per run."""

    def __init__(self, code_lists: dict[str, dict[int, str]], areas: dict[int, tuple | None]):
        self.areas = areas
        # {list name: {code: mapped value, or the label itself (str) wrapped in a tuple when not understood}}
        self.codes: dict[str, dict[int, object]] = {}
        for name, mapper in LABEL_MAPPERS.items():
            self.codes[name] = {code: mapper(label) for code, label in code_lists.get(name, {}).items()}
        self.labels = code_lists
        self.today = timezone.localdate()

    def _code(self, name: str, raw, problems: list[str], *, what: str):
        code = _int(raw)
        if code == 0:
            return None
        mapped_codes = self.codes[name]
        if code not in mapped_codes:
            problems.append(_("%(what)s: code %(code)s is not in the site's list") % {"what": what, "code": code})
            return None
        value = mapped_codes[code]
        if value is None:
            label = self.labels.get(name, {}).get(code, "")
            problems.append(_("%(what)s: “%(label)s” has no equivalent") % {"what": what, "label": label})
        return value

    def _place(self, ids, problems: list[str]) -> tuple[str, str, str]:
        for raw in ids:
            area_id = _int(raw)
            if area_id and self.areas.get(area_id):
                return self.areas[area_id]
        if any(_int(area_id) for area_id in ids):
            problems.append(_("place: area ids %(ids)s are not known places") % {"ids": "/".join(map(str, ids))})
        return "", "", ""

    def map(self, row: tuple) -> MappedUser:
        (userid, username, email, gender, isblack, provinceid, cityid, distid, birthday, marrystatus, education,
         height, weight, salary, housing, caring, childrenstatus, monolog, startage, endage, startheight, endheight,
         marry, startedu, areas, viplevel, vipstart, vipend, regtime, logintime, logintimes, hits, rzmobile,
         rzidnumber, rzvideo) = row  # fmt: skip
        user = MappedUser(userid=int(userid))
        username = str(username or "").strip()
        if _int(isblack):
            user.skip_reason = _("blocked on the OElove site")
            return user
        phone = normalize_mobile(username)
        if not MOBILE_RE.match(phone):
            user.skip_reason = _("no mobile number: the user name “%(name)s” is not an 11-digit mobile number") % {
                "name": username[:40]
            }
            return user
        gender_value = {1: choices.Gender.MALE, 2: choices.Gender.FEMALE}.get(_int(gender))
        if gender_value is None:
            user.skip_reason = _("gender missing or unknown (%(value)s)") % {"value": gender}
            return user
        problems = user.problems
        birth_date = birthday if isinstance(birthday, datetime.date) else None
        if birthday and birth_date is None:
            problems.append(_("birthday: “%(value)s” is not a date") % {"value": birthday})
        elif birth_date and not (datetime.date(1900, 1, 1) <= birth_date <= self.today):
            problems.append(_("birthday: %(value)s is out of range") % {"value": birth_date})
            birth_date = None
        height_cm = _in_range(height, 120, 230)
        if height_cm is None and _int(height):
            problems.append(_("height: %(value)s cm is out of range") % {"value": height})
        weight_kg = _in_range(weight, 30, 200)
        if weight_kg is None and _int(weight):
            problems.append(_("weight: %(value)s kg is out of range") % {"value": weight})
        marital = self._code("marrystatus", marrystatus, problems, what=_("marital status"))
        children = self._code("childrenstatus", childrenstatus, problems, what=_("children"))
        if marital == choices.MaritalStatus.DIVORCED_NO_CHILDREN and children not in (None, choices.Children.NONE):
            marital = choices.MaritalStatus.DIVORCED_WITH_CHILDREN
        email = str(email or "").strip().lower()[:254]
        if email:
            try:
                _email_validator(email)
            except ValidationError:
                problems.append(_("email: “%(value)s” is not an email address") % {"value": email[:60]})
                email = ""
        province, city, district = self._place((distid, cityid, provinceid), problems)
        user.member = {
            "gender": gender_value,
            "birth_date": birth_date,
            "height_cm": height_cm,
            "weight_kg": weight_kg,
            "education": self._code("education", education, problems, what=_("education")),
            "income": self._code("salary", salary, problems, what=_("income")),
            "marital_status": marital or "",
            "children": children or "",
            "housing": self._code("housing", housing, problems, what=_("housing")) or "",
            "has_car": self._code("caring", caring, problems, what=_("car")),
            "residence_province": province,
            "residence_city": city,
            "residence_district": district,
            "self_intro": str(monolog or "").strip(),
            "phone": phone,
            "email": email,
        }
        user.preference = self._preference(startage, endage, startheight, endheight, marry, startedu, areas)
        user.status = {
            "username": username[:100],
            "vip_level": _in_range(viplevel, 0, 255) or 0,
            "vip_start": epoch(vipstart),
            "vip_end": epoch(vipend),
            "mobile_verified": bool(_int(rzmobile)),
            "id_verified": bool(_int(rzidnumber)),
            "video_verified": bool(_int(rzvideo)),
            "login_count": max(0, _int(logintimes)),
            "last_login_at": epoch(logintime),
            "profile_views": max(0, _int(hits)),
            "registered_at": epoch(regtime),
        }
        user.login_time = _int(logintime)
        user.row_hash = _digest(
            ([user.member[name] for name in MEMBER_FIELDS], username,
             None if user.preference is None else [user.preference[name] for name in PREFERENCE_FIELDS])
        )  # fmt: skip
        user.status_hash = _digest([user.status[name] for name in STATUS_FIELDS])
        return user

    def _preference(self, *cond) -> dict | None:
        startage, endage, startheight, endheight, marry, startedu, areas = cond
        age_min, age_max = _in_range(startage, 18, 99), _in_range(endage, 18, 99)
        if age_min and age_max and age_min > age_max:
            age_min = age_max = None
        height_min, height_max = _in_range(startheight, 120, 230), _in_range(endheight, 120, 230)
        if height_min and height_max and height_min > height_max:
            height_min = height_max = None
        statuses = []
        for code in re.findall(r"\d+", str(marry or "")):
            value = self.codes["marrystatus"].get(int(code))
            if value == choices.MaritalStatus.DIVORCED_NO_CHILDREN:
                statuses += [value, choices.MaritalStatus.DIVORCED_WITH_CHILDREN]
            elif value:
                statuses.append(value)
        cities = []
        for area_id in re.findall(r"\d+", str(areas or "")):
            codes = self.areas.get(int(area_id))
            if codes and codes[1] and codes[1] not in cities:
                cities.append(codes[1])
        education_min = self.codes["education"].get(_int(startedu)) if _int(startedu) else None
        preference = {
            "age_min": age_min, "age_max": age_max, "height_min": height_min, "height_max": height_max,
            "education_min": education_min, "marital_statuses": sorted(set(statuses)), "city_codes": sorted(cities),
        }  # fmt: skip
        return preference if any(preference.values()) else None
