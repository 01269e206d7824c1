"""A presale matchmaker adds a member with preferences and tags, finds them by filtering, opens the 360° page."""

import pytest

from apps.members.models import Member
from tests.e2e.test_site_settings_flow import _login
from tests.matchmakers.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MEMBER_PERMS = ["matchmakers.view_members", "matchmakers.add_members", "matchmakers.edit_members"]


def test_presale_matchmaker_adds_a_member_filters_the_list_and_opens_the_360_page(page, live_server, agency, artifacts):
    UserFactory(agency=agency, username="xiaozhang", name="小张", perms=MEMBER_PERMS)
    base_url = f"{live_server.url}/a/anhe"
    _login(page, base_url, "xiaozhang")

    page.goto(f"{base_url}/staff/members/new/")
    form = page.locator("#member-form")
    form.locator("#id_name").fill("林晓雨")
    form.locator("#id_gender").select_option("female")
    form.locator("#id_birth_date").fill("1994-05-20")
    form.locator("#id_phone").fill("139 0571 2233")
    form.locator("#id_height_cm").fill("165")
    form.locator("#id_education").select_option("4")
    form.locator("#id_residence_province").select_option(label="浙江省")
    form.locator("#id_residence_city").select_option(label="杭州市")  # filled by htmx from the province
    form.locator("#id_residence_district").select_option(label="西湖区")
    form.get_by_label("旅行").first.check()
    form.locator("#id_pref-age_min").fill("28")
    form.locator("#id_pref-age_max").fill("36")
    form.locator("#id_pref-height_min").fill("172")
    form.locator("#id_pref-education_min").select_option("4")
    form.locator("input[name='pref-must_tag_ids']").first.check()
    form.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    page.screenshot(path=artifacts / "member-form-after-save.png", full_page=True)
    page.get_by_role("heading", name="林晓雨").wait_for()
    member = Member.unscoped.get(agency=agency, name="林晓雨")
    assert member.phone == "13905712233"
    assert member.residence_city == "3301"
    assert member.tag_ids

    page.goto(f"{base_url}/staff/members/")
    filters = page.locator("#member-filter")
    filters.locator("#id_gender").select_option("female")
    filters.locator("summary").click()
    filters.locator("#id_age_min").fill("30")
    filters.locator("#id_age_max").fill("33")
    filters.locator("#id_city").select_option(label="杭州市")
    filters.get_by_role("button", name="筛选").click()
    page.wait_for_url("**/staff/members/?*gender=female*")
    assert "age_min=30" in page.url  # the filtered list can be bookmarked
    page.screenshot(path=artifacts / "member-list-filtered.png", full_page=True)
    page.locator("#member-table").get_by_role("link", name="林晓雨").click()

    page.get_by_role("heading", name="择偶条件").wait_for()
    assert page.locator("#preferences").get_by_text("28 – 36").is_visible()
    assert page.get_by_text("浙江省 杭州市 西湖区").is_visible()
    assert page.get_by_text("139****2233").is_visible()  # masked: this role cannot reveal contacts
    assert page.locator("#timeline li[data-kind='registration']").count() == 1
    page.screenshot(path=artifacts / "member-360.png", full_page=True)
