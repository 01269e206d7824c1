"""Members with partner preferences for match-engine tests; profiles follow through the triggers."""

import datetime

from apps.members.models import Member, PartnerPreference

_numbers = iter(range(10_000_000))
TODAY = datetime.date(2026, 12, 1)


def born(age: int, today: datetime.date = TODAY) -> datetime.date:
    """A birth date that makes someone `age` on `today` (their birthday was a month ago)."""
    return datetime.date(today.year - age, 1, 1) if today.month > 1 else datetime.date(today.year - age - 1, 12, 1)


def person(agency, gender="female", age=28, *, owner=None, **fields) -> Member:
    n = next(_numbers)
    defaults = {
        "height_cm": 165 if gender == "female" else 178, "education": 4, "income": 4, "marital_status": "never_married",
        "children": "none", "residence_province": "33", "residence_city": "3301", "status": "in_service",
    }  # fmt: skip
    defaults.update(fields)
    return Member.unscoped.create(
        agency=agency, member_no=f"M{n:07d}", name=fields.pop("name", f"会员{n}"), gender=gender,
        birth_date=born(age) if age is not None else None, phone=f"136{n:08d}", aftersale_owner=owner,
        **{key: value for key, value in defaults.items() if key != "name"},
    )  # fmt: skip


def wants(member, **fields) -> PartnerPreference:
    preference, _created = PartnerPreference.unscoped.update_or_create(
        agency_id=member.agency_id, member=member, defaults=fields
    )
    return preference
