"""Generated OElove site data: the tables of oelove_schema.sql filled with realistic rows.

`create_schema(conn)` (re)creates the tables; `generate(conn, users=…, activity=…, dirty=…)` fills
them through LOAD DATA LOCAL INFILE (the connection needs local_infile=True), fast enough for the
bench's 100,000 users and 1,000,000 activity rows. Knobs: `dirty` (share of users made dirty, split
evenly between the kinds in DIRTY_KINDS) or `dirty_kinds={kind: share}`; `seed` for repeatable data.
The result tells which user ids were made dirty and how, so tests can expect the skips.
"""

import datetime
import os
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = Path(__file__).with_name("oelove_schema.sql")
TABLES = ("user", "user_profile", "user_params", "user_status", "user_cond", "user_validate", "user_viprecord",
          "payment_log", "message", "home_viewer", "hibox", "area", "love_paramter")  # fmt: skip
DIRTY_KINDS = ("zero_date", "unknown_code", "bad_username", "duplicate_phone", "duplicate_email", "blocked")

CODE_LISTS = {
    "education": "1#中专以下|2#高中/中专|3#大专|4#本科|5#硕士|6#博士|7#博士后",
    "marrystatus": "1#未婚|2#已婚|3#离异|4#丧偶",
    "salary": "1#2000元以下|2#2000～5000元|3#5000～10000元|4#10000～20000元|5#20000元以上",
    "childrenstatus": "1#没有小孩|2#有小孩且住在一起|3#有小孩偶尔会住在一起|4#有小孩但不住在一起",
    "housing": "1#已购房|2#租房|3#和父母同住|4#单位宿舍|5#已购房有贷款",
    "caring": "1#已购车|2#未购车",
}
# (areaid, rootid, depth, name): provinces, their cities, some districts; 北京's districts hang on it directly.
AREAS = [
    (1, 0, 1, "浙江"), (2, 0, 1, "广东"), (3, 0, 1, "北京"), (4, 0, 1, "四川"),
    (101, 1, 2, "杭州"), (102, 1, 2, "宁波"), (201, 2, 2, "广州"), (202, 2, 2, "深圳"), (301, 3, 2, "朝阳区"),
    (302, 3, 2, "海淀区"), (401, 4, 2, "成都"),
    (10101, 101, 3, "西湖区"), (10102, 101, 3, "上城区"), (10201, 102, 3, "海曙区"), (20101, 201, 3, "天河区"),
    (20201, 202, 3, "南山区"), (40101, 401, 3, "武侯区"),
    (9, 0, 1, "火星"),  # a name no division has
]  # fmt: skip
# A user lives in a district, a city or a municipality's district: (provinceid, cityid, distid).
PLACES = [(1, 101, 10101), (1, 101, 10102), (1, 102, 10201), (2, 201, 20101), (2, 202, 20201), (3, 301, 0),
          (3, 302, 0), (4, 401, 40101), (1, 101, 0), (2, 0, 0)]  # fmt: skip
INTRO = ["喜欢旅行和读书", "工作稳定，性格开朗", "希望找到真诚的另一半", "爱好运动，周末常去爬山", "热爱生活，会做饭"]
NOW = int(datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC).timestamp())
DAY = 86_400


@dataclass
class Generated:
    users: int = 0
    userids: list[int] = field(default_factory=list)
    dirty: dict[str, set[int]] = field(default_factory=dict)
    activity: dict[str, int] = field(default_factory=dict)

    @property
    def clean_userids(self) -> list[int]:
        dirty = set().union(*self.dirty.values()) if self.dirty else set()
        return [userid for userid in self.userids if userid not in dirty]

    @property
    def activity_rows(self) -> int:
        return sum(self.activity.values())


def create_schema(conn, prefix: str = "oepre_", *, only: tuple[str, ...] | None = None) -> None:
    """Drop and create the OElove tables (those named in `only`, else all)."""
    statements = [part.strip() for part in SCHEMA.read_text(encoding="utf-8").split(";") if part.strip()]
    with conn.cursor() as cursor:
        for statement in statements:
            body = "\n".join(line for line in statement.splitlines() if not line.startswith("--")).strip()
            name = body.split("`")[1].removeprefix("oepre_")
            if only is not None and name not in only:
                continue
            cursor.execute(f"DROP TABLE IF EXISTS `{prefix}{name}`")
            cursor.execute(body.replace("`oepre_", f"`{prefix}"))


def _mobile(rng: random.Random, used: set[str]) -> str:
    while True:
        phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        if phone not in used:
            used.add(phone)
            return phone


def _tsv(value) -> str:
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


class _Loader:
    """Rows written to one temporary TSV file per table, then loaded with LOAD DATA LOCAL INFILE."""

    def __init__(self, conn, prefix: str):
        self.conn, self.prefix = conn, prefix
        self.folder = tempfile.mkdtemp(prefix="oelove-")
        self.files: dict[str, tuple] = {}

    def add(self, table: str, columns: tuple[str, ...], row: tuple) -> None:
        if table not in self.files:
            path = os.path.join(self.folder, f"{table}.tsv")
            self.files[table] = (columns, path, open(path, "w", encoding="utf-8"))  # noqa: SIM115
        self.files[table][2].write("\t".join(_tsv(value) for value in row) + "\n")

    def load(self) -> None:
        with self.conn.cursor() as cursor:
            cursor.execute("SET SESSION sql_mode = ''")  # OElove's own zero dates
            for table, (columns, path, handle) in self.files.items():
                handle.close()
                cursor.execute(
                    f"LOAD DATA LOCAL INFILE %s INTO TABLE `{self.prefix}{table}` CHARACTER SET utf8mb4"
                    f" FIELDS TERMINATED BY '\\t' ({', '.join(columns)})",
                    [path],
                )
                os.unlink(path)
        os.rmdir(self.folder)


def generate(
    conn,
    *,
    users: int = 50,
    activity: int = 500,
    dirty: float = 0.0,
    dirty_kinds: dict | None = None,
    seed: int = 1,
    prefix: str = "oepre_",
    first_userid: int = 1000,
    code_lists: bool = True,
    start_time: int = NOW - 365 * DAY,
    end_time: int = NOW,
) -> Generated:
    """Add `users` users (ids from `first_userid`, with gaps) and `activity` activity rows between them."""
    rng = random.Random(seed)  # noqa: S311 - repeatable test data, not secrets
    kinds = dirty_kinds if dirty_kinds is not None else {kind: dirty / len(DIRTY_KINDS) for kind in DIRTY_KINDS}
    result = Generated(users=users, dirty={kind: set() for kind in DIRTY_KINDS})
    loader = _Loader(conn, prefix)
    if code_lists:
        for index, (name, value) in enumerate(CODE_LISTS.items(), start=1):
            loader.add("love_paramter", ("ptid", "ptname", "ptvalue"), (index, name, value))
        for row in AREAS:
            loader.add("area", ("areaid", "rootid", "depth", "areaname"), row)
    phones: set[str] = set()
    clean_phones, clean_emails = [], []
    userid = first_userid
    for index in range(users):
        userid += rng.choice((1, 1, 1, 2, 7))  # application-assigned ids: gaps happen
        result.userids.append(userid)
        roll, kind, acc = rng.random(), None, 0.0
        for name, share in kinds.items():
            acc += share
            if roll < acc:
                kind = name
                break
        if (kind == "duplicate_phone" and not clean_phones) or (kind == "duplicate_email" and not clean_emails):
            kind = None
        if kind:
            result.dirty[kind].add(userid)
        phone = rng.choice(clean_phones) if kind == "duplicate_phone" else _mobile(rng, phones)
        username = f"lover_{userid}" if kind == "bad_username" else phone
        email = rng.choice(clean_emails) if kind == "duplicate_email" else (
            f"u{userid}@example.com" if rng.random() < 0.7 else "")  # fmt: skip
        if kind is None:
            clean_phones.append(phone)
            if email:
                clean_emails.append(email)
        gender = 1 + index % 2
        birthday = "0000-00-00" if kind == "zero_date" else (
            datetime.date(1970, 1, 1) + datetime.timedelta(days=rng.randrange(30 * 365))).isoformat()  # fmt: skip
        province, city, district = rng.choice(PLACES)
        education = 9 if kind == "unknown_code" else rng.randint(1, 7)
        marry = rng.choice((1, 1, 1, 3, 4))
        children = 1 if marry == 1 else rng.randint(1, 4)
        loader.add(
            "user",
            ("userid", "username", "email", "gender", "groupid", "isblack"),
            (userid, username, email, gender, 1, 1 if kind == "blocked" else 0),
        )
        loader.add("user_profile", ("userid", "provinceid", "cityid", "distid", "birthday", "ageyear", "marrystatus",
                                    "education", "height", "weight", "salary", "housing", "caring",
                                    "childrenstatus", "monolog"),
                   (userid, province, city, district, birthday, int(birthday[:4]), marry, education,
                    rng.randint(150, 190), rng.randint(45, 90), rng.randint(1, 5), rng.randint(1, 5),
                    rng.randint(1, 2), children, rng.choice(INTRO)))  # fmt: skip
        regtime = rng.randrange(start_time, end_time)
        loader.add("user_status", ("userid", "regtime", "logintime", "logintimes", "hits", "rzmobile", "rzidnumber",
                                   "rzvideo"),
                   (userid, regtime, rng.randrange(regtime, end_time + 1), rng.randint(1, 300), rng.randint(0, 999),
                    rng.randint(0, 1), rng.randint(0, 1), 0))  # fmt: skip
        start_age = rng.randint(22, 35)
        loader.add("user_cond", ("userid", "gender", "startage", "endage", "startheight", "endheight", "marry",
                                 "startedu", "areas"),
                   (userid, 3 - gender, start_age, start_age + rng.randint(3, 10), rng.choice((0, 155, 160, 170)),
                    rng.choice((0, 180, 185)), rng.choice(("", "1", "1,3", "1,3,4")), rng.choice((0, 3, 4)),
                    rng.choice(("", "101", "101,202", "301"))))  # fmt: skip
        vip = rng.choice((0, 0, 0, 1, 2))
        loader.add(
            "user_validate",
            ("userid", "viplevel", "vipstartdate", "vipenddate"),
            (userid, vip, regtime if vip else 0, regtime + 180 * DAY if vip else 0),
        )
        loader.add("user_params", ("userid", "gender", "rzmobile", "addtime"), (userid, gender, 1, regtime))
    _activity(loader, rng, result, activity, start_time=start_time, end_time=end_time)
    loader.load()
    return result


ACTIVITY_SHARES = (("message", 0.40), ("home_viewer", 0.35), ("hibox", 0.15), ("payment_log", 0.05),
                   ("user_viprecord", 0.05))  # fmt: skip


def _activity(loader, rng, result: Generated, total: int, *, start_time: int, end_time: int, id_base: int = 0):
    userids = result.userids
    if not userids or not total:
        return
    for table, share in ACTIVITY_SHARES:
        count = int(total * share) if table != "user_viprecord" else total - sum(result.activity.values())
        result.activity[table] = count
        ids = rng.sample(range(id_base + 1, id_base + 1 + count * 3), count)  # ids not in time order
        for source_id in ids:
            at = rng.randrange(start_time, end_time)
            first, second = rng.choice(userids), rng.choice(userids)
            if table == "message":
                loader.add(
                    table,
                    ("msgid", "fromuserid", "touserid", "content", "sendtime", "readflag", "issystem"),
                    (source_id, first, second, "你好", at, rng.randint(0, 1), 0),
                )
            elif table == "home_viewer":
                loader.add(table, ("viewid", "homeuserid", "viewuserid", "viewtime"), (source_id, first, second, at))
            elif table == "hibox":
                loader.add(table, ("hiid", "fromuserid", "touserid", "sendtime"), (source_id, first, second, at))
            elif table == "payment_log":
                amount = rng.choice((99, 199, 365, 999))
                loader.add(
                    table,
                    ("paynum", "userid", "addtime", "amount", "realamount", "paystatus", "paytype"),
                    (f"P{source_id:010d}", first, at, amount, amount, 1, "alipay"),
                )
            else:
                loader.add(
                    table,
                    ("id", "userid", "viplevel", "startdate", "enddate", "money", "dateline"),
                    (source_id, first, rng.randint(1, 3), at, at + 180 * DAY, 199, at),
                )


def add_activity(
    conn,
    generated: Generated,
    *,
    activity: int,
    seed: int = 2,
    prefix: str = "oepre_",
    start_time: int,
    end_time: int,
    id_base: int,
) -> dict[str, int]:
    """More activity rows between the generated users (ids from id_base + 1); returns rows per table."""
    rng = random.Random(seed)  # noqa: S311 - repeatable test data, not secrets
    extra = Generated(userids=generated.userids)
    loader = _Loader(conn, prefix)
    _activity(loader, rng, extra, activity, start_time=start_time, end_time=end_time, id_base=id_base)
    loader.load()
    return extra.activity
