"""China's administrative divisions (province → city → district) from the bundled data file.

Members record where they live and where they come from as division codes; this module turns codes
into names, offers them as choices and checks that a province, city and district belong together.
The data ships with the code (data/divisions.json) so nothing is fetched over the network.

The four municipalities (北京, 天津, 上海, 重庆) have no real city level: the official data fills it
with pseudo-cities named "市辖区" ("districts under the city") and, for 重庆, "县" ("counties").
Users never see those names: the pseudo-city is shown under the municipality's own name.
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

DATA_FILE = Path(__file__).resolve().parent / "data" / "divisions.json"

# Whole sentences per level, not one sentence with the level filled in: translations need that.
_UNKNOWN_MESSAGES = {
    "province": _("There is no province with code %(code)s. Choose a province from the list."),
    "city": _("There is no city with code %(code)s. Choose a city from the list."),
    "district": _("There is no district with code %(code)s. Choose a district from the list."),
}

# How the pseudo-cities of a municipality are shown; 重庆 has two, so the second stays distinguishable.
_PSEUDO_CITY_LABELS = {"市辖区": "{province}", "县": "{province}（县）"}


@dataclass(frozen=True)
class _Division:
    code: str
    name: str  # the display name, with pseudo-cities already renamed
    parent: str  # "" for a province
    is_pseudo_city: bool = False


@dataclass(frozen=True)
class _Index:
    by_code: dict[str, _Division]
    children: dict[str, tuple[tuple[str, str], ...]]  # "" lists the provinces


@cache
def _index() -> _Index:
    by_code: dict[str, _Division] = {}
    children: dict[str, list[tuple[str, str]]] = {"": []}
    for province in json.loads(DATA_FILE.read_text(encoding="utf-8")):
        _add(by_code, children, _Division(province["code"], province["name"], ""))
        for city in province.get("children", []):
            label = _PSEUDO_CITY_LABELS.get(city["name"])
            name = label.format(province=province["name"]) if label else city["name"]
            _add(by_code, children, _Division(city["code"], name, province["code"], is_pseudo_city=bool(label)))
            for district in city.get("children", []):
                _add(by_code, children, _Division(district["code"], district["name"], city["code"]))
    return _Index(by_code, {code: tuple(items) for code, items in children.items()})


def _add(by_code: dict[str, _Division], children: dict[str, list], division: _Division) -> None:
    by_code[division.code] = division
    children.setdefault(division.code, [])
    children[division.parent].append((division.code, division.name))


def _level(code: str) -> int:
    """0 for a province, 1 for a city, 2 for a district, -1 for an unknown code."""
    by_code = _index().by_code
    division = by_code.get(code or "")
    level = -1
    while division is not None:
        level += 1
        division = by_code.get(division.parent)
    return level


def is_province(code: str) -> bool:
    return _level(code) == 0


def is_city(code: str) -> bool:
    return _level(code) == 1


def is_district(code: str) -> bool:
    return _level(code) == 2


def parent_of(code: str) -> str:
    """The code of the division one level up; "" for a province or an unknown code."""
    division = _index().by_code.get(code or "")
    return division.parent if division else ""


def provinces() -> list[tuple[str, str]]:
    return list(_index().children[""])


def cities(province_code: str) -> list[tuple[str, str]]:
    return list(_index().children.get(province_code, ())) if is_province(province_code) else []


def districts(city_code: str) -> list[tuple[str, str]]:
    return list(_index().children.get(city_code, ())) if is_city(city_code) else []


def name_of(code: str) -> str:
    division = _index().by_code.get(code or "")
    return division.name if division else ""


def full_name(province: str, city: str = "", district: str = "") -> str:
    """E.g. "浙江省 杭州市 西湖区"; a municipality is named once ("北京市 东城区")."""
    names = [name_of(province), name_of(city), name_of(district)]
    pseudo = _index().by_code.get(city or "")
    if pseudo is not None and pseudo.is_pseudo_city:
        # The pseudo-city's label already carries the municipality's name: keep only one of them.
        names[1 if district else 0] = ""
    return " ".join(name for name in names if name)


def city_choices_grouped() -> list[tuple[str, list[tuple[str, str]]]]:
    """Cities grouped under their province's name, the shape of grouped choices in a <select>."""
    return [(name, cities(code)) for code, name in provinces()]


def validate_location(province: str = "", city: str = "", district: str = "", *, prefix: str = "") -> None:
    """Refuse unknown codes and a city or district that does not belong to the level above it.

    Errors are keyed by field name (with `prefix`) so a form or model can attach them to its fields.
    """
    errors: dict[str, ValidationError] = {}
    if province and not is_province(province):
        errors[f"{prefix}province"] = _unknown("province", province)
    if city:
        if not is_city(city):
            errors[f"{prefix}city"] = _unknown("city", city)
        elif not province:
            errors[f"{prefix}city"] = ValidationError(
                _("Choose the province of %(city)s first."), code="province_required", params={"city": name_of(city)}
            )
        elif is_province(province) and parent_of(city) != province:
            errors[f"{prefix}city"] = ValidationError(
                _("%(city)s is not in %(province)s. Choose a city of that province."),
                code="city_not_in_province",
                params={"city": name_of(city), "province": name_of(province)},
            )
    if district:
        if not is_district(district):
            errors[f"{prefix}district"] = _unknown("district", district)
        elif not city:
            errors[f"{prefix}district"] = ValidationError(
                _("Choose the city of %(district)s first."),
                code="city_required",
                params={"district": name_of(district)},
            )
        elif is_city(city) and parent_of(district) != city:
            errors[f"{prefix}district"] = ValidationError(
                _("%(district)s is not in %(city)s. Choose a district of that city."),
                code="district_not_in_city",
                params={"district": name_of(district), "city": name_of(city)},
            )
    if errors:
        raise ValidationError(errors)


def _unknown(level: str, code: str) -> ValidationError:
    return ValidationError(_UNKNOWN_MESSAGES[level], code="unknown_division", params={"code": code})
