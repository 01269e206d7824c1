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

from django.db import connection, transaction
from django.utils import timezone

from .models import PROFILE_COLUMNS, WISH_DEFAULTS, MatchProfile, MatchSettings

# Without a stated age range the engine still looks within this many years of the member's own age:
# no agency proposes a 25-year-old to a 65-year-old by default, and it keeps the search range narrow.
DEFAULT_AGE_SPAN = 6
NO_CHILDREN = ("", "none")


@dataclass
class Candidate:
    member_id: int
    score: int
    forward: float  # S(member → candidate): how well the candidate fits what the member would like
    backward: float  # S(candidate → member)
    profile: dict = field(default_factory=dict)  # the candidate's MatchProfile columns


def _plan_for_memory(cursor) -> None:
    """Let the planner cost index pages as the cached, random-access pages they are.

    With PostgreSQL's default random_page_cost (4, for spinning disks) it prefers reading the whole
    profile table to the covering index's range once a search spans many birth years; on the bench
    agency that is 60 ms instead of 44. Scoped to the engine's own transaction (SET LOCAL).
    """
    cursor.execute("SET LOCAL random_page_cost = 1.1")


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
#
# Each side's satisfaction is a weighted mean of parts in [0, 1]. One side is always the member
# (known values: the SQL gets constants) and the other the candidate (columns), so each part is
# written twice, once per direction; tests check that both spellings agree (the score is the same
# whichever member asks). Arithmetic is float8 and integer only: no numeric, no function calls per
# row except abs/least/greatest, so scoring tens of thousands of rows stays a few milliseconds.

AGE = "((%(today_ymd)s - c.birth_ymd) / 10000)"  # integer age from YYYYMMDD integers
HALF = "0.5::float8"


def _closeness(value: str, centre: float | str, half: float | str) -> str:
    """1 at the centre of a wished range, 0.5 at its edges (the hard filter keeps values inside)."""
    return f"(1 - 0.5 * LEAST(1, abs(({value})::float8 - ({centre})::float8) / GREATEST(1, ({half})::float8)))"


def _tag_share(wished: list[int] | str, facts: list[int] | str, params: dict, key: str) -> str:
    """Share of the wished tags the other side has; one side is a list of constants, unrolled."""
    if isinstance(wished, list):  # the member's wishes against the candidate's tag column
        if not wished:
            return HALF
        for index, tag in enumerate(wished):
            params[f"{key}{index}"] = tag
        hits = " + ".join(f"(%({key}{index})s = ANY({facts}))::int" for index in range(len(wished)))
        return f"(({hits})::float8 / {len(wished)})"
    # the candidate's wishes (column) against the member's tags (constants)
    for index, tag in enumerate(facts):
        params[f"{key}{index}"] = tag
    hits = " + ".join(f"(%({key}{index})s = ANY({wished}))::int" for index in range(len(facts))) or "0"
    return f"(CASE WHEN cardinality({wished}) = 0 THEN {HALF} ELSE ({hits})::float8 / cardinality({wished}) END)"


def _forward(me: MatchProfile, my_age: int, params: dict) -> dict[str, str]:
    """S(member → candidate) parts: the member's wishes (constants) against the candidate's columns."""
    parts = {"tags": _tag_share(list(me.pref_nice_tag_ids), "c.tag_ids", params, "fwt")}
    if me.pref_age_min is not None and me.pref_age_max is not None:
        parts["age"] = _closeness(AGE, (me.pref_age_min + me.pref_age_max) / 2, (me.pref_age_max - me.pref_age_min) / 2)
    else:
        parts["age"] = f"GREATEST(0, 1 - abs({AGE} - {my_age})::float8 / 15)"
    if me.pref_height_min is not None and me.pref_height_max is not None:
        centre, half = (me.pref_height_min + me.pref_height_max) / 2, (me.pref_height_max - me.pref_height_min) / 2
        parts["height"] = f"COALESCE({_closeness('c.height_cm', centre, half)}, {HALF})"
    else:
        parts["height"] = HALF
    for part, column, minimum, mine, step, cap, spread in (
        ("education", "c.education", me.pref_education_min, me.education, 0.15, 2, 5),
        ("income", "c.income", me.pref_income_min, me.income, 0.1, 3, 7),
    ):  # fmt: skip
        if minimum is not None:
            parts[part] = f"COALESCE(0.7::float8 + {step}::float8 * LEAST({cap}, {column} - {minimum}), {HALF})"
        elif mine is not None:
            parts[part] = f"COALESCE(1 - abs({column} - {mine})::float8 / {spread}, {HALF})"
        else:
            parts[part] = HALF
    parts["place"] = _place(me, params)
    return parts


def _backward(me: MatchProfile, my_age: int, params: dict) -> dict[str, str]:
    """S(candidate → member) parts: the candidate's wishes (columns) against the member's values."""
    parts = {"tags": _tag_share("c.pref_nice_tag_ids", list(me.tag_ids), params, "bwt")}
    parts["age"] = f"""(CASE WHEN c.pref_age_min > 0 AND c.pref_age_max < 255
        THEN {_closeness(str(my_age), "(c.pref_age_min + c.pref_age_max) / 2.0::float8",
                         "(c.pref_age_max - c.pref_age_min) / 2.0::float8")}
        ELSE GREATEST(0, 1 - abs({my_age} - {AGE})::float8 / 15) END)"""  # fmt: skip
    if me.height_cm is None:
        parts["height"] = HALF
    else:
        parts["height"] = f"""(CASE WHEN c.pref_height_min > 0 AND c.pref_height_max < 999
            THEN {_closeness(str(me.height_cm), "(c.pref_height_min + c.pref_height_max) / 2.0::float8",
                             "(c.pref_height_max - c.pref_height_min) / 2.0::float8")}
            ELSE {HALF} END)"""  # fmt: skip
    for part, column, minimum, mine, step, cap, spread in (
        ("education", "c.education", "c.pref_education_min", me.education, 0.15, 2, 5),
        ("income", "c.income", "c.pref_income_min", me.income, 0.1, 3, 7),
    ):  # fmt: skip
        if mine is None:
            parts[part] = HALF
        else:
            parts[part] = f"""(CASE WHEN {minimum} > 0
                THEN 0.7::float8 + {step}::float8 * LEAST({cap}, {mine} - {minimum})
                WHEN {column} IS NOT NULL THEN 1 - abs({mine} - {column})::float8 / {spread}
                ELSE {HALF} END)"""  # fmt: skip
    parts["place"] = _place(me, params)
    return parts


def _place(me: MatchProfile, params: dict) -> str:
    """Same city, same home town, same province: the same for both sides."""
    params.update(my_city=me.residence_city, my_native=me.native_city, my_province=me.residence_province)
    return """(CASE WHEN c.residence_city = %(my_city)s THEN 1.0::float8
        WHEN c.native_city = %(my_native)s THEN 0.8::float8
        WHEN c.residence_province = %(my_province)s THEN 0.6::float8
        ELSE 0.2::float8 END)"""


def _mean(parts: dict[str, str], weights_: dict[str, int]) -> str:
    total = sum(weight for part, weight in weights_.items() if part in parts) or 1
    terms = [f"{weights_[part]} * {sql}" for part, sql in parts.items() if weights_.get(part)]
    return f"(({' + '.join(terms) or '0'}) / {float(total)}::float8)"


def _hard_filter(me: MatchProfile, my_age: int | None, today: datetime.date) -> tuple[str, dict]:
    """Both directions' hard criteria as a WHERE clause on profile `c`, and its parameters."""
    params = {
        "agency": me.agency_id, "me": me.member_id, "gender": "female" if me.gender == "male" else "male",
        "my_age": my_age, "my_height": me.height_cm, "my_education": me.education, "my_income": me.income,
        "my_marital": me.marital_bit, "my_city": me.residence_city, "my_tags": list(me.tag_ids),
        "my_children": me.has_children,
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
    if me.pref_marital_mask:
        params["want_marital"] = me.pref_marital_mask
        where.append("c.marital_bit & %(want_marital)s <> 0")
    if not me.pref_accepts_children:
        where.append("c.has_children = false")  # unknown (NULL) does not meet the wish
    if me.pref_city_codes:
        params["want_cities"] = list(me.pref_city_codes)
        where.append("c.residence_city = ANY(%(want_cities)s::int[])")
    if me.pref_must_tag_ids:
        params["want_tags"] = list(me.pref_must_tag_ids)
        where.append("c.tag_ids @> %(want_tags)s::bigint[]")
    # What the candidate wants of the member (columns compared with the member's constants).
    where += [
        # The same default window from the candidate's side: within DEFAULT_AGE_SPAN years of their age.
        "c.pref_age_min <= %(my_age)s",
        "c.pref_age_max >= %(my_age)s",
        """(c.pref_age_min > 0 OR c.pref_age_max < 255
            OR (c.birth_date > %(default_born_after)s AND c.birth_date <= %(default_born_by)s))""",
        *_known_or_unwished(me),
        "(c.pref_marital_mask = 0 OR c.pref_marital_mask & %(my_marital)s <> 0)",
        "(c.pref_accepts_children OR NOT %(my_children)s)",
        "(cardinality(c.pref_city_codes) = 0 OR %(my_city)s = ANY(c.pref_city_codes))",
        "c.pref_must_tag_ids <@ %(my_tags)s::bigint[]",
        # Never the same pair twice, whoever proposed it first and however it ended.
        """NOT EXISTS (SELECT 1 FROM matching_recommendation r WHERE r.agency_id = %(agency)s
                       AND r.member_id = %(me)s AND r.candidate_id = c.member_id)""",
        """NOT EXISTS (SELECT 1 FROM matching_recommendation r WHERE r.agency_id = %(agency)s
                       AND r.member_id = c.member_id AND r.candidate_id = %(me)s)""",
    ]
    return " AND ".join(where), params


def _known_or_unwished(me: MatchProfile) -> list[str]:
    """The candidate's bounds on the member's height, education and income; an unknown value meets
    only a candidate who wished nothing of it."""
    conditions = []
    bounds = (("my_height", "pref_height_min", "pref_height_max"), ("my_education", "pref_education_min", None),
              ("my_income", "pref_income_min", None))  # fmt: skip
    for value, low, high in bounds:
        known = getattr(me, {"my_height": "height_cm", "my_education": "education", "my_income": "income"}[value])
        if known is None:
            conditions.append(f"c.{low} = {WISH_DEFAULTS[low]}")
            if high:
                conditions.append(f"c.{high} = {WISH_DEFAULTS[high]}")
        else:
            conditions.append(f"c.{low} <= %({value})s")
            if high:
                conditions.append(f"c.{high} >= %({value})s")
    return conditions


def _wishes(values: dict) -> dict:
    """Stored widest bounds back to None ("no wish") for Python code and reasons."""
    return {key: (None if key in WISH_DEFAULTS and value == WISH_DEFAULTS[key] else value)
            for key, value in values.items()}  # fmt: skip


def profile_of(member) -> MatchProfile | None:
    profile = MatchProfile.objects.filter(agency_id=member.agency_id, member_id=member.pk).first()
    if profile is not None:
        for key, value in _wishes({key: getattr(profile, key) for key in WISH_DEFAULTS}).items():
            setattr(profile, key, value)
    return profile


def candidate_ids(*, agency, member, today: datetime.date | None = None) -> list[int]:
    """The floor: every candidate passing both directions' hard criteria, ids only, unordered."""
    me = profile_of(member)
    if me is None or not me.eligible:
        return []
    today = today or timezone.localdate()
    where, params = _hard_filter(me, age_on(me.birth_date, today), today)
    with transaction.atomic(), connection.cursor() as cursor:
        _plan_for_memory(cursor)
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
    params.update(today_ymd=today.year * 10000 + today.month * 100 + today.day, limit=limit, offset=offset)
    forward, backward = _mean(_forward(me, my_age, params), weights_), _mean(_backward(me, my_age, params), weights_)
    columns = ", ".join(f"c.{name}" for name in _PROFILE_FIELDS)
    # Rank on the float product; round the score only for the rows returned, from values rounded to
    # 9 places, so both members of a pair always see the same whole number.
    sql = f"""
        SELECT s.*, round(100 * sqrt(round(s.forward::numeric, 9) * round(s.backward::numeric, 9)))::int
          FROM (SELECT {columns}, GREATEST({forward}, 0) AS forward, GREATEST({backward}, 0) AS backward
                  FROM matching_matchprofile c WHERE {where}) AS s
         ORDER BY s.forward * s.backward DESC, s.member_id
         LIMIT %(limit)s OFFSET %(offset)s
    """  # noqa: S608 - every value is a parameter; only fixed SQL fragments are formatted in
    with transaction.atomic(), connection.cursor() as cursor:
        _plan_for_memory(cursor)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = []
    for row in rows:
        values = _wishes(dict(zip(_PROFILE_FIELDS, row[: len(_PROFILE_FIELDS)], strict=True)))
        forward_value, backward_value, score = row[len(_PROFILE_FIELDS) :]
        result.append(Candidate(values["member_id"], score, float(forward_value), float(backward_value), values))
    return result


def is_matchable(member) -> bool:
    """Whether the member is looking at all: the same eligibility that makes someone a candidate."""
    return MatchProfile.objects.filter(agency_id=member.agency_id, member_id=member.pk, eligible=True).exists()


def top_candidates(*, agency, member, limit: int = 20, offset: int = 0, today: datetime.date | None = None,
                   weights_: dict | None = None) -> list[Candidate]:  # fmt: skip
    """The best `limit` candidates by score (ties by member id), with both directional satisfactions."""
    me = profile_of(member)
    if me is None or not me.eligible:  # paused, finished, abandoned or without a birth date
        return []
    return _scored(me, today or timezone.localdate(), weights_ or weights(agency), limit=limit, offset=offset)


def pair(*, agency, member, candidate, today: datetime.date | None = None) -> Candidate | None:
    """One pair scored from the member's side, or None when it fails either side's hard criteria."""
    me = profile_of(member)
    if me is None or not me.eligible:
        return None
    found = _scored(me, today or timezone.localdate(), weights(agency), only=candidate.pk, limit=1)
    return found[0] if found else None


_PROFILE_FIELDS = ["gender", "birth_date", *PROFILE_COLUMNS]
