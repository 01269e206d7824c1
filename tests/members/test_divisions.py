"""Divisions: the bundled data, municipality naming, full names and the province → city → district checks."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from apps.members import divisions


def test_counts_match_the_bundled_data():
    provinces = divisions.provinces()
    cities = [city for code, _ in provinces for city in divisions.cities(code)]
    districts = [district for code, _ in cities for district in divisions.districts(code)]
    assert (len(provinces), len(cities), len(districts)) == (31, 342, 3056)


def test_provinces_keep_file_order():
    assert divisions.provinces()[:3] == [("11", "北京市"), ("12", "天津市"), ("13", "河北省")]


def test_cities_and_districts_of_a_province():
    assert ("3301", "杭州市") in divisions.cities("33")
    assert ("330106", "西湖区") in divisions.districts("3301")


def test_lists_are_copies():
    divisions.provinces().clear()
    assert len(divisions.provinces()) == 31


@pytest.mark.parametrize("code", ["", "99", "3301", "330106"])
def test_cities_of_something_else_than_a_province_is_empty(code):
    assert divisions.cities(code) == []


@pytest.mark.parametrize("code", ["", "9999", "33", "330106"])
def test_districts_of_something_else_than_a_city_is_empty(code):
    assert divisions.districts(code) == []


@pytest.mark.parametrize(
    ("province", "city"), [("11", ("1101", "北京市")), ("12", ("1201", "天津市")), ("31", ("3101", "上海市"))]
)
def test_municipality_pseudo_city_takes_the_municipality_name(province, city):
    assert divisions.cities(province) == [city]


def test_chongqing_pseudo_cities_are_named_and_distinguishable():
    assert divisions.cities("50") == [("5001", "重庆市"), ("5002", "重庆市（县）")]


def test_users_never_see_pseudo_city_names():
    names = {name for _, cities in divisions.city_choices_grouped() for _, name in cities}
    assert not names & {"市辖区", "县"}


def test_city_choices_grouped_by_province_name():
    grouped = dict(divisions.city_choices_grouped())
    assert len(grouped) == 31
    assert ("3301", "杭州市") in grouped["浙江省"]
    assert grouped["北京市"] == [("1101", "北京市")]


@pytest.mark.parametrize(
    ("code", "name"),
    [("33", "浙江省"), ("3301", "杭州市"), ("330106", "西湖区"), ("1101", "北京市"), ("", ""), ("123", ""), (None, "")],
)
def test_name_of(code, name):
    assert divisions.name_of(code) == name


def test_levels():
    assert divisions.is_province("33") and not divisions.is_province("3301")
    assert divisions.is_city("3301") and not divisions.is_city("33") and not divisions.is_city("330106")
    assert divisions.is_district("330106") and not divisions.is_district("3301")
    assert not divisions.is_province("") and not divisions.is_city("0000")


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (("33", "3301", "330106"), "浙江省 杭州市 西湖区"),
        (("33", "3301"), "浙江省 杭州市"),
        (("33",), "浙江省"),
        (("11", "1101", "110101"), "北京市 东城区"),
        (("11", "1101"), "北京市"),
        (("50", "5002", "500229"), "重庆市 城口县"),
        (("50", "5002"), "重庆市（县）"),
        (("",), ""),
        (("33", "", ""), "浙江省"),
    ],
)
def test_full_name(codes, expected):
    assert divisions.full_name(*codes) == expected


@pytest.mark.parametrize(
    "codes",
    [
        {},
        {"province": "33"},
        {"province": "33", "city": "3301"},
        {"province": "33", "city": "3301", "district": "330106"},
        {"province": "11", "city": "1101", "district": "110101"},
    ],
)
def test_a_consistent_location_is_accepted(codes):
    divisions.validate_location(**codes)


def _errors(**codes) -> dict[str, list[str]]:
    """The messages of the refusal, by field, rendered in English."""
    with translation.override("en"):
        with pytest.raises(ValidationError) as caught:
            divisions.validate_location(**codes)
        return caught.value.message_dict


def test_a_city_of_another_province_is_refused():
    errors = _errors(province="33", city="4401")
    assert errors == {"city": ["广州市 is not in 浙江省. Choose a city of that province."]}


def test_a_district_of_another_city_is_refused():
    errors = _errors(province="33", city="3301", district="330203")
    assert list(errors) == ["district"]
    assert "is not in 杭州市" in errors["district"][0]


@pytest.mark.parametrize(
    ("codes", "field"),
    [
        ({"province": "99"}, "province"),
        ({"province": "3301"}, "province"),
        ({"province": "33", "city": "3399"}, "city"),
        ({"province": "33", "city": "33"}, "city"),
        ({"province": "33", "city": "3301", "district": "330199"}, "district"),
        ({"province": "33", "city": "3301", "district": "3301"}, "district"),
    ],
)
def test_unknown_codes_are_refused(codes, field):
    errors = _errors(**codes)
    assert list(errors) == [field]
    assert "There is no" in errors[field][0]


def test_a_city_without_its_province_is_refused():
    assert _errors(city="3301") == {"city": ["Choose the province of 杭州市 first."]}


def test_a_district_without_its_city_is_refused():
    assert _errors(province="33", district="330106") == {"district": ["Choose the city of 西湖区 first."]}


def test_an_unknown_province_does_not_also_blame_its_city():
    assert list(_errors(province="99", city="3301")) == ["province"]


def test_prefix_names_the_fields():
    errors = _errors(province="33", city="4401", prefix="hometown_")
    assert list(errors) == ["hometown_city"]


def test_every_error_is_reported_at_once_with_codes_that_tell_the_cases_apart():
    with pytest.raises(ValidationError) as caught:
        divisions.validate_location(province="33", city="4401", district="110101")
    codes = {field: [error.code for error in errors] for field, errors in caught.value.error_dict.items()}
    assert codes == {"city": ["city_not_in_province"], "district": ["district_not_in_city"]}
