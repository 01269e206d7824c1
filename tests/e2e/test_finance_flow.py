"""Sales enters a contract, finance approves it and records the payment, the member waits in the after-sale pool.

The finance pages have no Chinese catalogue yet: elements are found by id, name and form action, never by
their label, so the test keeps working once the translations land.
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.finance.models import Contract, Instalment, Payment
from apps.members.models import Member
from tests.e2e.test_site_settings_flow import _login
from tests.finance.factories import FINANCE_PERMS, SALES_PERMS, PackageFactory, member
from tests.matchmakers.factories import RoleFactory, UserFactory, root_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POOL_PERMS = ["matchmakers.view_members", "matchmakers.view_assignment", "matchmakers.assign_members"]


def _new_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def test_sales_enters_a_contract_finance_approves_and_confirms_payment_member_joins_dealt_pool(
    page, browser, live_server, agency, artifacts
):
    package = PackageFactory(agency=agency, name="钻石会员", price=Decimal("19800.00"), duration_months=12)
    sales_role = RoleFactory(agency=agency, parent=root_role(agency), name="签约顾问组", perms=SALES_PERMS)
    finance_role = RoleFactory(agency=agency, parent=root_role(agency), name="财务审核组", perms=FINANCE_PERMS)
    sales = UserFactory(agency=agency, username="xiaowang", name="小王", role=sales_role)
    UserFactory(agency=agency, username="caiwu", name="财务小李", role=finance_role)
    UserFactory(agency=agency, username="boss", name="李经理", perms=POOL_PERMS)
    client = member(agency, owner=sales, name="周小姐")
    Member.unscoped.filter(pk=client.pk).update(gender="female")
    base_url = f"{live_server.url}/a/anhe"

    # Sales: member page → New contract → pick the package → save as draft → submit.
    _login(page, base_url, "xiaowang")
    page.goto(f"{base_url}/staff/members/{client.pk}/")
    page.locator(f"#contracts-panel a[href$='/staff/finance/contracts/new/?member={client.pk}']").click()
    page.wait_for_url(f"{base_url}/staff/finance/contracts/new/?member={client.pk}")
    form = page.locator("#contract-form")
    assert form.locator("#id_member_no").input_value() == client.member_no
    form.locator("#id_package").select_option(str(package.pk))
    form.locator("#id_amount").fill("19800")
    form.locator("#id_payment_type").select_option("full")
    form.locator("#id_notes").fill("门店签约")
    page.screenshot(path=artifacts / "contract-form.png", full_page=True)
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base_url}/staff/finance/contracts/*/")
    contract = Contract.unscoped.get(agency=agency, member=client)
    assert page.url == f"{base_url}/staff/finance/contracts/{contract.pk}/"
    assert contract.status == Contract.Status.DRAFT
    assert contract.amount == package.price and contract.salesperson == sales
    # The instalment rows stayed empty: the service proposes the full-payment schedule.
    assert Instalment.unscoped.filter(contract=contract).count() == 1
    page.screenshot(path=artifacts / "contract-draft.png", full_page=True)

    page.locator("#contract-actions form[action$='/submit/'] button").click()
    page.locator("#contract-actions form[action$='/withdraw/']").wait_for()  # the page now shows it as submitted
    contract.refresh_from_db()
    assert contract.status == Contract.Status.SUBMITTED
    assert page.locator("#payment-form").count() == 0  # sales may not record payments

    # Finance: approve, record the full amount, confirm it.
    finance_context, finance = _new_page(browser)
    _login(finance, base_url, "caiwu")
    finance.goto(f"{base_url}/staff/finance/contracts/{contract.pk}/")
    finance.screenshot(path=artifacts / "contract-submitted.png", full_page=True)
    finance.locator("#contract-actions form[action$='/approve/'] button").click()
    finance.locator("#contract-actions form[action$='/complete/']").wait_for()  # effective now
    contract.refresh_from_db()
    assert contract.status == Contract.Status.APPROVED

    payment_form = finance.locator("#payment-form")
    payment_form.locator("#id_amount").fill(str(contract.amount))
    payment_form.locator("#id_method").select_option("wechat")
    paid_at = timezone.localtime() - datetime.timedelta(minutes=2)
    payment_form.locator("#id_paid_at").fill(paid_at.strftime("%Y-%m-%dT%H:%M"))
    payment_form.locator("#id_reference").fill("WX20260101001")
    payment_form.locator("button[type=submit]").click()
    confirm = finance.locator("#payment-table form[action$='/confirm/'] button")
    confirm.wait_for()
    payment = Payment.unscoped.get(contract=contract)
    assert payment.status == Payment.Status.RECORDED and payment.amount == contract.amount
    assert payment.reference == "WX20260101001"
    finance.screenshot(path=artifacts / "contract-payment-recorded.png", full_page=True)
    confirm.click()
    finance.wait_for_url(f"{base_url}/staff/finance/contracts/{contract.pk}/")
    confirm.wait_for(state="detached")
    finance.screenshot(path=artifacts / "contract-paid.png", full_page=True)
    finance_context.close()

    contract.refresh_from_db()
    payment.refresh_from_db()
    client.refresh_from_db()
    assert contract.status == Contract.Status.APPROVED
    assert contract.paid_amount == contract.amount == Decimal("19800.00")
    assert payment.status == Payment.Status.CONFIRMED
    assert client.status == Member.Status.SIGNED and client.aftersale_owner is None

    # The manager finds the member in the dealt pool, waiting for an after-sale matchmaker.
    manager_context, manager = _new_page(browser)
    _login(manager, base_url, "boss")
    manager.goto(f"{base_url}/staff/assignment/?pool=dealt")
    table = manager.locator("#member-table")
    assert table.locator(f"input[name='members'][value='{client.pk}']").count() == 1
    assert table.get_by_text("周小姐").is_visible()
    manager.screenshot(path=artifacts / "pool-dealt.png", full_page=True)
    manager_context.close()

    # Back on the member page, sales sees the contract in effect.
    page.goto(f"{base_url}/staff/members/{client.pk}/")
    panel = page.locator("#contracts-panel")
    assert panel.locator(f"a[href$='/staff/finance/contracts/{contract.pk}/']").is_visible()
    assert contract.number in panel.inner_text()
    page.screenshot(path=artifacts / "member-contract-effective.png", full_page=True)
