"""The bidirectional match engine (F-F4): who suits a member, and why, in one SQL statement.

A candidate qualifies only when they meet the member's hard criteria AND the member meets theirs:
opposite gender, age range, height range, accepted marital statuses, minimum education, minimum
income, required cities, must-have tags, and whether a partner with children is accepted. An
unstated criterion accepts anyone, except age: without a stated range a side accepts ages within
DEFAULT_AGE_SPAN years of their own. A stated criterion is not met by an unknown value. Members
without a birth date are neither matched nor proposed (the profile marks them ineligible). Members who
are paused, finished (success, service finished) or abandoned, and pairs already recommended (in
either direction, declined included), are left out.

Both directions run in PostgreSQL over `matching_matchprofile`, whose partial covering index
holds every column read here in (agency, gender, birth date) order: the member's age range becomes
a birth-date range on that index, the remaining conditions and the score read the index tuples
(an index-only scan), and only the top rows leave the database.

The score (情缘匹配值, 0-100) combines each side's satisfaction with the other on the soft criteria:
S(A→B) is a weighted mean (the agency's MatchSettings weights) of how well B fits what A would
like, each part in [0, 1]; the score is 100·√(S(A→B)·S(B→A)), high only when both are satisfied
and, by construction, the same whichever side is asked.
"""

import datetime
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from .models import MatchProfile, MatchSettings

# Without a stated age range the engine still looks within this many years of the member's own age:
# no agency proposes a 25-year-old to a 65-year-old by default, and it keeps the search range narrow.
DEFAULT_AGE_SPAN = 10
NO_CHILDREN = ("", "none")


@dataclass
class Candidate:
    member_id: int
    score: int
    forward: float  # S(member → candidate): how well the candidate fits what the member would like
    backward: float  # S(candidate → member)
    profile: dict = field(default_factory=dict)  # the candidate's MatchProfile columns


def age_on(birth_date: datetime.date | None, today: datetime.date) -> int | None:
    if birth_date is None:
        return None
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def weights(agency) -> dict[str, int]:
    settings = MatchSettings.objects.filter(agency=agency).first() or MatchSettings()
    return {name.removeprefix("weight_"): getattr(settings, name) for name in MatchSettings.WEIGHTS}


# --- the SQL -------------------------------------------------------------------------------------

# Satisfaction of one side's wishes by the other side's facts, each in [0, 1]. {w} is the wisher's
# prefix ("me_" for the member's values, passed as parameters, or "c." for the candidate's columns),
# {o} the other side's.
PARTS = {
    "tags": """CASE WHEN cardinality({w}pref_nice_tag_ids) > 0
        THEN (SELECT count(*) FROM unnest({w}pref_nice_tag_ids) AS t(id) WHERE t.id = ANY({o}tag_ids))::float
             / cardinality({w}pref_nice_tag_ids)
        ELSE 0.5 END""",
    "age": """CASE WHEN {o}age IS NULL THEN 0.5
        WHEN {w}pref_age_min IS NOT NULL AND {w}pref_age_max IS NOT NULL
        THEN 1 - 0.5 * LEAST(1, abs({o}age - ({w}pref_age_min + {w}pref_age_max) / 2.0)
                               / GREATEST(1, ({w}pref_age_max - {w}pref_age_min) / 2.0))
        WHEN {w}age IS NOT NULL THEN GREATEST(0, 1 - abs({o}age - {w}age) / 15.0)
        ELSE 0.5 END""",
    "height": """CASE WHEN {o}height_cm IS NULL THEN 0.5
        WHEN {w}pref_height_min IS NOT NULL AND {w}pref_height_max IS NOT NULL
        THEN 1 - 0.5 * LEAST(1, abs({o}height_cm - ({w}pref_height_min + {w}pref_height_max) / 2.0)
                               / GREATEST(1, ({w}pref_height_max - {w}pref_height_min) / 2.0))
        ELSE 0.5 END""",
    "education": """CASE WHEN {o}education IS NULL THEN 0.5
        WHEN {w}pref_education_min IS NOT NULL THEN 0.7 + 0.15 * LEAST(2, {o}education - {w}pref_education_min)
        WHEN {w}education IS NOT NULL THEN 1 - abs({o}education - {w}education) / 5.0
        ELSE 0.5 END""",
    "income": """CASE WHEN {o}income IS NULL THEN 0.5
        WHEN {w}pref_income_min IS NOT NULL THEN 0.7 + 0.1 * LEAST(3, {o}income - {w}pref_income_min)
        WHEN {w}income IS NOT NULL THEN 1 - abs({o}income - {w}income) / 7.0
        ELSE 0.5 END""",
    "place": """CASE WHEN {o}residence_city <> '' AND {o}residence_city = {w}residence_city THEN 1.0
        WHEN {o}native_city <> '' AND {o}native_city = {w}native_city THEN 0.8
        WHEN {o}residence_province <> '' AND {o}residence_province = {w}residence_province THEN 0.6
        ELSE 0.2 END""",
}
ME_COLUMNS = [
    "tag_ids", "pref_nice_tag_ids", "age", "pref_age_min", "pref_age_max", "height_cm", "pref_height_min",
    "pref_height_max", "education", "pref_education_min", "income", "pref_income_min", "residence_city",
    "native_city", "residence_province",
]  # fmt: skip
ME_TYPES = {"tag_ids": "bigint[]", "pref_nice_tag_ids": "bigint[]", "residence_city": "text", "native_city": "text",
            "residence_province": "text"}  # fmt: skip


def _as_param(name: str) -> str:
    return f"%(me_{name})s::{ME_TYPES.get(name, 'int')}"


def _side(wisher: str, other: str, weights_: dict) -> str:
    """S(wisher → other) as SQL, "me" being the member (parameters) and "c" the candidate (columns)."""

    def ref(side):
        if side == "c":
            return lambda column: "c.age_now" if column == "age" else f"c.{column}"
        return _as_param

    total = sum(weights_.values()) or 1
    terms = []
    for part, sql in PARTS.items():
        weight = weights_.get(part, 0)
        if not weight:
            continue
        w, o = ref(wisher), ref(other)
        text = sql
        for column in sorted(set(ME_COLUMNS) | {"age"}, key=len, reverse=True):
            text = text.replace("{w}" + column, w(column)).replace("{o}" + column, o(column))
        terms.append(f"{weight} * ({text})")
    return f"(({' + '.join(terms) or '0'}) / {float(total)})"


def _hard_filter(me: MatchProfile, my_age: int | None, today: datetime.date) -> tuple[str, dict]:
    """Both directions' hard criteria as a WHERE clause on profile `c`, and its parameters."""
    params = {
        "agency": me.agency_id, "me": me.member_id, "gender": "female" if me.gender == "male" else "male",
        "my_age": my_age, "my_height": me.height_cm, "my_education": me.education, "my_income": me.income,
        "my_marital": me.marital_status, "my_city": me.residence_city, "my_tags": list(me.tag_ids),
        "my_children": me.children,
    }  # fmt: skip
    params["default_born_after"] = _years_before(today, my_age + DEFAULT_AGE_SPAN + 1)
    params["default_born_by"] = _years_before(today, my_age - DEFAULT_AGE_SPAN)
    where = ["c.agency_id = %(agency)s", "c.eligible", "c.gender = %(gender)s", "c.member_id <> %(me)s"]
    # What the member wants of the candidate (constants: they narrow the index range where they can).
    low, high = me.pref_age_min, me.pref_age_max
    if low is None and high is None:
        low, high = my_age - DEFAULT_AGE_SPAN, my_age + DEFAULT_AGE_SPAN
    if high is not None:  # older than high + 1 years is too old
        params["born_after"] = _years_before(today, high + 1)
        where.append("c.birth_date > %(born_after)s")
    if low is not None:
        params["born_by"] = _years_before(today, low)
        where.append("c.birth_date <= %(born_by)s")
    bounds = (
        ("height_cm", me.pref_height_min, ">="), ("height_cm", me.pref_height_max, "<="),
        ("education", me.pref_education_min, ">="), ("income", me.pref_income_min, ">="),
    )  # fmt: skip
    for column, bound, op in bounds:
        if bound is not None:
            key = f"want_{column}_{'min' if op == '>=' else 'max'}"
            params[key] = bound
            where.append(f"c.{column} {op} %({key})s")
    if me.pref_marital_statuses:
        params["want_marital"] = list(me.pref_marital_statuses)
        where.append("c.marital_status = ANY(%(want_marital)s)")
    if me.pref_city_codes:
        params["want_cities"] = list(me.pref_city_codes)
        where.append("c.residence_city = ANY(%(want_cities)s)")
    if me.pref_must_tag_ids:
        params["want_tags"] = list(me.pref_must_tag_ids)
        where.append("c.tag_ids @> %(want_tags)s::bigint[]")
    if not me.pref_accepts_children:
        where.append("c.children IN ('', 'none')")
    # What the candidate wants of the member (columns compared with the member's constants).
    where += [
        # The same default window from the candidate's side: within DEFAULT_AGE_SPAN years of their age.
        """(c.pref_age_min IS NOT NULL OR c.pref_age_max IS NOT NULL
            OR (c.birth_date > %(default_born_after)s AND c.birth_date <= %(default_born_by)s))""",
        "(c.pref_age_min IS NULL OR c.pref_age_min <= %(my_age)s)",
        "(c.pref_age_max IS NULL OR c.pref_age_max >= %(my_age)s)",
        "(c.pref_height_min IS NULL OR c.pref_height_min <= %(my_height)s)",
        "(c.pref_height_max IS NULL OR c.pref_height_max >= %(my_height)s)",
        "(c.pref_education_min IS NULL OR c.pref_education_min <= %(my_education)s)",
        "(c.pref_income_min IS NULL OR c.pref_income_min <= %(my_income)s)",
        "(cardinality(c.pref_marital_statuses) = 0 OR %(my_marital)s = ANY(c.pref_marital_statuses))",
        "(cardinality(c.pref_city_codes) = 0 OR %(my_city)s = ANY(c.pref_city_codes))",
        "c.pref_must_tag_ids <@ %(my_tags)s::bigint[]",
        "(c.pref_accepts_children OR %(my_children)s IN ('', 'none'))",
        # Never the same pair twice, whoever proposed it first and however it ended.
        """NOT EXISTS (SELECT 1 FROM matching_recommendation r WHERE r.agency_id = %(agency)s
                       AND r.member_id = %(me)s AND r.candidate_id = c.member_id)""",
        """NOT EXISTS (SELECT 1 FROM matching_recommendation r WHERE r.agency_id = %(agency)s
                       AND r.member_id = c.member_id AND r.candidate_id = %(me)s)""",
    ]
    return " AND ".join(where), params


def profile_of(member) -> MatchProfile | None:
    return MatchProfile.objects.filter(agency_id=member.agency_id, member_id=member.pk).first()


def candidate_ids(*, agency, member, today: datetime.date | None = None) -> list[int]:
    """The floor: every candidate passing both directions' hard criteria, ids only, unordered."""
    me = profile_of(member)
    if me is None or me.birth_date is None:
        return []
    today = today or timezone.localdate()
    where, params = _hard_filter(me, age_on(me.birth_date, today), today)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT c.member_id FROM matching_matchprofile c WHERE {where}", params)  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def _scored(me: MatchProfile, today: datetime.date, weights_: dict, *, only: int | None = None,
            limit: int = 20, offset: int = 0) -> list[Candidate]:  # fmt: skip
    """Candidates of `me` (or just the one with member id `only`) by score, best first."""
    my_age = age_on(me.birth_date, today)
    where, params = _hard_filter(me, my_age, today)
    if only is not None:
        where += " AND c.member_id = %(only)s"
        params["only"] = only
    params.update({f"me_{column}": (my_age if column == "age" else getattr(me, column)) for column in ME_COLUMNS})
    params["me_tag_ids"], params["me_pref_nice_tag_ids"] = list(me.tag_ids), list(me.pref_nice_tag_ids)
    params.update(today=today, limit=limit, offset=offset)
    forward, backward = _side("me", "c", weights_), _side("c", "me", weights_)
    columns = ", ".join(f"c.{name}" for name in _PROFILE_FIELDS)
    sql = f"""
        SELECT {columns}, s.forward, s.backward,
               round(100 * sqrt(GREATEST(s.forward, 0) * GREATEST(s.backward, 0)))::int AS score
          FROM (SELECT c.*, date_part('year', age(%(today)s::date, c.birth_date))::int AS age_now
                  FROM matching_matchprofile c WHERE {where}) AS c
          CROSS JOIN LATERAL (SELECT {forward} AS forward, {backward} AS backward) AS s
         ORDER BY score DESC, c.member_id
         LIMIT %(limit)s OFFSET %(offset)s
    """  # noqa: S608 - every value is a parameter; only fixed SQL fragments are formatted in
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = []
    for row in rows:
        values = dict(zip(_PROFILE_FIELDS, row[: len(_PROFILE_FIELDS)], strict=True))
        forward_value, backward_value, score = row[len(_PROFILE_FIELDS) :]
        result.append(Candidate(values["member_id"], score, float(forward_value), float(backward_value), values))
    return result


def top_candidates(*, agency, member, limit: int = 20, offset: int = 0, today: datetime.date | None = None,
                   weights_: dict | None = None) -> list[Candidate]:  # fmt: skip
    """The best `limit` candidates by score (ties by member id), with both directional satisfactions."""
    me = profile_of(member)
    if me is None or me.birth_date is None:
        return []
    return _scored(me, today or timezone.localdate(), weights_ or weights(agency), limit=limit, offset=offset)


def pair(*, agency, member, candidate, today: datetime.date | None = None) -> Candidate | None:
    """One pair scored from the member's side, or None when it fails either side's hard criteria."""
    me = profile_of(member)
    if me is None or me.birth_date is None:
        return None
    found = _scored(me, today or timezone.localdate(), weights(agency), only=candidate.pk, limit=1)
    return found[0] if found else None


_PROFILE_FIELDS = [
    "member_id", "gender", "birth_date", "height_cm", "education", "income", "marital_status", "children",
    "residence_province", "residence_city", "native_province", "native_city", "tag_ids", "pref_age_min",
    "pref_age_max", "pref_height_min", "pref_height_max", "pref_education_min", "pref_income_min",
    "pref_marital_statuses", "pref_city_codes", "pref_must_tag_ids", "pref_nice_tag_ids", "pref_accepts_children",
]  # fmt: skip
