"""Fill an agency with realistic synthetic members, fast: `seed_members --agency SLUG --count N`.

Rows are generated in Python and streamed into PostgreSQL with COPY (members, then partner
preferences), so 200,000 members take well under two minutes. Member numbers come from one block
allocation on the agency's member counter, phones from the same counter (unique per agency), ids
from the table's own sequence. Everything random comes from one generator seeded by --seed, so the
same seed on the same starting state gives the same members (dates relative to the day it runs).
"""

import datetime
import os
import random
import time
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone, translation

from apps.agencies.context import agency_context
from apps.agencies.models import Agency, AgencySequence
from apps.agencies.services import agency_create
from apps.core import seeding
from apps.matchmakers.models import Role, User
from apps.matchmakers.permissions import DEFAULT_ROLES
from apps.members import choices, divisions
from apps.members.bench import owner_pools
from apps.members.models import Member, PartnerPreference, Tag
from apps.members.services import DEFAULT_TAGS

# Bench matchmakers created when the agency has no staff yet: (default role key, how many).
BENCH_STAFF = [("admin", 1), ("manager", 2), ("presale", 12), ("aftersale", 6), ("finance", 1)]

# The dozen cities most members live in (display names as apps.members.divisions gives them) and
# their weights; the rest live in any other city of the country.
BIG_CITIES = {
    "北京市": 12, "上海市": 12, "深圳市": 9, "广州市": 8, "杭州市": 8, "成都市": 7,
    "重庆市": 6, "武汉市": 6, "南京市": 6, "西安市": 5, "苏州市": 5, "天津市": 4,
}  # fmt: skip
OTHER_CITY_SHARE = 0.12

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = {
    "male": "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳晨博文峰毅昊然轩睿哲志国建",
    "female": "芳娜敏静丽艳娟霞秀婷雪琳晶颖慧倩欣怡佳悦琪璐瑶婧媛萍玲蕾薇雯彤诗梦雅洁晓馨露月丹",
}
ETHNICITIES = [("汉族", 900), ("", 40), ("满族", 12), ("回族", 10), ("壮族", 10), ("苗族", 6), ("土家族", 6),
               ("蒙古族", 5), ("朝鲜族", 4), ("彝族", 4), ("藏族", 3)]  # fmt: skip
# Industries with their occupations; "skilled" ones are where graduates mostly work.
SKILLED_INDUSTRIES = {
    "互联网/IT": ["软件工程师", "产品经理", "测试工程师", "运维工程师", "数据分析师", "UI设计师"],
    "金融": ["银行职员", "理财顾问", "会计", "风控专员", "投资经理"],
    "教育": ["中学教师", "小学教师", "大学讲师", "培训讲师"],
    "医疗卫生": ["医生", "护士", "药剂师"],
    "政府机关/事业单位": ["公务员", "事业单位职员"],
    "法律": ["律师", "法务专员"],
    "咨询": ["咨询顾问", "人力资源专员"],
    "文化传媒": ["编辑", "记者", "平面设计师"],
    "房地产/建筑": ["建筑师", "项目经理", "造价工程师"],
}
OTHER_INDUSTRIES = {
    "制造业": ["技术员", "生产主管", "质检员", "机械工程师"],
    "零售/贸易": ["店长", "销售经理", "采购专员", "外贸业务员"],
    "物流": ["物流主管", "调度员"],
    "餐饮/服务": ["厨师", "店主", "客服专员"],
    "自由职业": ["自由职业者", "个体经营者", "电商店主"],
}
INTRO_PHRASES = [
    "性格开朗，喜欢旅行和美食。", "工作稳定，生活规律，周末喜欢运动。",
    "为人踏实，孝顺父母，希望找到志同道合的另一半。", "喜欢看书、听音乐，偶尔下厨。",
    "有上进心，注重家庭。", "性格温和，比较顾家。", "喜欢户外活动，爬山、骑行都可以。",
    "希望对方真诚善良，三观一致。", "平时喜欢看电影，养了一只猫。", "认真对待感情，以结婚为目的。",
]  # fmt: skip
PAST_RELATIONSHIPS = ["有过一段三年的感情。", "谈过两次恋爱。", "大学时有过一段恋爱。"]
PREFERENCE_NOTES = ["", "", "", "", "希望对方有稳定工作。", "希望对方性格温和。", "最好是本地人。", "不抽烟。"]
EMAIL_DOMAINS = [
    ("qq.com", 50), ("163.com", 25), ("126.com", 10), ("gmail.com", 5), ("outlook.com", 5), ("sina.com", 5),
]  # fmt: skip
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156",
                   "157", "158", "159", "166", "176", "177", "180", "181", "182", "183", "185", "186", "187", "188",
                   "189", "191", "198", "199"]  # fmt: skip
HANDLE_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"

UNASSIGNED_LEAD_SHARE = 0.3

# Lifecycle: (status, weight, service status when in service, share with an after-sale owner)
STATUSES = [
    ("lead", 38, "none", 0.0),
    ("following", 30, "none", 0.0),
    ("signed", 8, "none", 0.7),
    ("in_service", 13, "active", 1.0),
    ("paused", 3, "paused", 1.0),
    ("success", 3, "finished", 1.0),
    ("abandoned", 5, "none", 0.1),
]
SOURCES = [("site_registration", 35), ("consultation", 25), ("manual", 25), ("oelove", 8), ("import", 7)]
FOLLOWUPS = {"lead": (0, 2), "following": (1, 12), "signed": (3, 15), "in_service": (5, 30),
             "paused": (5, 25), "success": (8, 40), "abandoned": (0, 6)}  # fmt: skip
WITH_ID_NUMBER = {"signed", "in_service", "paused", "success"}
EDUCATION_WEIGHTS = [3, 12, 25, 42, 15, 3]  # junior high … doctorate
HOUSING = ["own", "own_mortgage", "rent", "with_parents", "other"]
HOUSING_WEIGHTS = {"settled": [30, 45, 15, 8, 2], "young": [8, 22, 40, 27, 3]}
HABITS = ["never", "sometimes", "often", ""]
SMOKING_WEIGHTS = {True: [55, 25, 12, 8], False: [85, 6, 1, 8]}  # by "is male"
DRINKING_WEIGHTS = {True: [30, 52, 10, 8], False: [55, 35, 2, 8]}
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
# Members registered over the last three years, more of them recently.
HISTORY_DAYS = 3 * 365

MEMBER_COLUMNS = (
    "id", "agency_id", "member_no", "name", "gender", "birth_date", "height_cm", "weight_kg", "education",
    "occupation", "industry", "income", "marital_status", "children", "housing", "has_car", "native_province",
    "native_city", "residence_province", "residence_city", "residence_district", "ethnicity", "smoking", "drinking",
    "self_intro", "past_relationships", "phone", "wechat", "email", "id_number", "tag_ids", "status",
    "service_status", "source", "presale_owner_id", "aftersale_owner_id", "created_by_id", "followup_count",
    "last_followup_at", "created_at", "updated_at",
)  # fmt: skip
PREFERENCE_COLUMNS = (
    "agency_id", "member_id", "age_min", "age_max", "height_min", "height_max", "education_min", "income_min",
    "marital_statuses", "city_codes", "must_tag_ids", "nice_tag_ids", "accepts_children", "notes", "updated_at",
)  # fmt: skip


def _cumulative(weighted):
    """(values, cumulative weights) for random.choices(values, cum_weights=…)."""
    values, cum, total = [], [], 0
    for value, weight in weighted:
        total += weight
        values.append(value)
        cum.append(total)
    return values, cum


@dataclass
class Places:
    big: list  # [(province, city)]
    big_cum: list
    other: list  # [(province, city)]
    districts: dict = field(default_factory=dict)  # city -> [district codes]

    @classmethod
    def load(cls) -> "Places":
        by_name, other = {}, []
        for province, _name in divisions.provinces():
            for city, city_name in divisions.cities(province):
                if city_name in BIG_CITIES and city_name not in by_name:
                    by_name[city_name] = (province, city)
                else:
                    other.append((province, city))
        missing = sorted(set(BIG_CITIES) - set(by_name))
        if missing:
            raise CommandError(f"cities missing from the divisions data: {', '.join(missing)}")
        big, cum = _cumulative((by_name[name], weight) for name, weight in BIG_CITIES.items())
        places = cls(big=big, big_cum=cum, other=other)
        for _province, city in [*big, *other]:
            places.districts[city] = [code for code, _name in divisions.districts(city)]
        return places

    def pick(self, rng: random.Random) -> tuple[str, str]:
        if rng.random() < OTHER_CITY_SHARE:
            return rng.choice(self.other)
        return rng.choices(self.big, cum_weights=self.big_cum)[0]


@dataclass
class TagPools:
    hard: dict  # predicate key -> tag id, for the default hard tags the agency still has
    hard_ids: list  # every tag of the hard kind (for must-have preferences)
    soft_ids: list  # every other tag

    @classmethod
    def load(cls, agency) -> "TagPools":
        keys = ["home", "car", "non_smoker", "non_drinker", "civil_servant"]
        names = {}
        for language in ("zh-hans", "en"):
            with translation.override(language):
                names.update({str(name): key for name, key in zip(DEFAULT_TAGS["hard"], keys, strict=True)})
        hard, hard_ids, soft_ids = {}, [], []
        for tag in Tag.unscoped.filter(agency=agency).order_by("pk"):
            key = names.get(tag.name)
            if key is not None:
                hard[key] = tag.pk
            if tag.kind == choices.TagKind.HARD:
                hard_ids.append(tag.pk)
            if key is None:
                soft_ids.append(tag.pk)
        return cls(hard=hard, hard_ids=hard_ids, soft_ids=soft_ids)


class Generator:
    """Makes one member row (and maybe a preference row) at a time from a seeded generator."""

    def __init__(self, *, rng, agency, places, tags, presale, aftersale, now):
        self.rng = rng
        self.agency_id = agency.pk
        self.places = places
        self.tags = tags
        self.now = now
        self.today = timezone.localdate(now)
        # Some matchmakers carry many more members than others.
        self.presale = _cumulative((user.pk, rng.lognormvariate(0, 0.4)) for user in presale)
        self.aftersale = _cumulative((user.pk, rng.lognormvariate(0, 0.4)) for user in aftersale)
        self.statuses = _cumulative((spec, spec[1]) for spec in STATUSES)
        self.sources = _cumulative(SOURCES)
        self.ethnicities = _cumulative(ETHNICITIES)
        self.email_domains = _cumulative(EMAIL_DOMAINS)
        self.surnames = _cumulative((surname, 1 / (rank + 8)) for rank, surname in enumerate(SURNAMES))
        self.skilled = list(SKILLED_INDUSTRIES.items())
        self.unskilled = list(OTHER_INDUSTRIES.items())
        self.id_field = Member._meta.get_field("id_number")

    def pick(self, cumulative):
        """One value of a (values, cumulative weights) pair."""
        return self.rng.choices(cumulative[0], cum_weights=cumulative[1])[0]

    # --- pieces -----------------------------------------------------------------------------

    def age(self) -> int:
        rng = self.rng
        if rng.random() < 0.78:  # the core of the clientele: late twenties to late thirties
            return min(55, max(22, round(rng.gauss(31.5, 4.2))))
        return rng.randint(22, 55)

    def birth_date(self, age: int) -> datetime.date:
        # A birthday between `age` and `age + 1` years ago.
        days = int(age * 365.25) + self.rng.randint(0, 364)
        return self.today - datetime.timedelta(days=days)

    def name(self, gender: str) -> str:
        rng = self.rng
        pool = GIVEN[gender]
        given = rng.choice(pool) if rng.random() < 0.3 else rng.choice(pool) + rng.choice(pool)
        return self.pick(self.surnames) + given

    def body(self, male: bool) -> tuple[int, int]:
        """Height (normal by gender) and weight (from a normal BMI)."""
        rng = self.rng
        height = min(200, max(145, round(rng.gauss(172.5, 6.2) if male else rng.gauss(160.5, 5.4))))
        bmi = rng.gauss(23.0, 2.6) if male else rng.gauss(20.8, 2.3)
        return height, min(150, max(38, round(bmi * (height / 100) ** 2)))

    def career(self, age: int, male: bool) -> tuple[int, int, str, str]:
        """Education, income (rising with education and age), industry and occupation."""
        rng = self.rng
        education = rng.choices(range(1, 7), weights=EDUCATION_WEIGHTS)[0]
        base = 1.6 + 0.75 * education + 0.06 * min(age - 22, 15) + (0.4 if male else 0)
        income = min(8, max(1, round(rng.gauss(base, 1.0))))
        industry, jobs = rng.choice(self.skilled if rng.random() < 0.1 + 0.2 * education else self.unskilled)
        return education, income, industry, rng.choice(jobs)

    def marital(self, age: int) -> tuple[str, str]:
        rng = self.rng
        # Mostly never married; divorce and widowhood grow with age.
        p_divorced = 0.03 + max(0, age - 28) * 0.018
        roll = rng.random()
        if roll < p_divorced * 0.55:
            return "divorced", "none"
        if roll < p_divorced:
            return "divorced_children", rng.choice(["with_me", "with_me", "not_with_me"])
        if age > 40 and roll < p_divorced + 0.03:
            return "widowed", rng.choice(["none", "with_me", "not_with_me"])
        return "never_married", "none"

    def assets(self, age: int, income: int) -> tuple[str, bool | None]:
        """Housing and car, both likelier with income and age."""
        rng = self.rng
        weights = HOUSING_WEIGHTS["settled" if income >= 6 or age >= 33 else "young"]
        housing = rng.choices(HOUSING, weights=weights)[0]
        has_car = None if rng.random() < 0.1 else rng.random() < 0.08 + 0.09 * income
        return housing, has_car

    def locations(self) -> tuple[str, str, str, str, str]:
        """Native province and city; residence province, city and (mostly) district."""
        rng, places = self.rng, self.places
        res_province, res_city = places.pick(rng)
        district_codes = places.districts[res_city]
        res_district = rng.choice(district_codes) if district_codes and rng.random() < 0.8 else ""
        if rng.random() < 0.55:
            native = res_province, res_city
        else:
            native = places.pick(rng) if rng.random() < 0.5 else rng.choice(places.other)
        return *native, res_province, res_city, res_district

    def habits(self, male: bool) -> tuple[str, str]:
        rng = self.rng
        smoking = rng.choices(HABITS, weights=SMOKING_WEIGHTS[male])[0]
        return smoking, rng.choices(HABITS, weights=DRINKING_WEIGHTS[male])[0]

    def lifecycle(self, created: datetime.datetime) -> tuple:
        """Status, service status, source, owners, follow-ups and the last update."""
        rng = self.rng
        status, _weight, service_status, aftersale_share = self.pick(self.statuses)
        if status == "signed" and rng.random() < 0.15:
            service_status = "active"
        elif status == "abandoned" and rng.random() < 0.08:
            service_status = "expired"
        presale_owner = self.pick(self.presale)
        if status == "lead" and rng.random() < UNASSIGNED_LEAD_SHARE:
            presale_owner = None  # fresh leads nobody follows yet: the unassigned pool
        if status == "abandoned":
            presale_owner = None  # abandoned leads wait in their pool for someone else to try
        aftersale_owner = self.pick(self.aftersale) if rng.random() < aftersale_share else None
        low, high = FOLLOWUPS[status]
        followups = rng.randint(low, high)
        last_followup = created + (self.now - created) * rng.random() ** 0.3 if followups else None
        updated = created + (self.now - created) * rng.random() ** 0.5
        source = self.pick(self.sources)
        return status, service_status, source, presale_owner, aftersale_owner, followups, last_followup, updated

    def wechat_handle(self) -> str:
        rng = self.rng
        return rng.choice(HANDLE_CHARS[:26]) + "".join(rng.choices(HANDLE_CHARS, k=rng.randint(5, 11)))

    def contact(self, phone: str) -> tuple[str, str]:
        """WeChat (a handle, or the phone number) and email, both often missing."""
        rng = self.rng
        roll = rng.random()
        wechat = self.wechat_handle() if roll < 0.6 else (phone if roll < 0.75 else "")
        if rng.random() >= 0.25:
            return wechat, ""
        domain = self.pick(self.email_domains)
        local = phone if domain == "qq.com" and rng.random() < 0.3 else self.wechat_handle()
        return wechat, f"{local}@{domain}"

    def id_number(self, native_city: str, birth: datetime.date, gender: str) -> str:
        """A well-formed 18-character ID number (district of origin, birth date, serial, check), encrypted."""
        rng = self.rng
        district = rng.choice(self.places.districts.get(native_city) or [native_city + "01"])
        serial = rng.randrange(0, 500) * 2 + (1 if gender == "male" else 0)
        body = f"{district:0<6}"[:6] + birth.strftime("%Y%m%d") + f"{serial:03d}"
        check = ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]
        return self.id_field.get_db_prep_save(body + check, connection)

    def created_at(self) -> datetime.datetime:
        # More members registered recently: an agency that grows.
        days = HISTORY_DAYS * self.rng.random() ** 1.35
        return self.now - datetime.timedelta(days=days, seconds=self.rng.randint(0, 86399))

    def member_tags(self, housing, has_car, smoking, drinking, occupation) -> list[int]:
        """Hard-condition tags that agree with the profile, and a few soft ones."""
        rng, hard = self.rng, self.tags.hard
        facts = {
            "home": (housing in ("own", "own_mortgage"), 0.7),
            "car": (bool(has_car), 0.7),
            "non_smoker": (smoking == "never", 0.5),
            "non_drinker": (drinking == "never", 0.5),
            "civil_servant": (occupation == "公务员", 0.9),
        }
        chosen = [hard[key] for key, (holds, share) in facts.items() if key in hard and holds and rng.random() < share]
        soft = self.tags.soft_ids
        if soft:
            count = rng.choices(range(6), weights=[10, 20, 30, 25, 10, 5])[0]
            chosen.extend(rng.sample(soft, min(count, len(soft))))
        return sorted(chosen)

    # --- rows -------------------------------------------------------------------------------

    def member(self, member_id: int, number: int, phone: str, created: datetime.datetime) -> tuple[tuple, dict]:
        """The COPY row of one member (MEMBER_COLUMNS), and what its preferences need to know."""
        rng = self.rng
        gender = "female" if rng.random() < 0.55 else "male"
        male = gender == "male"
        age = self.age()
        birth = self.birth_date(age)
        height, weight = self.body(male)
        education, income, industry, occupation = self.career(age, male)
        marital_status, children = self.marital(age)
        housing, has_car = self.assets(age, income)
        nat_province, nat_city, res_province, res_city, res_district = self.locations()
        smoking, drinking = self.habits(male)
        status, service_status, source, presale, aftersale, followups, last_followup, updated = self.lifecycle(created)
        tag_ids = self.member_tags(housing, has_car, smoking, drinking, occupation)
        id_number = self.id_number(nat_city, birth, gender) if status in WITH_ID_NUMBER else ""
        wechat, email = self.contact(phone)
        intro = "" if rng.random() < 0.35 else "".join(rng.sample(INTRO_PHRASES, rng.randint(1, 3)))
        past = rng.choice(PAST_RELATIONSHIPS) if rng.random() < 0.1 else ""
        row = (
            member_id, self.agency_id, f"M{number:06d}", self.name(gender), gender, birth, height, weight, education,
            occupation, industry, income, marital_status, children, housing, has_car, nat_province, nat_city,
            res_province, res_city, res_district, self.pick(self.ethnicities), smoking, drinking, intro, past, phone,
            wechat, email, id_number, tag_ids, status, service_status, source, presale, aftersale, presale,
            followups, last_followup, created, updated,
        )  # fmt: skip
        facts = {
            "gender": gender, "age": age, "height": height, "education": education, "income": income,
            "marital": marital_status, "city": res_city, "updated": updated,
        }  # fmt: skip
        return row, facts

    def preference(self, member_id: int, facts: dict) -> tuple | None:
        """Partner preferences (PREFERENCE_COLUMNS) for most members; None for the others."""
        rng = self.rng
        if rng.random() >= 0.85:
            return None
        male = facts["gender"] == "male"
        age_min, age_max = self.wanted_ages(facts["age"], male)
        height_min, height_max = self.wanted_heights(facts["height"], male)
        education = facts["education"]
        education_min = rng.choice([None, max(1, education - 1), education]) if rng.random() < 0.75 else None
        income_min = None
        if not male and rng.random() < 0.5:
            income_min = max(1, min(8, facts["income"] + rng.randint(-1, 1)))
        elif male and rng.random() < 0.1:
            income_min = rng.randint(1, 3)
        if facts["marital"] == "never_married":
            marital_statuses = ["never_married"] if rng.random() < 0.7 else []
        else:
            marital_statuses = [] if rng.random() < 0.6 else ["never_married", "divorced", "divorced_children"]
        roll = rng.random()
        city_codes = [facts["city"]] if roll < 0.35 else []
        if 0.35 <= roll < 0.45:
            city_codes = sorted({facts["city"], self.places.pick(rng)[1]})
        must = [rng.choice(self.tags.hard_ids)] if self.tags.hard_ids and rng.random() < 0.2 else []
        soft = self.tags.soft_ids
        nice = sorted(rng.sample(soft, min(len(soft), rng.randint(1, 3)))) if soft and rng.random() < 0.5 else []
        accepts_children = facts["marital"] != "never_married" or rng.random() < 0.35
        return (
            self.agency_id, member_id, age_min, age_max, height_min, height_max, education_min, income_min,
            marital_statuses, city_codes, must, nice, accepts_children, rng.choice(PREFERENCE_NOTES), facts["updated"],
        )  # fmt: skip

    def wanted_ages(self, age: int, male: bool) -> tuple[int | None, int | None]:
        """A range around the member's own age: men tend to look younger, women older."""
        rng = self.rng
        if rng.random() < 0.1:
            return None, None
        if male:
            low, high = age - rng.randint(3, 9), age + rng.randint(0, 3)
        else:
            low, high = age - rng.randint(0, 3), age + rng.randint(3, 9)
        return max(20, low), min(65, max(high, 22))

    def wanted_heights(self, height: int, male: bool) -> tuple[int | None, int | None]:
        rng = self.rng
        if rng.random() < 0.2:
            return None, None
        if male:
            return rng.randint(150, 163), rng.choice([None, rng.randint(168, 180)])
        low = max(height + rng.randint(2, 10), 165)
        return low, rng.choice([None, None, low + rng.randint(10, 20)])


def _phone(number: int, prefix: str) -> str:
    """An 11-digit mobile number whose last 8 digits are a bijection of `number` (unique per counter value)."""
    return f"{prefix}{(number * 48_271_113 + 73_914_561) % 100_000_000:08d}"


class Command(BaseCommand):
    help = "Create N realistic synthetic members (with partner preferences) in an agency, fast (COPY)."

    def add_arguments(self, parser):
        parser.add_argument("--agency", required=True, help="slug of the agency")
        parser.add_argument("--count", type=int, required=True, help="how many members to create")
        parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same members)")
        parser.add_argument("--create", action="store_true", help="create the agency when it does not exist")
        parser.add_argument("--name", default="", help="name of an agency created with --create")

    def handle(self, *args, **options):
        count = options["count"]
        if count < 1:
            raise CommandError("--count must be at least 1")
        self.verbosity = options["verbosity"]
        self.started = started = time.monotonic()
        rng = random.Random(options["seed"])  # noqa: S311 - synthetic data, not secrets
        slug = options["agency"]
        with transaction.atomic():
            agency = Agency.objects.filter(slug=slug).first()
            if agency is None:
                if not options["create"]:
                    raise CommandError(f"no agency {slug!r}; pass --create to create it")
                agency = agency_create(slug=slug, name=options["name"] or f"Bench {slug}")
                self.stderr.write(f"created agency {slug!r}")
            with agency_context(agency):
                presale, aftersale = owner_pools(agency)
                if not presale:
                    self._create_staff(agency, rng)
                    presale, aftersale = owner_pools(agency)
                if not presale:
                    raise CommandError(f"agency {slug!r} has no active staff with a role to own members")
                preferences = self._copy(agency, count, rng, presale, aftersale)
        self._phase("committed")
        self._analyze()
        self._phase("vacuumed and analysed")
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Seeded {count} members ({preferences} with partner preferences) in agency {slug!r} "
            f"owned by {len(presale)} presale / {len(aftersale)} after-sale matchmakers in {elapsed:.1f} s"
        )

    def _phase(self, done: str) -> None:
        if self.verbosity >= 2:
            self.stderr.write(f"  {time.monotonic() - self.started:6.1f} s  {done}")

    def _analyze(self) -> None:
        """Fresh planner statistics; outside a transaction also VACUUM, which sets the visibility map
        after a bulk load so index-only scans need no heap visits (a test's transaction only allows ANALYZE)."""
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            for model in (Member, PartnerPreference):
                cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")

    def _create_staff(self, agency, rng: random.Random) -> None:
        """Bench matchmakers under the default roles (found by their names), password DEMO_PASSWORD."""
        with translation.override("zh-hans"):
            names = {str(spec["name"]): spec["key"] for spec in DEFAULT_ROLES}
        roles = {names.get(role.name): role for role in Role.unscoped.filter(agency=agency)}
        root = Role.unscoped.filter(agency=agency, parent=None).first()
        if root is None:
            raise CommandError(f"agency {agency.slug!r} has no role tree")
        password = make_password(os.environ.get("DEMO_PASSWORD", "matchcrm-demo"))
        users = []
        for key, how_many in BENCH_STAFF:
            for index in range(1, how_many + 1):
                username = key if how_many == 1 else f"{key}{index:02d}"
                gender = rng.choice(["male", "female"])
                users.append(
                    User(
                        agency=agency, username=username, role=roles.get(key, root), password=password,
                        name=rng.choice(SURNAMES[:40]) + rng.choice(GIVEN[gender]) + rng.choice(GIVEN[gender]),
                        email=f"{username}@{agency.slug}.example",
                    )
                )  # fmt: skip
        User.objects.bulk_create(users)
        self.stderr.write(f"created {len(users)} bench matchmakers in agency {agency.slug!r}")

    def _copy(self, agency, count: int, rng: random.Random, presale, aftersale) -> int:
        now = timezone.now()
        generator = Generator(
            rng=rng, agency=agency, places=Places.load(), tags=TagPools.load(agency), presale=presale,
            aftersale=aftersale, now=now,
        )  # fmt: skip
        AgencySequence.unscoped.get_or_create(agency=agency, name="member")
        member_table = connection.ops.quote_name(Member._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE agencies_agencysequence SET last_value = last_value + %s"
                " WHERE agency_id = %s AND name = %s RETURNING last_value",
                [count, agency.pk, "member"],
            )
            first_number = cursor.fetchone()[0] - count + 1
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Member._meta.db_table, count],
            )
            ids = [row[0] for row in cursor.fetchall()]
            cursor.execute(f"SELECT phone FROM {member_table} WHERE agency_id = %s", [agency.pk])  # noqa: S608
            taken = {row[0] for row in cursor.fetchall()}
            # Registration times in id order, as rows of a real table were inserted over time.
            registered = sorted(generator.created_at() for _ in range(count))

            member_columns, member_extra = seeding.columns(Member, MEMBER_COLUMNS)
            preference_rows = []
            with cursor.copy(seeding.copy_sql(Member, member_columns)) as copy:
                for offset, member_id in enumerate(ids):
                    number = first_number + offset
                    prefix = rng.choice(MOBILE_PREFIXES)
                    phone = _phone(number, prefix)
                    while phone in taken:  # only against numbers entered by hand before
                        phone = _phone(number, rng.choice(MOBILE_PREFIXES))
                    row, facts = generator.member(member_id, number, phone, registered[offset])
                    copy.write_row(row + member_extra)
                    preference = generator.preference(member_id, facts)
                    if preference is not None:
                        preference_rows.append(preference)

            self._phase(f"{count} members generated and copied")
            preference_columns, preference_extra = seeding.columns(PartnerPreference, PREFERENCE_COLUMNS)
            with cursor.copy(seeding.copy_sql(PartnerPreference, preference_columns)) as copy:
                for row in preference_rows:
                    copy.write_row(row + preference_extra)
            self._phase(f"{len(preference_rows)} partner preferences copied")
        return len(preference_rows)
