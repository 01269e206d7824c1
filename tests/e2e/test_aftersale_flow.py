"""An after-sale matchmaker recommends a member's top candidate, books their meeting and records both sides' feedback.

Two after-sale matchmakers in sibling branches, as in a real agency: 小林 serves 林若溪, 小周 serves 张明远. 小林
cannot see 张明远's record (the library shows him masked, with 小周 to call), so the candidate side's answer
and his feedback after the meeting are recorded by 小周, in a browser of his own. This keeps the flow honest
about who may record what, instead of a manager who sees both members and could answer for either.

The matching and appointment pages may not have a Chinese catalogue yet: elements are found by id, name,
CSS class and form action, never by their label.
"""

import datetime
import re

import pytest
from django.utils import timezone

from apps.appointments.models import Appointment, AppointmentFeedback
from apps.finance.models import Contract
from apps.matching.models import Recommendation
from apps.members.models import Member
from tests.appointments.factories import APPOINTMENT_PERMS, move_to_past
from tests.e2e.test_site_settings_flow import _login
from tests.finance.factories import PackageFactory, contract, finance_team
from tests.matching.factories import person, wants
from tests.matchmakers.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AFTERSALE_PERMS = sorted({
    *APPOINTMENT_PERMS, "matchmakers.edit_members", "matchmakers.view_matches", "matchmakers.add_matches",
    "matchmakers.edit_matches",
})  # fmt: skip
REASON = "两人都在杭州工作，年龄相差四岁，都喜欢旅行，家庭观念接近。"


def _new_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def _served(agency, team, member, *, recommendations, appointments):
    """An effective contract (approved, started yesterday) granting these entitlements."""
    Member.unscoped.filter(pk=member.pk).update(presale_owner=team["sales"])
    package = PackageFactory(agency=agency, recommendations=recommendations, appointments=appointments)
    return contract(agency, sales=team["sales"], finance=team["finance"], member_obj=member, package=package,
                    status="approved", service_start=timezone.localdate() - datetime.timedelta(days=1))  # fmt: skip


def _submit(page, button):
    """Click a form's submit button and wait for the page the POST redirects to."""
    with page.expect_navigation():
        button.click()


def test_aftersale_matchmaker_recommends_the_top_candidate_books_the_meeting_and_records_both_feedbacks(
    page, browser, live_server, agency, artifacts
):
    team = finance_team(agency)
    hers = UserFactory(agency=agency, username="xiaolin", name="小林", perms=AFTERSALE_PERMS)
    his = UserFactory(agency=agency, username="xiaozhou", name="小周", perms=AFTERSALE_PERMS)
    her = person(agency, "female", 28, owner=hers, name="林若溪")
    him = person(agency, "male", 32, owner=his, name="张明远")
    # Meets her criteria too, but lives in 南京 and is at the edge of her age range: a weaker match.
    other = person(agency, "male", 35, owner=his, name="王浩然", residence_province="32", residence_city="3201")
    wants(her, age_min=28, age_max=36, height_min=170)
    wants(him, age_min=24, age_max=32)
    wants(other, age_min=25, age_max=35)
    her_contract = _served(agency, team, her, recommendations=5, appointments=3)
    his_contract = _served(agency, team, him, recommendations=5, appointments=3)
    base_url = f"{live_server.url}/a/anhe"

    # 小林 opens 林若溪's page, then her match library.
    _login(page, base_url, "xiaolin")
    page.goto(f"{base_url}/staff/members/{her.pk}/")
    page.locator(f"#matching-panel a[href$='/staff/members/{her.pk}/matches/']").click()
    page.wait_for_url(f"{base_url}/staff/members/{her.pk}/matches/")
    cards = page.locator("#candidates .candidate")
    cards.first.wait_for()
    assert [int(pk) for pk in cards.evaluate_all("cards => cards.map(card => card.dataset.candidate)")] == [
        him.pk, other.pk,
    ]  # fmt: skip
    scores = [int(text) for text in cards.locator(".match-score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1] > 0
    top = page.locator(f".candidate[data-candidate='{him.pk}']")
    assert top.locator(".match-score").is_visible()
    assert "张明远" not in top.inner_text()  # not 小林's member: masked, with his matchmaker to call
    assert "小周" in top.inner_text()
    assert top.locator(".reasons li").count() > 0
    page.screenshot(path=artifacts / "aftersale-library.png", full_page=True)

    # Recommend him with a reason of her own.
    form = top.locator("form.recommend-form")
    assert form.locator("textarea[name='reason']").input_value()  # proposed from the engine's reasons
    form.locator("textarea[name='reason']").fill(REASON)
    _submit(page, form.locator("button[type=submit]"))
    assert page.url == f"{base_url}/staff/members/{her.pk}/matches/"
    recommendation = Recommendation.unscoped.get(agency=agency, member=her, candidate=him)
    assert recommendation.reason == REASON
    assert recommendation.status == Recommendation.Status.PROPOSED
    assert recommendation.score == scores[0] and recommendation.recommended_by == hers
    her_contract.refresh_from_db()
    assert her_contract.recommendations_used == 1
    assert Contract.unscoped.get(pk=his_contract.pk).recommendations_used == 0  # the candidate's is untouched
    row = page.locator(f"li[data-recommendation='{recommendation.pk}']")
    assert REASON in row.inner_text()
    assert row.locator(".released-contacts").count() == 0 and him.phone not in page.content()
    assert page.locator(f".candidate[data-candidate='{him.pk}']").count() == 0  # never the same pair twice
    page.screenshot(path=artifacts / "aftersale-recommended.png", full_page=True)

    # She likes him: 小林 records her answer.
    _submit(page, row.locator(".answer-member form[action$='/member/accept/'] button"))
    recommendation.refresh_from_db()
    assert recommendation.status == Recommendation.Status.MEMBER_ACCEPTED
    assert row.locator(".answer-member").count() == 0

    # 小周 records his side's answer from 张明远's library.
    his_context, his_page = _new_page(browser)
    _login(his_page, base_url, "xiaozhou")
    his_page.goto(f"{base_url}/staff/members/{him.pk}/matches/")
    his_row = his_page.locator(f"li[data-recommendation='{recommendation.pk}']")
    his_page.screenshot(path=artifacts / "aftersale-candidate-side.png", full_page=True)
    _submit(his_page, his_row.locator(".answer-candidate form[action$='/candidate/accept/'] button"))
    recommendation.refresh_from_db()
    assert recommendation.status == Recommendation.Status.ACCEPTED
    assert his_row.locator(".answer-candidate").count() == 0

    # Both accepted: his contacts are released to 小林, who books their first meeting from the recommendation.
    page.reload()
    assert him.phone in row.locator(".released-contacts").inner_text()
    row.locator("a.book-appointment").click()
    page.wait_for_url(f"{base_url}/staff/appointments/new/?recommendation={recommendation.pk}")
    booking = page.locator("#appointment-form")
    assert booking.locator("#id_member_a_no").input_value() == her.member_no
    assert booking.locator("#id_member_b_no").input_value() == him.member_no
    assert booking.locator("#id_recommendation").input_value() == str(recommendation.pk)
    starts_at = timezone.localtime() + datetime.timedelta(days=3)
    starts_at = starts_at.replace(hour=15, minute=0, second=0, microsecond=0)
    booking.locator("#id_starts_at").fill(starts_at.strftime("%Y-%m-%dT%H:%M"))
    booking.locator("#id_place").fill("星巴克(西湖文化广场店)")
    booking.locator("#id_note").fill("她喜欢安静的位置")
    page.screenshot(path=artifacts / "aftersale-booking.png", full_page=True)
    _submit(page, booking.locator("button[type=submit]"))
    assert re.fullmatch(rf"{re.escape(base_url)}/staff/appointments/\d+/", page.url)
    appointment = Appointment.unscoped.get(agency=agency, recommendation=recommendation)
    assert page.url == f"{base_url}/staff/appointments/{appointment.pk}/"
    assert (appointment.member_a, appointment.member_b) == (her, him)
    assert appointment.starts_at == starts_at and appointment.status == Appointment.Status.PLANNED
    assert (appointment.matchmaker_a, appointment.matchmaker_b, appointment.arranged_by) == (hers, his, hers)
    recommendation.refresh_from_db()
    assert recommendation.status == Recommendation.Status.APPOINTMENT
    her_contract.refresh_from_db()
    his_contract.refresh_from_db()
    assert her_contract.appointments_used == 1 and his_contract.appointments_used == 1
    assert (appointment.contract_a, appointment.contract_b) == (her_contract, his_contract)
    assert page.locator("#appointment-actions form[action$='/done/']").count() == 0  # not before they meet
    page.screenshot(path=artifacts / "aftersale-booked.png", full_page=True)

    # The meeting took place.
    move_to_past(appointment)
    page.reload()
    _submit(page, page.locator(f"#appointment-actions form[action$='/appointments/{appointment.pk}/done/'] button"))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.DONE and appointment.closed_by == hers

    # 小林 records her feedback, 小周 his.
    feedback = page.locator("#feedback-form")
    feedback.locator("#id_side").select_option("a")
    feedback.locator("#id_rating").select_option("5")
    feedback.locator("input[name='wants_to_continue'][value='yes']").check()
    feedback.locator("#id_text").fill("他很体贴，聊得很投机，想再见一面。")
    page.screenshot(path=artifacts / "aftersale-done.png", full_page=True)
    _submit(page, feedback.locator("button[type=submit]"))

    his_page.goto(f"{base_url}/staff/appointments/{appointment.pk}/")
    his_feedback = his_page.locator("#feedback-form")
    his_feedback.locator("#id_side").select_option("b")
    his_feedback.locator("#id_rating").select_option("3")
    his_feedback.locator("input[name='wants_to_continue'][value='no']").check()
    his_feedback.locator("#id_text").fill("觉得她人不错，但性格不太合适。")
    _submit(his_page, his_feedback.locator("button[type=submit]"))
    his_context.close()

    rows = {item.member_id: item for item in AppointmentFeedback.unscoped.filter(appointment=appointment)}
    assert set(rows) == {her.pk, him.pk}
    assert (rows[her.pk].rating, rows[her.pk].wants_to_continue, rows[her.pk].recorded_by) == (5, True, hers)
    assert rows[her.pk].text == "他很体贴，聊得很投机，想再见一面。"
    assert (rows[him.pk].rating, rows[him.pk].wants_to_continue, rows[him.pk].recorded_by) == (3, False, his)
    assert rows[him.pk].text == "觉得她人不错，但性格不太合适。"

    page.reload()
    shown = page.locator("#feedback").inner_text()
    assert "他很体贴" in shown and "性格不太合适" in shown
    page.screenshot(path=artifacts / "aftersale-feedback.png", full_page=True)
