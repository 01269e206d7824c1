"""Profile changes from the portal apply only when the matchmaker approves, shown as a diff."""

import pytest
from django.urls import reverse

from apps.members.models import Member, PartnerPreference
from apps.portal.models import ProfileChangeRequest
from tests.conftest import agency_client
from tests.matching.factories import person, wants
from tests.matchmakers.factories import UserFactory
from tests.portal.conftest import PORTAL_STAFF_PERMS
from tests.portal.factories import member_client

pytestmark = pytest.mark.django_db


def _form(member: Member, **changes) -> dict:
    """The portal profile form as the member would post it, with `changes` applied."""
    preference = PartnerPreference.unscoped.filter(member=member).first() or PartnerPreference()
    data = {
        "wechat": member.wechat, "email": member.email, "height_cm": member.height_cm or "",
        "weight_kg": member.weight_kg or "", "education": member.education or "", "occupation": member.occupation,
        "industry": member.industry, "income": member.income or "", "marital_status": member.marital_status,
        "children": member.children, "housing": member.housing,
        "has_car": {True: "true", False: "false", None: "unknown"}[member.has_car],
        "residence_city": member.residence_city, "smoking": member.smoking, "drinking": member.drinking,
        "self_intro": member.self_intro,
        "pref-age_min": preference.age_min or "", "pref-age_max": preference.age_max or "",
        "pref-height_min": preference.height_min or "", "pref-height_max": preference.height_max or "",
        "pref-education_min": preference.education_min or "", "pref-income_min": preference.income_min or "",
        "pref-marital_statuses": preference.marital_statuses,
        "pref-accepts_children": "on" if preference.accepts_children else "", "pref-notes": preference.notes,
    }  # fmt: skip
    data.update(changes)
    return data


def _submit(browser, member, **changes):
    return browser.post(reverse("portal:profile"), _form(member, **changes), HTTP_ACCEPT_LANGUAGE="en")


def test_the_profile_page_shows_the_members_values(agency, she):
    page = member_client(agency, she).get(reverse("portal:profile"))
    assert page.status_code == 200
    assert page.context["profile_form"].initial["height_cm"] == 165


def test_changes_wait_for_approval_then_apply(agency, matchmaker, she):
    wants(she, age_min=28, age_max=35)
    browser = member_client(agency, she)
    response = _submit(browser, she, height_cm=166, self_intro="喜欢爬山和做饭", **{"pref-age_max": 38})
    assert response.status_code == 302
    change = ProfileChangeRequest.unscoped.get(member=she)
    assert change.status == "pending"
    assert change.changes == {
        "profile": {"height_cm": {"old": 165, "new": 166}, "self_intro": {"old": "", "new": "喜欢爬山和做饭"}},
        "preference": {"age_max": {"old": 35, "new": 38}},
    }
    she.refresh_from_db()
    assert she.height_cm == 165 and she.self_intro == ""  # nothing applied yet
    assert "awaiting review" in browser.get(reverse("portal:profile"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    staff = agency_client(agency, matchmaker)
    detail = staff.get(reverse("portal_staff:change_detail", args=[change.pk]), HTTP_ACCEPT_LANGUAGE="en")
    rows = {row["label"]: (row["old"], row["new"]) for row in detail.context["rows"]}
    assert rows["height (cm)"] == ("165", "166") and rows["age to"] == ("35", "38")
    assert staff.post(reverse("portal_staff:change_approve", args=[change.pk])).status_code == 302

    she.refresh_from_db()
    assert she.height_cm == 166 and she.self_intro == "喜欢爬山和做饭"
    assert PartnerPreference.unscoped.get(member=she).age_max == 38
    change.refresh_from_db()
    assert change.status == "approved" and change.decided_by == matchmaker and change.decided_at is not None


def test_a_rejection_needs_a_reason_the_member_then_reads(agency, matchmaker, she):
    browser = member_client(agency, she)
    _submit(browser, she, occupation="教师")
    change = ProfileChangeRequest.unscoped.get(member=she)
    staff = agency_client(agency, matchmaker)
    url = reverse("portal_staff:change_reject", args=[change.pk])
    response = staff.post(url, {"reason": ""}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Nothing was changed" in response.content.decode()
    change.refresh_from_db()
    assert change.status == "pending"
    staff.post(url, {"reason": "职业请带上工作单位证明"})
    change.refresh_from_db()
    assert change.status == "rejected"
    she.refresh_from_db()
    assert she.occupation == ""
    assert "职业请带上工作单位证明" in browser.get(reverse("portal:profile")).content.decode()


def test_bad_values_are_refused_at_once_and_nothing_is_stored(agency, she):
    response = _submit(member_client(agency, she), she, height_cm=500, **{"pref-age_min": 40, "pref-age_max": 30})
    assert response.status_code == 400
    assert not ProfileChangeRequest.unscoped.exists()


def test_an_inconsistent_wish_is_refused_by_the_model_rules(agency, she):
    response = _submit(member_client(agency, she), she, **{"pref-age_min": 40, "pref-age_max": 30})
    assert response.status_code == 400
    assert "The lowest age must not be above the highest." in response.content.decode()
    assert not ProfileChangeRequest.unscoped.exists()


def test_an_unchanged_form_stores_nothing(agency, she):
    response = _submit(member_client(agency, she), she)
    assert response.status_code == 302
    assert not ProfileChangeRequest.unscoped.exists()


def test_a_new_submission_replaces_the_pending_one_and_the_member_can_withdraw(agency, she):
    browser = member_client(agency, she)
    _submit(browser, she, occupation="教师")
    _submit(browser, she, occupation="医生")
    first, second = ProfileChangeRequest.unscoped.order_by("pk")
    assert (first.status, second.status) == ("withdrawn", "pending")
    assert browser.post(reverse("portal:profile_withdraw", args=[second.pk])).status_code == 302
    second.refresh_from_db()
    assert second.status == "withdrawn"


def test_identity_fields_cannot_be_changed_from_the_portal(agency, she):
    _submit(member_client(agency, she), she, name="别人", phone="13900000000", gender="male", occupation="教师")
    change = ProfileChangeRequest.unscoped.get(member=she)
    assert set(change.changes["profile"]) == {"occupation"}


def test_approval_stays_inside_the_agency_and_the_role_tree(agency, other_agency, matchmaker, colleague, she):
    _submit(member_client(agency, she), she, occupation="教师")
    change = ProfileChangeRequest.unscoped.get(member=she)
    outsider = UserFactory(agency=other_agency, username="boss", perms=PORTAL_STAFF_PERMS)
    no_edit = UserFactory(agency=agency, username="viewer", perms=["matchmakers.view_members"])
    Member.unscoped.filter(pk=she.pk).update(presale_owner=no_edit)
    for client, status in (
        (agency_client(other_agency, outsider), 404),
        (agency_client(agency, colleague), 404),
        (agency_client(agency, no_edit), 403),
    ):
        assert client.post(reverse("portal_staff:change_approve", args=[change.pk])).status_code == status
        assert client.post(reverse("portal_staff:change_reject", args=[change.pk]), {"reason": "x"}).status_code \
            == status  # fmt: skip
    assert agency_client(other_agency, outsider).get(reverse("portal_staff:change_detail", args=[change.pk])) \
        .status_code == 404  # fmt: skip
    assert "林小雨" not in agency_client(agency, colleague).get(reverse("portal_staff:changes")).content.decode()
    change.refresh_from_db()
    assert change.status == "pending"
    she.refresh_from_db()
    assert she.occupation == ""


def test_a_member_cannot_withdraw_another_members_request(agency, she, matchmaker):
    other = person(agency, "female", 33, owner=matchmaker)
    _submit(member_client(agency, other), other, occupation="律师")
    theirs = ProfileChangeRequest.unscoped.get(member=other)
    assert member_client(agency, she).post(reverse("portal:profile_withdraw", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "pending"


def test_the_review_list_keeps_its_query_count(agency, matchmaker, she, django_assert_max_num_queries):
    _submit(member_client(agency, she), she, occupation="教师")
    staff = agency_client(agency, matchmaker)
    with django_assert_max_num_queries(15) as one:
        staff.get(reverse("portal_staff:changes"))
    few = len(one.captured_queries)
    for n in range(15):
        member = person(agency, "male", 30 + n % 5, owner=matchmaker)
        _submit(member_client(agency, member), member, occupation=f"工程师{n}")
    with django_assert_max_num_queries(few):
        assert len(staff.get(reverse("portal_staff:changes")).context["page"]) == 16


def test_approval_refuses_to_overwrite_a_field_changed_since_unless_told(agency, matchmaker, she):
    _submit(member_client(agency, she), she, occupation="教师", height_cm=166)
    change = ProfileChangeRequest.unscoped.get(member=she)
    Member.unscoped.filter(pk=she.pk).update(occupation="医生")  # a colleague edited it meanwhile
    staff = agency_client(agency, matchmaker)
    detail = staff.get(reverse("portal_staff:change_detail", args=[change.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert 'name="overwrite"' in detail.content.decode()
    url = reverse("portal_staff:change_approve", args=[change.pk])
    response = staff.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "changed on the profile since the member sent this request" in response.content.decode()
    she.refresh_from_db()
    assert (she.occupation, she.height_cm) == ("医生", 165)
    staff.post(url, {"overwrite": "on"})
    she.refresh_from_db()
    assert (she.occupation, she.height_cm) == ("教师", 166)
