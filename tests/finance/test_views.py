"""Contract, payment, refund, package and settings pages.

Each: the happy path, bad input, a user of another agency, a role without the right.
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from apps.agencies.context import agency_context
from apps.finance import services
from apps.finance.models import Contract, ContractEvent, FinanceSettings, Instalment, Payment, Refund, ServicePackage
from apps.members.models import Member
from apps.members.services import member_share
from tests.conftest import agency_client
from tests.finance.factories import FINANCE_PERMS, PackageFactory, contract, finance_team, member
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def team(agency):
    return finance_team(agency)


@pytest.fixture
def package(agency):
    return PackageFactory(agency=agency, name="金卡会员", price=Decimal("12000.00"), recommendations=10, appointments=5)


@pytest.fixture
def outsider(other_agency):
    """Finance of another agency: every right, none of this agency's data."""
    perms = [*FINANCE_PERMS, "matchmakers.add_contracts", "matchmakers.add_refunds", "matchmakers.edit_settings"]
    return UserFactory(agency=other_agency, username="finance", perms=perms)


@pytest.fixture
def stranger(agency):
    """A matchmaker of this agency whose role has no finance rights at all."""
    return UserFactory(agency=agency, username="stranger", perms=["matchmakers.view_members"])


def url(name, *args):
    from django.urls import reverse

    return reverse(f"finance:{name}", args=args)


def approved(agency, team, package, **kwargs):
    return contract(agency, sales=team["sales"], finance=team["finance"], package=package, status="approved", **kwargs)


# --- contract list ---------------------------------------------------------------------------------


def test_contract_list_shows_sales_their_contracts_and_finance_all(agency, team, package):
    own = contract(agency, sales=team["sales"], package=package)
    others = contract(agency, sales=team["manager"], package=package)  # the manager's own sale
    sales_page = agency_client(agency, team["sales"]).get(url("contracts"))
    assert sales_page.status_code == 200
    assert own.number in sales_page.text and others.number not in sales_page.text
    finance_page = agency_client(agency, team["finance"]).get(url("contracts"))
    assert own.number in finance_page.text and others.number in finance_page.text
    manager_page = agency_client(agency, team["manager"]).get(url("contracts"))
    assert own.number in manager_page.text  # sold by the manager's team


def test_contract_list_searches_by_number_member_and_status(agency, team, package):
    first = contract(
        agency, sales=team["sales"], package=package, member_obj=member(agency, team["sales"], name="张晓雨")
    )
    second = contract(agency, sales=team["sales"], package=package, status="submitted")
    client = agency_client(agency, team["finance"])
    assert [c.number for c in client.get(url("contracts"), {"q": "晓雨"}).context["page"]] == [first.number]
    assert [c.number for c in client.get(url("contracts"), {"q": second.number}).context["page"]] == [second.number]
    assert [c.number for c in client.get(url("contracts"), {"status": "submitted"}).context["page"]] == [second.number]


def test_contract_list_with_a_bad_filter_says_so_and_lists_nothing_wrong(agency, team, package):
    contract(agency, sales=team["sales"], package=package)
    response = agency_client(agency, team["finance"]).get(url("contracts"), {"status": "nonsense"}, **EN)
    assert response.status_code == 200
    assert "Select a valid choice" in response.text


def test_contract_list_query_count_is_constant(agency, team, package, django_assert_max_num_queries):
    client = agency_client(agency, team["finance"])
    contract(agency, sales=team["sales"], package=package)
    client.get(url("contracts"))
    with django_assert_max_num_queries(12) as few:
        client.get(url("contracts"))
    for _ in range(15):
        contract(agency, sales=team["sales"], package=package)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url("contracts")).context["page"]) == 16


def test_contracts_are_closed_to_other_agencies_and_roles_without_the_right(agency, team, package, outsider, stranger):
    other_agency = outsider.agency
    mine = contract(agency, sales=team["sales"], package=package)
    foreign = agency_client(other_agency, outsider)
    assert mine.number not in foreign.get(url("contracts")).text
    assert foreign.get(url("contract", mine.pk)).status_code == 404
    assert foreign.get(url("contract_print", mine.pk)).status_code == 404
    assert foreign.post(url("contract_action", mine.pk, "submit")).status_code == 404
    # Logged in elsewhere, the session is not valid on this agency's host.
    assert agency_client(agency, outsider).get(url("contracts")).status_code in (302, 403)
    denied = agency_client(agency, stranger)
    assert denied.get(url("contracts")).status_code == 403
    assert denied.get(url("contract", mine.pk)).status_code == 403
    assert denied.get(url("contract_create")).status_code == 403


# --- entering and changing contracts ---------------------------------------------------------------


def test_sales_enter_a_contract_with_a_deposit_schedule(agency, team, package):
    client = agency_client(agency, team["sales"])
    person = member(agency, team["sales"])
    form = client.get(url("contract_create"), {"member": person.pk})
    assert form.status_code == 200 and person.member_no in form.text
    start = timezone.localdate()
    response = client.post(url("contract_create"), {
        "member_no": person.member_no, "package": package.pk, "amount": "10000", "payment_type": "deposit",
        "service_start": start.isoformat(), "service_end": "", "salesperson": team["sales"].pk, "notes": "老客户介绍",
        "instalments-TOTAL_FORMS": "3", "instalments-INITIAL_FORMS": "0",
        "instalments-0-due_date": start.isoformat(), "instalments-0-amount": "3000",
        "instalments-1-due_date": (start + datetime.timedelta(days=30)).isoformat(), "instalments-1-amount": "7000",
        "instalments-2-due_date": "", "instalments-2-amount": "",
    })  # fmt: skip
    created = Contract.unscoped.get(agency=agency, member=person)
    assert response.status_code == 302 and response["Location"] == url("contract", created.pk)
    assert created.status == "draft" and created.amount == Decimal("10000.00")
    assert created.service_end == services.default_service_end(start, 12)
    assert [row.amount for row in Instalment.unscoped.filter(contract=created).order_by("position")] == [
        Decimal("3000"),
        Decimal("7000"),
    ]
    assert (created.recommendations_total, created.appointments_total) == (10, 5)
    page = client.get(url("contract", created.pk))
    assert page.status_code == 200 and created.number in page.text


def test_a_schedule_that_does_not_add_up_is_refused_and_nothing_is_saved(agency, team, package):
    client = agency_client(agency, team["sales"])
    person = member(agency, team["sales"])
    response = client.post(url("contract_create"), {
        "member_no": person.member_no, "package": package.pk, "amount": "10000", "payment_type": "deposit",
        "service_start": "2026-12-01", "salesperson": team["sales"].pk,
        "instalments-TOTAL_FORMS": "2", "instalments-INITIAL_FORMS": "0",
        "instalments-0-due_date": "2026-12-01", "instalments-0-amount": "3000",
        "instalments-1-due_date": "2027-01-01", "instalments-1-amount": "6000",
    }, **EN)  # fmt: skip
    assert response.status_code == 400
    assert "add up to 9000.00 yuan, not the contract amount of 10000.00 yuan" in response.text
    assert not Contract.unscoped.filter(agency=agency).exists()


def test_a_member_number_nobody_may_see_is_refused(agency, team, package, other_agency):
    foreign_member = member(other_agency)
    hidden = member(agency, team["manager"])  # the salesperson cannot see the manager's members
    client = agency_client(agency, team["sales"])
    for member_no in (foreign_member.member_no, hidden.member_no, "NOPE"):
        response = client.post(url("contract_create"), {
            "member_no": member_no, "package": package.pk, "payment_type": "full", "service_start": "2026-12-01",
            "salesperson": team["sales"].pk, "instalments-TOTAL_FORMS": "0", "instalments-INITIAL_FORMS": "0",
        }, **EN)  # fmt: skip
        assert response.status_code == 400
        assert "No member you can see has this number." in response.text
    assert not Contract.unscoped.exists()


def test_another_agencys_package_cannot_be_chosen(agency, team, other_agency):
    foreign_package = PackageFactory(agency=other_agency)
    person = member(agency, team["sales"])
    response = agency_client(agency, team["sales"]).post(url("contract_create"), {
        "member_no": person.member_no, "package": foreign_package.pk, "payment_type": "full",
        "service_start": "2026-12-01", "salesperson": team["sales"].pk,
        "instalments-TOTAL_FORMS": "0", "instalments-INITIAL_FORMS": "0",
    })  # fmt: skip
    assert response.status_code == 400
    assert not Contract.unscoped.exists()


def test_the_salesperson_edits_a_draft_and_the_history_keeps_before_and_after(agency, team, package):
    draft = contract(agency, sales=team["sales"], package=package)
    client = agency_client(agency, team["sales"])
    assert client.get(url("contract_edit", draft.pk)).status_code == 200
    response = client.post(url("contract_edit", draft.pk), {
        "member_no": draft.member.member_no, "package": package.pk, "amount": "11000", "payment_type": "full",
        "service_start": draft.service_start.isoformat(), "service_end": draft.service_end.isoformat(),
        "salesperson": team["sales"].pk, "instalments-TOTAL_FORMS": "0", "instalments-INITIAL_FORMS": "0",
    })  # fmt: skip
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.amount == Decimal("11000.00")
    edit = ContractEvent.unscoped.get(contract=draft, kind="edited")
    assert edit.before["amount"] == "12000.00" and edit.after["amount"] == "11000.00"
    assert edit.actor == team["sales"]


def test_an_approved_contract_cannot_be_edited_by_anyone(agency, team, package):
    signed = approved(agency, team, package)
    admin = UserFactory(agency=agency, username="boss", role=team["finance"].role.parent)  # the root role: every right
    for user in (team["sales"], team["finance"], admin):
        client = agency_client(agency, user)
        assert client.get(url("contract_edit", signed.pk)).status_code == 403
        response = client.post(url("contract_edit", signed.pk), {
            "member_no": signed.member.member_no, "package": package.pk, "amount": "1", "payment_type": "full",
            "service_start": "2026-12-01", "salesperson": team["sales"].pk,
            "instalments-TOTAL_FORMS": "0", "instalments-INITIAL_FORMS": "0",
        })  # fmt: skip
        assert response.status_code == 403
    signed.refresh_from_db()
    assert signed.amount == Decimal("12000.00")


# --- the approval flow -----------------------------------------------------------------------------


def test_submit_approve_moves_the_member_to_the_dealt_pool(agency, team, package):
    draft = contract(agency, sales=team["sales"], package=package)
    sales = agency_client(agency, team["sales"])
    assert sales.post(url("contract_action", draft.pk, "submit")).status_code == 302
    # Sales may not approve their own contract.
    assert sales.post(url("contract_action", draft.pk, "approve")).status_code == 403
    finance = agency_client(agency, team["finance"])
    page = finance.get(url("contract", draft.pk))
    assert "/approve/" in page.text
    assert finance.post(url("contract_action", draft.pk, "approve")).status_code == 302
    draft.refresh_from_db()
    assert draft.status == "approved" and draft.decided_by == team["finance"]
    person = Member.unscoped.get(pk=draft.member_id)
    assert person.status == "signed" and person.aftersale_owner is None
    admin = UserFactory(agency=agency, username="boss", role=team["finance"].role.parent)
    pool = agency_client(agency, admin).get("/staff/assignment/", {"pool": "dealt"})
    assert person.member_no in pool.text


def test_rejecting_needs_a_reason_and_changes_nothing_without_one(agency, team, package):
    submitted = contract(agency, sales=team["sales"], package=package, status="submitted")
    finance = agency_client(agency, team["finance"])
    response = finance.post(url("contract_action", submitted.pk, "reject"), {"reason": ""}, follow=True, **EN)
    assert "Say why the contract is rejected." in response.text
    submitted.refresh_from_db()
    assert submitted.status == "submitted"
    finance.post(url("contract_action", submitted.pk, "reject"), {"reason": "套餐价格填错"})
    submitted.refresh_from_db()
    assert submitted.status == "rejected" and submitted.reject_reason == "套餐价格填错"


def test_a_refused_transition_is_explained_and_changes_nothing(agency, team, package):
    draft = contract(agency, sales=team["sales"], package=package)
    response = agency_client(agency, team["finance"]).post(url("contract_action", draft.pk, "approve"), follow=True,
                                                           **EN)  # fmt: skip
    assert "A contract that is Draft cannot be approved." in response.text
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert agency_client(agency, team["sales"]).post(url("contract_action", draft.pk, "explode")).status_code == 404
    assert agency_client(agency, team["sales"]).get(url("contract_action", draft.pk, "submit")).status_code == 405


def test_a_draft_can_be_deleted_by_its_salesperson(agency, team, package):
    draft = contract(agency, sales=team["sales"], package=package)
    response = agency_client(agency, team["sales"]).post(url("contract_action", draft.pk, "delete"))
    assert response.status_code == 302
    assert not Contract.unscoped.filter(pk=draft.pk).exists()
    assert ContractEvent.unscoped.filter(contract_number=draft.number, kind="deleted").exists()


def test_renewal_from_the_expiring_list(agency, team, package):
    today = timezone.localdate()
    ending = approved(agency, team, package, service_start=today - datetime.timedelta(days=340),
                      service_end=today + datetime.timedelta(days=20))  # fmt: skip
    later = approved(agency, team, package, service_start=today - datetime.timedelta(days=100),
                     service_end=today + datetime.timedelta(days=200))  # fmt: skip
    client = agency_client(agency, team["sales"])
    page = client.get(url("expiring"))
    assert page.status_code == 200
    numbers = [c.number for c in page.context["page"]]
    assert ending.number in numbers and later.number not in numbers
    response = client.post(url("contract_action", ending.pk, "renew"))
    renewal = Contract.unscoped.get(previous=ending)
    assert response.status_code == 302 and response["Location"] == url("contract_edit", renewal.pk)
    assert renewal.status == "draft" and renewal.service_start == ending.service_end + datetime.timedelta(days=1)
    assert renewal.number in client.get(url("expiring")).text  # shown as the renewal of the ending contract
    assert agency_client(agency, UserFactory(agency=agency, perms=["matchmakers.view_members"])).get(
        url("expiring")).status_code == 403  # fmt: skip


def test_expiring_list_query_count_is_constant(agency, team, package, django_assert_max_num_queries):
    today = timezone.localdate()

    def ending():
        start, end = today - datetime.timedelta(days=300), today + datetime.timedelta(days=10)
        approved(agency, team, package, member_obj=member(agency, team["sales"]), service_start=start, service_end=end)

    ending()
    client = agency_client(agency, team["sales"])
    client.get(url("expiring"))
    with django_assert_max_num_queries(12) as few:
        client.get(url("expiring"))
    for _ in range(8):
        ending()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url("expiring")).context["page"]) == 9


# --- payments --------------------------------------------------------------------------------------


def test_finance_records_and_confirms_a_payment(agency, team, package):
    signed = approved(agency, team, package)
    finance = agency_client(agency, team["finance"])
    paid_at = timezone.localtime().replace(second=0, microsecond=0) - datetime.timedelta(hours=1)
    response = finance.post(url("payment_create", signed.pk), {
        "amount": "5000", "method": "wechat", "paid_at": paid_at.strftime("%Y-%m-%dT%H:%M"), "reference": "WX4200001",
    })  # fmt: skip
    assert response.status_code == 302
    payment = Payment.unscoped.get(contract=signed)
    assert payment.status == "recorded" and payment.recorded_by == team["finance"]
    listing = finance.get(url("payments"))
    assert payment.number in listing.text and "/confirm/" in listing.text
    finance.post(url("payment_action", payment.pk, "confirm"), {"next": url("contract", signed.pk)})
    signed.refresh_from_db()
    assert signed.paid_amount == Decimal("5000.00")
    page = finance.get(url("contract", signed.pk))
    assert page.context["amount_due"] == Decimal("7000.00")  # full payment was due at the start


def test_an_overpayment_is_refused_with_what_is_still_unpaid(agency, team, package):
    signed = approved(agency, team, package, paid=["10000"])
    response = agency_client(agency, team["finance"]).post(url("payment_create", signed.pk), {
        "amount": "2500", "method": "cash", "paid_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }, **EN)  # fmt: skip
    assert response.status_code == 400
    assert "Only 2000.00 yuan of this contract is still unpaid." in response.text
    assert Payment.unscoped.filter(contract=signed).count() == 1


def test_payments_need_the_right_and_stay_inside_the_agency(agency, team, package, outsider, other_agency):
    signed = approved(agency, team, package)
    form = {"amount": "100", "method": "cash", "paid_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}
    assert agency_client(agency, team["sales"]).post(url("payment_create", signed.pk), form).status_code == 403
    assert agency_client(other_agency, outsider).post(url("payment_create", signed.pk), form).status_code == 404
    payment = services_payment(agency, team, signed)
    assert agency_client(agency, team["sales"]).post(url("payment_action", payment.pk, "confirm")).status_code == 403
    foreign = agency_client(other_agency, outsider)
    assert foreign.post(url("payment_action", payment.pk, "confirm")).status_code == 404
    assert payment.number not in foreign.get(url("payments")).text
    payment.refresh_from_db()
    assert payment.status == "recorded"
    assert Payment.unscoped.filter(contract=signed).count() == 1


def services_payment(agency, team, signed, amount="100", when=None):
    with agency_context(agency):
        return services.payment_record(agency=agency, actor=team["finance"], contract=signed, amount=Decimal(amount),
                                       method="alipay", paid_at=when or timezone.now())  # fmt: skip


def test_payment_list_windows_and_search(agency, team, package):
    signed = approved(agency, team, package, member_obj=member(agency, team["sales"], name="林若溪"))
    recent = services_payment(agency, team, signed, when=timezone.now() - datetime.timedelta(days=2))
    older = services_payment(agency, team, signed, when=timezone.now() - datetime.timedelta(days=20))
    oldest = services_payment(agency, team, signed, when=timezone.now() - datetime.timedelta(days=60))
    client = agency_client(agency, team["finance"])

    def numbers(**params):
        return {p.number for p in client.get(url("payments"), params).context["page"]}

    assert numbers() == {recent.number}  # the last 7 days by default
    assert numbers(window="month") == {recent.number, older.number}
    assert numbers(window="all") == {recent.number, older.number, oldest.number}
    assert numbers(window="all", q="若溪") == {recent.number, older.number, oldest.number}
    assert numbers(window="all", q=older.number) == {older.number}
    assert numbers(window="all", q=signed.number) == {recent.number, older.number, oldest.number}
    day = timezone.localtime(older.paid_at).date().isoformat()
    assert numbers(window="all", paid_from=day, paid_to=day) == {older.number}


def test_payment_reject_needs_a_reason(agency, team, package):
    signed = approved(agency, team, package)
    payment = services_payment(agency, team, signed)
    client = agency_client(agency, team["finance"])
    response = client.post(url("payment_action", payment.pk, "reject"), {"reason": ""}, follow=True, **EN)
    assert "Say why the payment is not accepted." in response.text
    payment.refresh_from_db()
    assert payment.status == "recorded"
    client.post(url("payment_action", payment.pk, "reject"), {"reason": "查无此款"})
    payment.refresh_from_db()
    assert payment.status == "rejected" and payment.reject_reason == "查无此款"


def test_payment_list_query_count_is_constant(agency, team, package, django_assert_max_num_queries):
    signed = approved(agency, team, package)
    services_payment(agency, team, signed)
    client = agency_client(agency, team["finance"])
    client.get(url("payments"))
    with django_assert_max_num_queries(12) as few:
        client.get(url("payments"))
    for _ in range(12):
        other = approved(agency, team, package, member_obj=member(agency, team["sales"]))
        services_payment(agency, team, other)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url("payments")).context["page"]) == 13


def test_payments_of_contracts_sales_cannot_see_are_not_listed(agency, team, package):
    mine = approved(agency, team, package)
    theirs = contract(agency, sales=team["manager"], finance=team["finance"], package=package, status="approved")
    first, second = services_payment(agency, team, mine), services_payment(agency, team, theirs)
    listing = agency_client(agency, team["sales"]).get(url("payments"))
    assert first.number in listing.text and second.number not in listing.text


# --- refunds ---------------------------------------------------------------------------------------


def test_service_staff_apply_and_finance_approves_a_refund(agency, team, package):
    signed = approved(agency, team, package, paid=["12000"])
    sales = agency_client(agency, team["sales"])
    response = sales.post(url("refund_create", signed.pk), {"amount": "2000", "reason": "会员出国，提前终止部分服务"})
    assert response.status_code == 302
    refund = Refund.unscoped.get(contract=signed)
    assert refund.status == "applied" and refund.applied_by == team["sales"]
    assert agency_client(agency, team["sales"]).post(url("refund_action", refund.pk, "approve")).status_code == 403
    finance = agency_client(agency, team["finance"])
    assert refund.number in finance.get(url("refunds")).text
    finance.post(url("refund_action", refund.pk, "approve"))
    signed.refresh_from_db()
    refund.refresh_from_db()
    assert refund.status == "approved" and signed.refunded_amount == Decimal("2000.00")
    assert signed.status == "approved"  # partly refunded: the contract goes on


def test_a_refund_above_what_was_paid_is_refused(agency, team, package):
    signed = approved(agency, team, package, paid=["3000"])
    response = agency_client(agency, team["sales"]).post(url("refund_create", signed.pk),
                                                         {"amount": "3000.01", "reason": "退款"}, **EN)  # fmt: skip
    assert response.status_code == 400
    assert "At most 3000.00 yuan can be refunded" in response.text
    assert not Refund.unscoped.exists()


def test_refund_rejection_needs_a_reason(agency, team, package):
    signed = approved(agency, team, package, paid=["3000"])
    with agency_context(agency):
        refund = services.refund_apply(agency=agency, actor=team["sales"], contract=signed, amount=Decimal("100"),
                                       reason="不满意")  # fmt: skip
    finance = agency_client(agency, team["finance"])
    response = finance.post(url("refund_action", refund.pk, "reject"), {"reason": ""}, follow=True, **EN)
    assert "Say why the refund is rejected." in response.text
    refund.refresh_from_db()
    assert refund.status == "applied"


def test_refunds_are_searchable_by_the_manuals_fields(agency, team, package):
    first = approved(agency, team, package, paid=["3000"], member_obj=member(agency, team["sales"], name="王一诺"))
    second = approved(agency, team, package, paid=["3000"])
    with agency_context(agency):
        one = services.refund_apply(
            agency=agency, actor=team["sales"], contract=first, amount=Decimal("100"), reason="a"
        )
        two = services.refund_apply(
            agency=agency, actor=team["sales"], contract=second, amount=Decimal("200"), reason="b"
        )
    client = agency_client(agency, team["finance"])

    def numbers(**params):
        return {r.number for r in client.get(url("refunds"), params).context["page"]}

    assert numbers() == {one.number, two.number}
    assert numbers(member_name="一诺") == {one.number}
    assert numbers(member_no=second.member.member_no) == {two.number}
    assert numbers(number=two.number) == {two.number}
    assert numbers(contract_number=first.number) == {one.number}
    today = timezone.localdate().isoformat()
    assert numbers(applied_from=today, applied_to=today) == {one.number, two.number}
    assert numbers(applied_to="2000-01-01") == set()


def test_refunds_are_closed_to_other_agencies_and_roles(agency, team, package, outsider, stranger):
    other_agency = outsider.agency
    signed = approved(agency, team, package, paid=["3000"])
    with agency_context(agency):
        refund = services.refund_apply(agency=agency, actor=team["sales"], contract=signed, amount=Decimal("1"),
                                       reason="a")  # fmt: skip
    foreign = agency_client(other_agency, outsider)
    assert refund.number not in foreign.get(url("refunds")).text
    assert foreign.post(url("refund_action", refund.pk, "approve")).status_code == 404
    assert foreign.post(url("refund_create", signed.pk), {"amount": "1", "reason": "x"}).status_code == 404
    assert agency_client(agency, stranger).get(url("refunds")).status_code == 403
    assert agency_client(agency, stranger).post(url("refund_create", signed.pk),
                                                {"amount": "1", "reason": "x"}).status_code == 403  # fmt: skip
    refund.refresh_from_db()
    assert refund.status == "applied" and Refund.unscoped.count() == 1


def test_refund_list_query_count_is_constant(agency, team, package, django_assert_max_num_queries):
    def one():
        signed = approved(agency, team, package, paid=["100"], member_obj=member(agency, team["sales"]))
        with agency_context(agency):
            services.refund_apply(agency=agency, actor=team["sales"], contract=signed, amount=Decimal("1"), reason="a")

    one()
    client = agency_client(agency, team["finance"])
    client.get(url("refunds"))
    with django_assert_max_num_queries(12) as few:
        client.get(url("refunds"))
    for _ in range(8):
        one()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url("refunds")).context["page"]) == 9


# --- the member page, the timeline, the printable contract -----------------------------------------


def test_member_page_shows_entitlements_used_and_remaining_and_the_history(agency, team, package):
    signed = approved(agency, team, package, paid=["12000"])
    with agency_context(agency):
        services.entitlement_consume(agency=agency, member=signed.member, kind="recommendation")
        services.entitlement_consume(agency=agency, member=signed.member, kind="recommendation")
    page = agency_client(agency, team["sales"]).get(f"/staff/members/{signed.member_id}/", **EN)
    assert page.status_code == 200
    panel = page.text[page.text.index('id="contracts-panel"') :]
    panel = panel[: panel.index("</div></div>")]
    assert signed.number in panel
    assert '<td class="text-end">10</td><td class="text-end">2</td><td class="text-end">8</td>' in panel
    assert f"Contract {signed.number}: Approved" in page.text  # on the timeline


def test_member_page_hides_contracts_from_roles_without_the_right(agency, team, package):
    signed = approved(agency, team, package)
    person = Member.unscoped.get(pk=signed.member_id)
    only_members = UserFactory(agency=agency, username="m_only", perms=["matchmakers.view_members"])
    Member.unscoped.filter(pk=person.pk).update(presale_owner=only_members)
    page = agency_client(agency, only_members).get(f"/staff/members/{person.pk}/")
    assert page.status_code == 200
    assert 'id="contracts-panel"' not in page.text and signed.number not in page.text


def test_printable_contract(agency, team, package):
    signed = approved(agency, team, package)
    page = agency_client(agency, team["sales"]).get(url("contract_print", signed.pk), **EN)
    assert page.status_code == 200
    assert signed.number in page.text and "Member (signature)" in page.text and "navbar" not in page.text


# --- packages and settings -------------------------------------------------------------------------


@pytest.fixture
def settings_admin(agency):
    return UserFactory(
        agency=agency, username="setup", perms=["matchmakers.view_contracts", "matchmakers.edit_settings"]
    )


def test_packages_are_created_retired_and_listed(agency, settings_admin):
    client = agency_client(agency, settings_admin)
    response = client.post(url("package_create"), {
        "name": "白金会员", "price": "29800.00", "duration_months": "24", "recommendations": "48", "appointments": "24",
        "dedicated_matchmaker": "on", "is_active": "on",
    })  # fmt: skip
    assert response.status_code == 302
    package = ServicePackage.unscoped.get(agency=agency, name="白金会员")
    assert package.price == Decimal("29800.00") and package.dedicated_matchmaker
    client.post(url("package_edit", package.pk), {
        "name": "白金会员", "price": "29800.00", "duration_months": "24", "recommendations": "48", "appointments": "24",
    })  # fmt: skip
    package.refresh_from_db()
    assert not package.is_active
    assert "白金会员" in client.get(url("packages")).text


def test_a_bad_package_is_refused(agency, settings_admin):
    PackageFactory(agency=agency, name="银卡")
    response = agency_client(agency, settings_admin).post(url("package_create"), {
        "name": "银卡", "price": "-1", "duration_months": "0", "recommendations": "1", "appointments": "1",
    }, **EN)  # fmt: skip
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 0" in response.text
    assert ServicePackage.unscoped.filter(agency=agency).count() == 1


def test_packages_are_closed_to_other_agencies_and_roles(agency, other_agency, outsider, team, package):
    foreign = agency_client(other_agency, outsider)
    assert foreign.get(url("package_edit", package.pk)).status_code == 404
    assert package.name not in foreign.get(url("packages")).text
    assert agency_client(agency, team["sales"]).get(url("package_create")).status_code == 403
    assert agency_client(agency, team["sales"]).post(url("package_edit", package.pk), {"name": "x"}).status_code == 403
    package.refresh_from_db()
    assert package.name == "金卡会员"


def test_contract_number_pattern_is_configurable_and_checked(agency, settings_admin, team, package):
    client = agency_client(agency, settings_admin)
    form = {"contract_number_pattern": "AH-{YY}{SEQ:3}", "payment_number_pattern": "P{SEQ:6}",
            "refund_number_pattern": "R{SEQ}", "expiry_reminder_days": "45"}  # fmt: skip
    assert client.post(url("settings"), form).status_code == 302
    created = contract(agency, sales=team["sales"], package=package)
    assert created.number == f"AH-{timezone.localdate().year % 100:02d}001"
    response = client.post(url("settings"), {**form, "contract_number_pattern": "HT{YYYY}"}, **EN)
    assert response.status_code == 400 and "The pattern needs the running number" in response.text
    assert FinanceSettings.unscoped.get(agency=agency).contract_number_pattern == "AH-{YY}{SEQ:3}"
    assert agency_client(agency, team["sales"]).get(url("settings")).status_code == 403


def test_english_and_chinese_pages_render(agency, team, package):
    signed = approved(agency, team, package, paid=["100"])
    client = agency_client(agency, team["finance"])
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for page in (url("contracts"), url("contract", signed.pk), url("payments"), url("refunds"),
                         url("packages"), url("expiring")):  # fmt: skip
                assert client.get(page, HTTP_ACCEPT_LANGUAGE=language).status_code == 200


def test_workbench_counts_what_awaits_finance_and_ends_soon(agency, team, package, outsider):
    today = timezone.localdate()
    contract(agency, sales=team["sales"], package=package, status="submitted")
    signed = approved(agency, team, package, service_start=today - datetime.timedelta(days=300),
                      service_end=today + datetime.timedelta(days=5))  # fmt: skip
    services_payment(agency, team, signed)
    finance = agency_client(agency, team["finance"]).get("/staff/")
    assert finance.context["blocks"]["finance"] == {"contracts": 1, "payments": 1, "refunds": 0, "ending": 1}
    assert agency_client(agency, team["sales"]).get("/staff/").context["blocks"]["finance"] == {"ending": 1}
    foreign = agency_client(outsider.agency, outsider).get("/staff/")
    assert foreign.context["blocks"]["finance"] == {"contracts": 0, "payments": 0, "refunds": 0, "ending": 0}
    nobody = UserFactory(agency=agency, username="nobody", perms=["matchmakers.view_members"])
    assert agency_client(agency, nobody).get("/staff/").context["blocks"]["finance"] is None


def test_a_member_shared_one_by_one_brings_their_contracts_along(agency, team, package):
    signed = approved(agency, team, package)
    colleague = UserFactory(agency=agency, username="colleague", perms=["matchmakers.view_members",
                                                                        "matchmakers.view_contracts"])  # fmt: skip
    client = agency_client(agency, colleague)
    assert client.get(url("contract", signed.pk)).status_code == 404
    with agency_context(agency):
        member_share(agency=agency, actor=team["sales"], member=signed.member, with_user=colleague)
    assert client.get(url("contract", signed.pk)).status_code == 200
    assert signed.number in client.get(url("contracts")).text


def test_lists_explain_bad_filters_and_ignore_them(agency, team, package):
    signed = approved(agency, team, package, paid=["100"])
    with agency_context(agency):
        refund = services.refund_apply(agency=agency, actor=team["sales"], contract=signed, amount=Decimal("1"),
                                       reason="a")  # fmt: skip
    client = agency_client(agency, team["finance"])
    payments = client.get(url("payments"), {"window": "decade", "method": "cash"}, **EN)
    assert payments.status_code == 200 and "Select a valid choice" in payments.text
    assert list(payments.context["page"]) == []  # the valid filter (cash) still applies; the bad one is dropped
    refunds = client.get(url("refunds"), {"applied_from": "yesterday"}, **EN)
    assert refunds.status_code == 200 and "Enter a valid date" in refunds.text
    assert list(refunds.context["page"]) == [refund]


def test_expiring_print_and_settings_are_closed_to_other_agencies_and_roles(agency, team, package, outsider, stranger):
    today = timezone.localdate()
    ending = approved(agency, team, package, service_start=today - datetime.timedelta(days=300),
                      service_end=today + datetime.timedelta(days=3))  # fmt: skip
    foreign = agency_client(outsider.agency, outsider)
    assert ending.number not in foreign.get(url("expiring")).text
    assert foreign.post(url("contract_action", ending.pk, "renew")).status_code == 404
    foreign.post(url("settings"), {"contract_number_pattern": "X{SEQ}", "payment_number_pattern": "P{SEQ}",
                                   "refund_number_pattern": "R{SEQ}", "expiry_reminder_days": "10"})  # fmt: skip
    assert FinanceSettings.unscoped.get(agency=outsider.agency).contract_number_pattern == "X{SEQ}"
    assert FinanceSettings.unscoped.get(agency=agency).contract_number_pattern == "HT{YYYY}{MM}{SEQ:4}"
    denied = agency_client(agency, stranger)
    assert denied.get(url("contract_print", ending.pk)).status_code == 403
    assert denied.get(url("expiring")).status_code == 403
    assert denied.get(url("packages")).status_code == 403
    assert not Contract.unscoped.filter(previous=ending).exists()


def test_package_list_query_count_is_constant(agency, team, django_assert_max_num_queries):
    client = agency_client(agency, team["finance"])
    PackageFactory(agency=agency)
    client.get(url("packages"))
    with django_assert_max_num_queries(12) as few:
        client.get(url("packages"))
    for _ in range(10):
        package = PackageFactory(agency=agency)
        contract(agency, sales=team["sales"], package=package)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url("packages")).context["packages"]) == 11
