"""Contracts through their whole life (F-G2 … F-G6): every transition the issue allows and every one it
refuses, who may do what, and what approval, renewal, payments, refunds and the expiry job change."""

import datetime
import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone, translation

from apps.agencies.context import agency_context
from apps.finance import numbering, services
from apps.finance.models import Contract, ContractEvent, FinanceSettings, Instalment, Payment, Refund
from apps.finance.selectors import contract_visible_list
from apps.followups.selectors import Pool, pool_members
from apps.members.choices import ServiceStatus
from apps.members.models import Member
from tests.finance import factories
from tests.matchmakers.factories import RoleFactory, UserFactory, root_role

pytestmark = pytest.mark.django_db

Status = Contract.Status
Kind = ContractEvent.Kind
D = Decimal


@pytest.fixture
def team(agency):
    """finance; a sales manager (may edit every contract) → a salesperson and a peer salesperson."""
    people = factories.finance_team(agency)
    peer_role = RoleFactory(agency=agency, parent=people["sales"].role.parent, perms=factories.SALES_PERMS)
    people["peer"] = UserFactory(agency=agency, username="peer_sales", role=peer_role)
    return people


def today(agency) -> datetime.date:
    return services.agency_today(agency)


def contract_in(agency, team, status, **kwargs) -> Contract:
    """A contract in any status, reached through the services; effective and closed ones have 1,000 paid."""
    sales, finance = team["sales"], team["finance"]
    if status in (Status.DRAFT, Status.SUBMITTED, Status.REJECTED):
        return factories.contract(agency, sales=sales, finance=finance, status=status, **kwargs)
    if status == Status.EXPIRED:
        start = today(agency) - datetime.timedelta(days=400)
        kwargs = {"service_start": start, "service_end": start + datetime.timedelta(days=365), **kwargs}
    kwargs.setdefault("paid", ["1000"])
    contract = factories.contract(agency, sales=sales, finance=finance, status="approved", **kwargs)
    with agency_context(agency):
        if status == Status.COMPLETED:
            services.contract_complete(agency=agency, actor=finance, contract=contract)
        elif status == Status.EXPIRED:
            services.contracts_expire(agency=agency)
        elif status == Status.REFUNDED:
            refund = services.refund_apply(agency=agency, actor=sales, contract=contract, amount=D("1000"),
                                           reason="不想继续")  # fmt: skip
            services.refund_approve(agency=agency, actor=finance, refund=refund)
    contract.refresh_from_db()
    assert contract.status == status
    return contract


def events(contract) -> list[ContractEvent]:
    return list(ContractEvent.unscoped.filter(contract=contract).order_by("id"))


def record_payment(agency, team, contract, amount, **kwargs) -> Payment:
    with agency_context(agency):
        return services.payment_record(agency=agency, actor=team["finance"], contract=contract, amount=D(amount),
                                       method="wechat", paid_at=timezone.now(), **kwargs)  # fmt: skip


# --- the state machine -----------------------------------------------------------------------------


def _submit(agency, team, contract):
    return services.contract_submit(agency=agency, actor=team["sales"], contract=contract)


def _withdraw(agency, team, contract):
    return services.contract_withdraw(agency=agency, actor=team["sales"], contract=contract)


def _approve(agency, team, contract):
    return services.contract_approve(agency=agency, actor=team["finance"], contract=contract)


def _reject(agency, team, contract):
    return services.contract_reject(agency=agency, actor=team["finance"], contract=contract, reason="价格填错")


def _complete(agency, team, contract):
    return services.contract_complete(agency=agency, actor=team["finance"], contract=contract)


def _edit(agency, team, contract):
    return services.contract_update(agency=agency, actor=team["sales"], contract=contract, notes="补充说明")


def _delete(agency, team, contract):
    return services.contract_delete(agency=agency, actor=team["sales"], contract=contract)


def _pay(agency, team, contract):
    return services.payment_record(agency=agency, actor=team["finance"], contract=contract, amount=D("100"),
                                   method="cash", paid_at=timezone.now())  # fmt: skip


def _refund(agency, team, contract):
    return services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D("100"),
                                 reason="退部分")  # fmt: skip


def _renew(agency, team, contract):
    return services.contract_renew(agency=agency, actor=team["sales"], contract=contract)


def _status_is(status):
    def check(pk, _before):
        assert Contract.unscoped.get(pk=pk).status == status

    return check


def _notes_changed(pk, before):
    contract = Contract.unscoped.get(pk=pk)
    assert contract.notes == "补充说明"
    assert contract.status == before


def _deleted(pk, _before):
    assert not Contract.unscoped.filter(pk=pk).exists()


def _payment_recorded(pk, before):
    assert Payment.unscoped.filter(contract_id=pk, status=Payment.Status.RECORDED).count() == 1
    assert Contract.unscoped.get(pk=pk).status == before


def _refund_applied(pk, before):
    assert Refund.unscoped.filter(contract_id=pk, status=Refund.Status.APPLIED).count() == 1
    assert Contract.unscoped.get(pk=pk).status == before


def _renewed(pk, before):
    assert Contract.unscoped.get(previous_id=pk).status == Status.DRAFT
    assert Contract.unscoped.get(pk=pk).status == before


# action: (the statuses it is allowed from, the call, what it changed)
ACTIONS = {
    "submit": ((Status.DRAFT, Status.REJECTED), _submit, _status_is(Status.SUBMITTED)),
    "withdraw": ((Status.SUBMITTED,), _withdraw, _status_is(Status.DRAFT)),
    "approve": ((Status.SUBMITTED,), _approve, _status_is(Status.APPROVED)),
    "reject": ((Status.SUBMITTED,), _reject, _status_is(Status.REJECTED)),
    "complete": ((Status.APPROVED,), _complete, _status_is(Status.COMPLETED)),
    "edit": ((Status.DRAFT, Status.REJECTED), _edit, _notes_changed),
    "delete": ((Status.DRAFT,), _delete, _deleted),
    "pay": ((Status.SUBMITTED, Status.APPROVED), _pay, _payment_recorded),
    # A rejected contract is refundable only when money was confirmed before the rejection (see
    # test_service_edges); with nothing paid, as here, the refund is refused.
    "refund": ((Status.APPROVED, Status.COMPLETED, Status.EXPIRED), _refund, _refund_applied),
    "renew": ((Status.APPROVED, Status.COMPLETED, Status.EXPIRED), _renew, _renewed),
}
ALLOWED = [(action, status) for action, (allowed, *_rest) in ACTIONS.items() for status in allowed]
REFUSED = [(action, status) for action in ACTIONS for status in Status.values if (action, status) not in ALLOWED]


def test_the_matrix_covers_every_action_in_every_status():
    assert len(ALLOWED) + len(REFUSED) == len(ACTIONS) * len(Status.values) == 70


@pytest.mark.parametrize(("action", "status"), ALLOWED, ids=[f"{a}-{s}" for a, s in ALLOWED])
def test_allowed_transition(agency, team, action, status):
    contract = contract_in(agency, team, status)
    _allowed, call, check = ACTIONS[action]
    with agency_context(agency):
        call(agency, team, contract)
    check(contract.pk, status)


def _footprint(contract):
    """Everything a refused action might have touched."""
    return {
        "row": Contract.unscoped.filter(pk=contract.pk).values().get(),
        "instalments": list(Instalment.unscoped.filter(contract=contract).values_list("due_date", "amount")),
        "events": ContractEvent.unscoped.filter(member_id=contract.member_id).count(),
        "payments": Payment.unscoped.filter(contract=contract).count(),
        "refunds": Refund.unscoped.filter(contract=contract).count(),
        "contracts": Contract.unscoped.filter(member_id=contract.member_id).count(),
        "member": Member.unscoped.filter(pk=contract.member_id).values("status", "service_status").get(),
    }


@pytest.mark.parametrize(("action", "status"), REFUSED, ids=[f"{a}-{s}" for a, s in REFUSED])
def test_refused_transition(agency, team, action, status):
    contract = contract_in(agency, team, status)
    before = _footprint(contract)
    _allowed, call, _check = ACTIONS[action]
    with agency_context(agency), pytest.raises(ValidationError):
        call(agency, team, contract)
    assert _footprint(contract) == before


def test_a_rejected_contract_is_corrected_resubmitted_and_approved(agency, team):
    contract = contract_in(agency, team, Status.REJECTED)
    assert contract.reject_reason == "金额有误"
    with agency_context(agency):
        services.contract_update(agency=agency, actor=team["sales"], contract=contract, amount=D("18800"))
        services.contract_submit(agency=agency, actor=team["sales"], contract=contract)
        contract.refresh_from_db()
        assert (contract.status, contract.reject_reason) == (Status.SUBMITTED, "")
        services.contract_approve(agency=agency, actor=team["finance"], contract=contract)
    contract.refresh_from_db()
    assert (contract.status, contract.amount, contract.decided_by) == (Status.APPROVED, D("18800"), team["finance"])


def test_a_rejection_needs_a_reason(agency, team):
    contract = contract_in(agency, team, Status.SUBMITTED)
    with agency_context(agency), pytest.raises(ValidationError) as refused:
        services.contract_reject(agency=agency, actor=team["finance"], contract=contract, reason="  ")
    assert "reason" in refused.value.message_dict
    contract.refresh_from_db()
    assert contract.status == Status.SUBMITTED


def test_completing_ends_the_members_service(agency, team):
    aftersale = UserFactory(agency=agency)
    member = factories.member(agency, owner=team["sales"], aftersale=aftersale, status="in_service")
    contract = contract_in(agency, team, Status.APPROVED, member_obj=member)
    member.refresh_from_db()
    assert member.service_status == ServiceStatus.ACTIVE
    with agency_context(agency):
        services.contract_complete(agency=agency, actor=team["finance"], contract=contract, note="提前完成")
    contract.refresh_from_db()
    member.refresh_from_db()
    assert contract.status == Status.COMPLETED and contract.closed_at is not None
    assert member.service_status == ServiceStatus.FINISHED


# --- who may do what -------------------------------------------------------------------------------


def test_only_users_who_audit_contracts_approve_or_reject(agency, team):
    contract = contract_in(agency, team, Status.SUBMITTED)
    money_only = UserFactory(agency=agency, perms=["matchmakers.view_contracts", "matchmakers.audit_payments",
                                                   "matchmakers.audit_refunds"])  # fmt: skip
    with agency_context(agency):
        for actor in (team["sales"], team["manager"], money_only):
            with pytest.raises(PermissionDenied):
                services.contract_approve(agency=agency, actor=actor, contract=contract)
            with pytest.raises(PermissionDenied):
                services.contract_reject(agency=agency, actor=actor, contract=contract, reason="不行")
    contract.refresh_from_db()
    assert contract.status == Status.SUBMITTED
    assert [event.kind for event in events(contract)] == [Kind.CREATED, Kind.SUBMITTED]


def test_salespeople_cannot_complete_contracts(agency, team):
    contract = contract_in(agency, team, Status.APPROVED)
    with agency_context(agency), pytest.raises(PermissionDenied):
        services.contract_complete(agency=agency, actor=team["sales"], contract=contract)
    contract.refresh_from_db()
    assert contract.status == Status.APPROVED


def test_only_finance_records_and_confirms_payments(agency, team):
    contract = contract_in(agency, team, Status.APPROVED)
    with agency_context(agency):
        with pytest.raises(PermissionDenied):
            services.payment_record(agency=agency, actor=team["sales"], contract=contract, amount=D("100"),
                                    method="cash", paid_at=timezone.now())  # fmt: skip
        payment = services.payment_record(agency=agency, actor=team["finance"], contract=contract, amount=D("100"),
                                          method="cash", paid_at=timezone.now())  # fmt: skip
        recorder = UserFactory(agency=agency, perms=["matchmakers.view_contracts", "matchmakers.add_payments",
                                                     "matchmakers.audit_contracts"])  # fmt: skip
        with pytest.raises(PermissionDenied):
            services.payment_confirm(agency=agency, actor=recorder, payment=payment)
        with pytest.raises(PermissionDenied):
            services.payment_reject(agency=agency, actor=recorder, payment=payment, reason="没收到")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.RECORDED


def test_only_service_staff_apply_for_and_only_finance_decides_refunds(agency, team):
    contract = contract_in(agency, team, Status.APPROVED)
    with agency_context(agency):
        with pytest.raises(PermissionDenied):
            services.refund_apply(agency=agency, actor=team["finance"], contract=contract, amount=D("100"), reason="x")
        refund = services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D("100"),
                                       reason="部分退款")  # fmt: skip
        for actor in (team["sales"], team["manager"]):
            with pytest.raises(PermissionDenied):
                services.refund_approve(agency=agency, actor=actor, refund=refund)
            with pytest.raises(PermissionDenied):
                services.refund_reject(agency=agency, actor=actor, refund=refund, note="不批")
    refund.refresh_from_db()
    contract.refresh_from_db()
    assert refund.status == Refund.Status.APPLIED and contract.refunded_amount == 0


@pytest.fixture
def branch(agency):
    """A sales lead (no right to edit others' contracts) → a junior salesperson."""
    lead_role = RoleFactory(agency=agency, parent=root_role(agency), perms=factories.SALES_PERMS)
    junior_role = RoleFactory(agency=agency, parent=lead_role, perms=factories.SALES_PERMS)
    return {
        "lead": UserFactory(agency=agency, username="lead", role=lead_role),
        "junior": UserFactory(agency=agency, username="junior", role=junior_role),
    }


def test_a_salesperson_cannot_edit_submit_withdraw_or_delete_a_contract_they_only_see(agency, branch):
    """The lead sees the junior's contracts (F-B3) but may only change their own."""
    draft = factories.contract(agency, sales=branch["junior"])
    submitted = factories.contract(agency, sales=branch["junior"], status="submitted")
    with agency_context(agency):
        assert contract_visible_list(user=branch["lead"]).filter(pk=draft.pk).exists()
        with pytest.raises(PermissionDenied):
            services.contract_update(agency=agency, actor=branch["lead"], contract=draft, amount=D("1"))
        with pytest.raises(PermissionDenied):
            services.contract_submit(agency=agency, actor=branch["lead"], contract=draft)
        with pytest.raises(PermissionDenied):
            services.contract_delete(agency=agency, actor=branch["lead"], contract=draft)
        with pytest.raises(PermissionDenied):
            services.contract_withdraw(agency=agency, actor=branch["lead"], contract=submitted)
    draft.refresh_from_db()
    submitted.refresh_from_db()
    assert (draft.status, draft.amount, submitted.status) == (Status.DRAFT, D("19800"), Status.SUBMITTED)


def test_a_manager_who_may_edit_contracts_edits_the_teams_contracts(agency, team):
    contract = contract_in(agency, team, Status.DRAFT)
    with agency_context(agency):
        services.contract_update(agency=agency, actor=team["manager"], contract=contract, amount=D("15000"))
    contract.refresh_from_db()
    assert contract.amount == D("15000")
    assert events(contract)[-1].actor == team["manager"]


def test_a_salesperson_can_only_book_contracts_for_themselves_or_their_team(agency, team):
    member = factories.member(agency, owner=team["sales"])
    package = factories.PackageFactory(agency=agency)
    with agency_context(agency):
        with pytest.raises(ValidationError) as refused:
            services.contract_create(agency=agency, actor=team["sales"], member=member, package=package,
                                     salesperson=team["peer"])  # fmt: skip
        assert "salesperson" in refused.value.message_dict
        contract = services.contract_create(agency=agency, actor=team["manager"], member=member, package=package,
                                            salesperson=team["sales"])  # fmt: skip
    assert contract.salesperson == team["sales"] and contract.created_by == team["manager"]


@pytest.mark.parametrize("action", ["edit", "submit", "withdraw", "delete", "refund", "renew"])
def test_a_peer_cannot_act_on_a_contract_they_cannot_see(agency, team, action):
    status = {"withdraw": Status.SUBMITTED, "refund": Status.APPROVED, "renew": Status.APPROVED}.get(action, "draft")
    contract = contract_in(agency, team, status)
    before = _footprint(contract)
    peer_team = {**team, "sales": team["peer"]}
    with agency_context(agency), pytest.raises(PermissionDenied):
        ACTIONS[action][1](agency, peer_team, contract)
    assert _footprint(contract) == before


def test_a_member_the_salesperson_cannot_see_gets_no_contract(agency, team):
    theirs = factories.member(agency, owner=team["peer"])
    with agency_context(agency), pytest.raises(PermissionDenied):
        services.contract_create(agency=agency, actor=team["sales"], member=theirs,
                                 package=factories.PackageFactory(agency=agency))  # fmt: skip
    assert not Contract.unscoped.exists()


@pytest.mark.parametrize("action", ["approve", "reject", "pay"])
def test_finance_of_another_agency_cannot_act_on_a_contract(agency, other_agency, team, action):
    contract = contract_in(agency, team, Status.SUBMITTED)
    before = _footprint(contract)
    outsider_team = {**team, "finance": factories.finance_user(other_agency, username="their_finance")}
    with agency_context(agency), pytest.raises(PermissionDenied):
        ACTIONS[action][1](agency, outsider_team, contract)
    with agency_context(other_agency), pytest.raises(PermissionDenied):
        ACTIONS[action][1](other_agency, outsider_team, contract)
    assert _footprint(contract) == before


def test_records_of_another_agency_cannot_go_on_a_contract(agency, other_agency, team):
    package = factories.PackageFactory(agency=agency)
    with agency_context(agency):
        with pytest.raises(PermissionDenied):
            services.contract_create(agency=agency, actor=team["sales"], member=factories.member(other_agency),
                                     package=package)  # fmt: skip
        with pytest.raises(PermissionDenied):
            services.contract_create(agency=agency, actor=team["sales"], member=factories.member(agency, team["sales"]),
                                     package=factories.PackageFactory(agency=other_agency))  # fmt: skip
    assert not Contract.unscoped.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": D("0")}, "amount"),
        ({"amount": D("-5")}, "amount"),
        ({"amount": D("100.005")}, "amount"),
        ({"service_start": datetime.date(2026, 5, 1), "service_end": datetime.date(2026, 4, 30)}, "service_end"),
    ],
)
def test_contract_terms_are_checked(agency, team, changes, field):
    with agency_context(agency), pytest.raises(ValidationError) as refused:
        services.contract_create(agency=agency, actor=team["sales"], member=factories.member(agency, team["sales"]),
                                 package=factories.PackageFactory(agency=agency), **changes)  # fmt: skip
    assert field in refused.value.message_dict
    assert not Contract.unscoped.exists()


def test_a_retired_package_is_not_sold(agency, team):
    package = factories.PackageFactory(agency=agency, is_active=False)
    with agency_context(agency), pytest.raises(ValidationError):
        services.contract_create(agency=agency, actor=team["sales"], member=factories.member(agency, team["sales"]),
                                 package=package)  # fmt: skip


def test_only_editable_fields_can_be_changed(agency, team):
    contract = contract_in(agency, team, Status.DRAFT)
    with agency_context(agency), pytest.raises(ValueError, match="status"):
        services.contract_update(agency=agency, actor=team["sales"], contract=contract, status=Status.APPROVED)
    contract.refresh_from_db()
    assert contract.status == Status.DRAFT


def test_a_package_change_copies_the_new_entitlements(agency, team):
    contract = contract_in(agency, team, Status.DRAFT)
    gold = factories.PackageFactory(agency=agency, recommendations=6, appointments=3, dedicated_matchmaker=False)
    with agency_context(agency):
        services.contract_update(agency=agency, actor=team["sales"], contract=contract, package=gold)
    contract.refresh_from_db()
    assert (contract.package, contract.recommendations_total, contract.appointments_total) == (gold, 6, 3)
    assert contract.dedicated_matchmaker is False


def test_a_contract_amount_cannot_drop_below_what_was_recorded_as_paid(agency, team):
    contract = contract_in(agency, team, Status.SUBMITTED)
    record_payment(agency, team, contract, "5000")
    with agency_context(agency):
        services.contract_withdraw(agency=agency, actor=team["sales"], contract=contract)
        with pytest.raises(ValidationError) as refused:
            services.contract_update(agency=agency, actor=team["sales"], contract=contract, amount=D("4999"))
        assert "amount" in refused.value.message_dict
        with pytest.raises(ValidationError):
            services.contract_delete(agency=agency, actor=team["sales"], contract=contract)
    contract.refresh_from_db()
    assert (contract.status, contract.amount) == (Status.DRAFT, D("19800"))


def test_deleting_a_draft_keeps_its_trail(agency, team):
    contract = contract_in(agency, team, Status.DRAFT)
    number = contract.number
    with agency_context(agency):
        services.contract_delete(agency=agency, actor=team["sales"], contract=contract)
    assert not Contract.unscoped.filter(pk=contract.pk).exists()
    assert not Instalment.unscoped.filter(contract_id=contract.pk).exists()
    trail = list(ContractEvent.unscoped.filter(contract_number=number).order_by("id"))
    assert [(event.kind, event.contract_id, event.actor) for event in trail] == [
        (Kind.CREATED, None, team["sales"]),
        (Kind.DELETED, None, team["sales"]),
    ]
    assert trail[-1].before == {"status": "draft"}


# --- approval effects ------------------------------------------------------------------------------


def test_approval_signs_the_member_and_puts_them_in_the_dealt_pool(agency, team):
    contract = contract_in(agency, team, Status.SUBMITTED)
    member = contract.member
    with agency_context(agency):
        assert member not in pool_members(agency=agency, pool=Pool.DEALT)
        services.contract_approve(agency=agency, actor=team["finance"], contract=contract)
        assert list(pool_members(agency=agency, pool=Pool.DEALT)) == [member]
    member.refresh_from_db()
    contract.refresh_from_db()
    assert (member.status, member.service_status) == (Member.Status.SIGNED, ServiceStatus.NONE)
    assert contract.decided_by == team["finance"] and contract.decided_at is not None


def test_approval_for_a_member_in_after_sale_service_keeps_them_in_service(agency, team):
    member = factories.member(agency, owner=team["sales"], aftersale=UserFactory(agency=agency), status="in_service")
    contract = contract_in(agency, team, Status.SUBMITTED, member_obj=member)
    with agency_context(agency):
        services.contract_approve(agency=agency, actor=team["finance"], contract=contract)
        assert not pool_members(agency=agency, pool=Pool.DEALT).exists()
    member.refresh_from_db()
    assert (member.status, member.service_status) == (Member.Status.IN_SERVICE, ServiceStatus.ACTIVE)


def test_entitlements_count_only_once_the_contract_is_approved(agency, team):
    contract = contract_in(agency, team, Status.SUBMITTED)
    with agency_context(agency):
        with pytest.raises(ValidationError):
            services.entitlement_consume(agency=agency, member=contract.member, kind="recommendation")
        services.contract_approve(agency=agency, actor=team["finance"], contract=contract)
        used = services.entitlement_consume(agency=agency, member=contract.member, kind="recommendation")
    assert used.pk == contract.pk and used.recommendations_used == 1 and used.recommendations_left == 23


def test_entitlements_are_used_up_to_the_total_and_no_further(agency, team):
    package = factories.PackageFactory(agency=agency, recommendations=2, appointments=1)
    contract = contract_in(agency, team, Status.APPROVED, package=package)
    member = contract.member
    with agency_context(agency):
        services.entitlement_consume(agency=agency, member=member, kind="recommendation")
        with pytest.raises(ValidationError):
            services.entitlement_consume(agency=agency, member=member, kind="recommendation", count=2)
        services.entitlement_consume(agency=agency, member=member, kind="recommendation")
        with pytest.raises(ValidationError):
            services.entitlement_consume(agency=agency, member=member, kind="recommendation")
        services.entitlement_consume(agency=agency, member=member, kind="appointment")
        with pytest.raises(ValidationError):
            services.entitlement_consume(agency=agency, member=member, kind="appointment")
    contract.refresh_from_db()
    assert (contract.recommendations_used, contract.appointments_used) == (2, 1)
    assert (contract.recommendations_left, contract.appointments_left) == (0, 0)


def test_entitlements_do_not_count_against_an_expired_contract(agency, team):
    contract = contract_in(agency, team, Status.EXPIRED)
    with agency_context(agency), pytest.raises(ValidationError):
        services.entitlement_consume(agency=agency, member=contract.member, kind="appointment")
    contract.refresh_from_db()
    assert contract.appointments_used == 0


def test_an_overlapping_contract_cannot_be_approved(agency, team):
    first = contract_in(agency, team, Status.APPROVED)
    start = first.service_end - datetime.timedelta(days=10)
    second = contract_in(agency, team, Status.SUBMITTED, member_obj=first.member, service_start=start)
    with agency_context(agency), translation.override("en"), pytest.raises(ValidationError, match=first.number):
        services.contract_approve(agency=agency, actor=team["finance"], contract=second)
    second.refresh_from_db()
    assert second.status == Status.SUBMITTED


def test_a_contract_following_the_effective_one_can_be_approved(agency, team):
    first = contract_in(agency, team, Status.APPROVED)
    after = first.service_end + datetime.timedelta(days=1)
    second = contract_in(agency, team, Status.SUBMITTED, member_obj=first.member, service_start=after)
    with agency_context(agency):
        services.contract_approve(agency=agency, actor=team["finance"], contract=second)
    second.refresh_from_db()
    assert second.status == Status.APPROVED


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_contracts_approved_at_once_are_not_both_effective(agency, team):
    """Both approvals pass their own overlap check unless they queue on the member's row first."""
    member = factories.member(agency, owner=team["sales"])
    contracts = [contract_in(agency, team, Status.SUBMITTED, member_obj=member) for _ in range(2)]
    barrier = threading.Barrier(2, timeout=10)
    locked_contract = services._locked_contract
    results = []

    def hold_the_contract_lock(*args, **kwargs):
        # Each approval holds its own contract's row before either looks for an overlap.
        locked = locked_contract(*args, **kwargs)
        barrier.wait()
        return locked

    def approve(contract):
        try:
            with agency_context(agency):
                services.contract_approve(agency=agency, actor=team["finance"], contract=contract)
            results.append(("approved", None))
        except ValidationError as error:
            results.append(("refused", error))
        except Exception as error:  # reported by the assertion below
            results.append(("failed", error))
        finally:
            connection.close()

    with mock.patch.object(services, "_locked_contract", hold_the_contract_lock):
        threads = [threading.Thread(target=approve, args=(contract,)) for contract in contracts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert sorted(outcome for outcome, _error in results) == ["approved", "refused"], results
    assert Contract.unscoped.filter(member=member, status=Status.APPROVED).count() == 1


# --- renewal ---------------------------------------------------------------------------------------


def test_a_renewal_is_a_new_draft_linked_to_the_previous_contract_starting_the_day_after(agency, team):
    previous = contract_in(agency, team, Status.APPROVED)
    with agency_context(agency):
        renewal = services.contract_renew(agency=agency, actor=team["sales"], contract=previous)
    assert renewal.previous == previous and renewal.member == previous.member
    assert (renewal.status, renewal.payment_type, renewal.package) == (Status.DRAFT, "full", previous.package)
    assert renewal.service_start == previous.service_end + datetime.timedelta(days=1)
    assert renewal.number != previous.number
    assert events(renewal)[0].after["renewal_of"] == previous.number
    assert list(Contract.unscoped.filter(previous=previous)) == [renewal]


def test_a_contract_is_renewed_once_unless_the_renewal_is_rejected(agency, team):
    previous = contract_in(agency, team, Status.APPROVED)
    with agency_context(agency):
        renewal = services.contract_renew(agency=agency, actor=team["sales"], contract=previous)
        with pytest.raises(ValidationError):
            services.contract_renew(agency=agency, actor=team["sales"], contract=previous)
        services.contract_submit(agency=agency, actor=team["sales"], contract=renewal)
        services.contract_reject(agency=agency, actor=team["finance"], contract=renewal, reason="换套餐")
        again = services.contract_renew(agency=agency, actor=team["sales"], contract=previous)
    assert again.previous == previous and again.pk != renewal.pk


def test_a_renewal_of_an_expired_contract_starts_today_with_the_chosen_package(agency, team):
    previous = contract_in(agency, team, Status.EXPIRED)
    silver = factories.PackageFactory(agency=agency, price=D("9800"), duration_months=6)
    with agency_context(agency):
        renewal = services.contract_renew(agency=agency, actor=team["sales"], contract=previous, package=silver)
    assert renewal.service_start == today(agency)
    assert (renewal.package, renewal.amount) == (silver, D("9800"))
    assert renewal.service_end == services.default_service_end(today(agency), 6)


def test_a_renewal_is_approved_after_the_previous_contract(agency, team):
    previous = contract_in(agency, team, Status.APPROVED)
    with agency_context(agency):
        renewal = services.contract_renew(agency=agency, actor=team["sales"], contract=previous)
        services.contract_submit(agency=agency, actor=team["sales"], contract=renewal)
        services.contract_approve(agency=agency, actor=team["finance"], contract=renewal)
    assert Contract.unscoped.filter(member=previous.member, status=Status.APPROVED).count() == 2


def test_a_renewal_in_a_retired_package_is_refused(agency, team):
    previous = contract_in(agency, team, Status.APPROVED)
    retired = factories.PackageFactory(agency=agency, is_active=False)
    with agency_context(agency), pytest.raises(ValidationError):
        services.contract_renew(agency=agency, actor=team["sales"], contract=previous, package=retired)
    assert not Contract.unscoped.filter(previous=previous).exists()


# --- schedules -------------------------------------------------------------------------------------


def schedule_of(contract) -> list[tuple[int, datetime.date, Decimal]]:
    return list(Instalment.unscoped.filter(contract=contract).order_by("position")
                .values_list("position", "due_date", "amount"))  # fmt: skip


START = datetime.date(2026, 1, 31)


def test_a_full_payment_is_one_instalment_on_the_start_date(agency, team):
    contract = factories.contract(agency, sales=team["sales"], service_start=START)
    assert schedule_of(contract) == [(1, START, D("19800.00"))]


def test_a_deposit_contract_is_thirty_percent_then_the_balance_a_month_later(agency, team):
    contract = factories.contract(agency, sales=team["sales"], service_start=START, payment_type="deposit",
                                  amount=D("10000.01"))  # fmt: skip
    assert schedule_of(contract) == [(1, START, D("3000.00")), (2, datetime.date(2026, 2, 28), D("7000.01"))]


def test_instalments_are_equal_monthly_shares_and_the_last_takes_the_cents(agency, team):
    contract = factories.contract(agency, sales=team["sales"], service_start=START, payment_type="instalments",
                                  amount=D("10000"))  # fmt: skip
    assert schedule_of(contract) == [
        (1, START, D("3333.33")),
        (2, datetime.date(2026, 2, 28), D("3333.33")),
        (3, datetime.date(2026, 3, 31), D("3333.34")),
    ]


def test_a_custom_instalment_schedule_is_kept_as_entered(agency, team):
    schedule = [(START, D("5000")), (START, D("800")), (datetime.date(2026, 6, 1), D("14000"))]
    contract = factories.contract(agency, sales=team["sales"], service_start=START, payment_type="instalments",
                                  schedule=schedule)  # fmt: skip
    assert [(due, amount) for _position, due, amount in schedule_of(contract)] == schedule


def _rows(*amounts, start=START):
    return [(start + datetime.timedelta(days=30 * index), D(amount)) for index, amount in enumerate(amounts)]


@pytest.mark.parametrize(
    ("payment_type", "schedule"),
    [
        pytest.param("full", _rows("9900", "9900"), id="full-in-two"),
        pytest.param("full", _rows("19000"), id="full-short"),
        pytest.param("deposit", _rows("19800"), id="deposit-without-balance"),
        pytest.param("deposit", _rows("5000", "5000", "9800"), id="deposit-in-three"),
        pytest.param("instalments", _rows("19800"), id="instalments-of-one"),
        pytest.param("instalments", _rows(*["792"] * 25), id="instalments-of-25"),
        pytest.param("instalments", _rows("10000", "9800.01"), id="instalments-one-cent-over"),
        pytest.param("instalments", _rows("19800", "0"), id="instalment-of-zero"),
        pytest.param("instalments", _rows("20800", "-1000"), id="negative-instalment"),
        pytest.param("instalments", list(reversed(_rows("9800", "10000"))), id="out-of-order"),
        pytest.param("instalments", [], id="no-instalments"),
    ],
)
def test_a_schedule_that_does_not_add_up_is_refused(agency, team, payment_type, schedule):
    with agency_context(agency), pytest.raises(ValidationError) as refused:
        services.contract_create(agency=agency, actor=team["sales"], member=factories.member(agency, team["sales"]),
                                 package=factories.PackageFactory(agency=agency), payment_type=payment_type,
                                 schedule=schedule)  # fmt: skip
    assert "instalments" in refused.value.message_dict
    assert not Contract.unscoped.exists()


def test_twenty_four_instalments_are_allowed(agency, team):
    contract = factories.contract(agency, sales=team["sales"], payment_type="instalments",
                                  schedule=_rows(*["825"] * 24))  # fmt: skip
    assert len(schedule_of(contract)) == 24


def test_a_new_amount_gets_a_new_default_schedule_and_the_event_shows_both(agency, team):
    contract = factories.contract(agency, sales=team["sales"], service_start=START, payment_type="deposit")
    with agency_context(agency):
        services.contract_update(agency=agency, actor=team["sales"], contract=contract, amount=D("20000"))
    assert [amount for *_rest, amount in schedule_of(contract)] == [D("6000.00"), D("14000.00")]
    event = events(contract)[-1]
    assert event.kind == Kind.EDITED
    assert event.before == {
        "amount": "19800.00",
        "instalments": [["2026-01-31", "5940.00"], ["2026-02-28", "13860.00"]],
    }
    assert event.after == {"amount": "20000.00", "instalments": [["2026-01-31", "6000.00"], ["2026-02-28", "14000.00"]]}


def test_an_edited_schedule_must_still_add_up(agency, team):
    contract = factories.contract(agency, sales=team["sales"], payment_type="instalments")
    before = schedule_of(contract)
    with agency_context(agency), pytest.raises(ValidationError):
        services.contract_update(agency=agency, actor=team["sales"], contract=contract, schedule=_rows("10000", "9000"))
    assert schedule_of(contract) == before


def test_an_edit_that_changes_nothing_writes_no_event(agency, team):
    contract = factories.contract(agency, sales=team["sales"], notes="原样")
    with agency_context(agency):
        services.contract_update(agency=agency, actor=team["sales"], contract=contract, notes="原样",
                                 amount=contract.amount)  # fmt: skip
    assert [event.kind for event in events(contract)] == [Kind.CREATED]


# --- numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "sequence", "expected"),
    [
        ("HT{YYYY}{MM}{SEQ:4}", 7, "HT2026030007"),
        ("SK{YYYY}{MM}{DD}{SEQ:4}", 12345, "SK2026030512345"),
        ("{YY}-{DD}/{SEQ}", 7, "26-05/7"),
        ("C{SEQ:1}", 42, "C42"),
        ("HT-{SEQ:9}", 1, "HT-000000001"),
    ],
)
def test_numbers_render_the_pattern(pattern, sequence, expected):
    assert numbering.render(pattern, sequence=sequence, on=datetime.date(2026, 3, 5)) == expected


@pytest.mark.parametrize("pattern", ["HT{YYYY}{MM}{SEQ:4}", "{SEQ}", "a-b_c/{YY}{SEQ:2}", "HT{YYYY}{MM}{DD}{SEQ:9}"])
def test_a_pattern_with_a_running_number_and_plain_text_is_valid(pattern):
    numbering.validate_pattern(pattern)


@pytest.mark.parametrize(
    "pattern",
    ["HT{YYYY}{MM}", "", "{seq}", "HT{SEQ:10}", "合同{SEQ}", "HT {SEQ}", "HT{SEQ}{NAME}", "HT{SEQ}%s", "{SEQ}}"],
)
def test_a_pattern_without_a_running_number_or_with_odd_characters_is_refused(pattern):
    with pytest.raises(ValidationError):
        numbering.validate_pattern(pattern)


def test_contract_numbers_follow_the_agencys_pattern(agency, team, site_admin):
    with agency_context(agency):
        settings = services.settings_for(agency)
        settings.contract_number_pattern = "C{YY}-{SEQ:3}"
        services.finance_settings_save(agency=agency, actor=site_admin, settings=settings)
    numbers = [factories.contract(agency, sales=team["sales"]).number for _ in range(2)]
    year = today(agency).year % 100
    assert numbers == [f"C{year:02d}-001", f"C{year:02d}-002"]


def test_an_invalid_pattern_is_not_saved(agency, site_admin):
    with agency_context(agency):
        settings = services.settings_for(agency)
        settings.refund_number_pattern = "退款{YYYY}"
        with pytest.raises(ValidationError) as refused:
            services.finance_settings_save(agency=agency, actor=site_admin, settings=settings)
    assert "refund_number_pattern" in refused.value.message_dict
    assert FinanceSettings.unscoped.get(agency=agency).refund_number_pattern == "TK{YYYY}{MM}{SEQ:4}"


def test_only_settings_editors_change_the_patterns(agency, team):
    with agency_context(agency):
        settings = services.settings_for(agency)
        settings.contract_number_pattern = "X{SEQ}"
        with pytest.raises(PermissionDenied):
            services.finance_settings_save(agency=agency, actor=team["finance"], settings=settings)
    assert FinanceSettings.unscoped.get(agency=agency).contract_number_pattern == "HT{YYYY}{MM}{SEQ:4}"


def test_numbers_are_unique_within_an_agency_and_may_repeat_across_agencies(agency, other_agency, team):
    theirs = factories.finance_team(other_agency)
    ours = [factories.contract(agency, sales=team["sales"]).number for _ in range(3)]
    their = factories.contract(other_agency, sales=theirs["sales"]).number
    assert len(set(ours)) == 3
    assert their == ours[0]


def test_a_number_already_taken_is_skipped(agency, team):
    with agency_context(agency):
        FinanceSettings.objects.create(agency=agency, contract_number_pattern="C{SEQ}")
    first = factories.contract(agency, sales=team["sales"])
    # A number written under an earlier pattern, or by hand, that the running number reaches later.
    Contract.unscoped.filter(pk=first.pk).update(number="C2")
    second = factories.contract(agency, sales=team["sales"])
    assert second.number == "C3"


def test_payment_numbers_use_the_day_it_was_paid(agency, team):
    contract = contract_in(agency, team, Status.APPROVED)
    paid_at = timezone.now() - datetime.timedelta(days=3)
    with agency_context(agency):
        payment = services.payment_record(agency=agency, actor=team["finance"], contract=contract, amount=D("10"),
                                          method="bank", paid_at=paid_at)  # fmt: skip
    assert payment.number.startswith("SK" + services.local_day(agency, paid_at).strftime("%Y%m%d"))


# --- payments and refunds --------------------------------------------------------------------------


def test_payments_count_as_paid_once_confirmed(agency, team):
    contract = contract_in(agency, team, Status.SUBMITTED)
    payment = record_payment(agency, team, contract, "5940")
    contract.refresh_from_db()
    assert contract.paid_amount == 0
    with agency_context(agency):
        services.payment_confirm(agency=agency, actor=team["finance"], payment=payment)
        with pytest.raises(ValidationError):
            services.payment_confirm(agency=agency, actor=team["finance"], payment=payment)
        with pytest.raises(ValidationError):
            services.payment_reject(agency=agency, actor=team["finance"], payment=payment, reason="没到账")
    contract.refresh_from_db()
    payment.refresh_from_db()
    assert contract.paid_amount == D("5940") and contract.outstanding == D("13860")
    assert (payment.status, payment.confirmed_by) == (Payment.Status.CONFIRMED, team["finance"])


def test_payments_never_add_up_to_more_than_the_contract(agency, team):
    contract = contract_in(agency, team, Status.APPROVED)  # 1,000 of 19,800 paid
    record_payment(agency, team, contract, "18000")
    with pytest.raises(ValidationError) as refused:
        record_payment(agency, team, contract, "800.01")
    assert "amount" in refused.value.message_dict
    record_payment(agency, team, contract, "800")
    assert Payment.unscoped.filter(contract=contract).count() == 3


def test_a_payment_found_missing_no_longer_counts_against_the_amount(agency, team):
    contract = contract_in(agency, team, Status.APPROVED)
    missing = record_payment(agency, team, contract, "18800")
    with agency_context(agency):
        with pytest.raises(ValidationError):
            services.payment_reject(agency=agency, actor=team["finance"], payment=missing, reason=" ")
        services.payment_reject(agency=agency, actor=team["finance"], payment=missing, reason="银行无此流水")
        with pytest.raises(ValidationError):
            services.payment_confirm(agency=agency, actor=team["finance"], payment=missing)
    record_payment(agency, team, contract, "18800")
    contract.refresh_from_db()
    assert contract.paid_amount == D("1000")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": D("0")}, "amount"),
        ({"amount": D("-1")}, "amount"),
        ({"amount": D("0.001")}, "amount"),
        ({"method": "bitcoin"}, "method"),
        ({"paid_at": timezone.now() + datetime.timedelta(hours=1)}, "paid_at"),
    ],
)
def test_a_payment_is_checked(agency, team, changes, field):
    contract = contract_in(agency, team, Status.APPROVED)
    arguments = {"amount": D("100"), "method": "cash", "paid_at": timezone.now(), **changes}
    with agency_context(agency), pytest.raises(ValidationError) as refused:
        services.payment_record(agency=agency, actor=team["finance"], contract=contract, **arguments)
    assert field in refused.value.message_dict


def test_a_refund_cannot_exceed_what_was_paid_minus_refunds_and_pending_applications(agency, team):
    contract = contract_in(agency, team, Status.APPROVED)  # 1,000 paid
    with agency_context(agency):
        first = services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D("600"),
                                      reason="部分")  # fmt: skip
        with pytest.raises(ValidationError):
            services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D("400.01"),
                                  reason="再退")  # fmt: skip
        services.refund_approve(agency=agency, actor=team["finance"], refund=first)
        with pytest.raises(ValidationError):
            services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D("400.01"),
                                  reason="再退")  # fmt: skip
        second = services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D("300"),
                                       reason="再退")  # fmt: skip
        services.refund_reject(agency=agency, actor=team["finance"], refund=second, note="不符合条件")
        services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D("400"), reason="最后")
    contract.refresh_from_db()
    assert (contract.refunded_amount, contract.status) == (D("600"), Status.APPROVED)


def test_a_refund_needs_a_reason_and_a_decision_once(agency, team):
    contract = contract_in(agency, team, Status.APPROVED)
    with agency_context(agency):
        with pytest.raises(ValidationError):
            services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D("10"), reason="")
        refund = services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D("10"),
                                       reason="少一次约见")  # fmt: skip
        with pytest.raises(ValidationError):
            services.refund_reject(agency=agency, actor=team["finance"], refund=refund, note="")
        services.refund_approve(agency=agency, actor=team["finance"], refund=refund)
        with pytest.raises(ValidationError):
            services.refund_approve(agency=agency, actor=team["finance"], refund=refund)
        with pytest.raises(ValidationError):
            services.refund_reject(agency=agency, actor=team["finance"], refund=refund, note="改主意")
    contract.refresh_from_db()
    assert contract.refunded_amount == D("10")


def test_a_full_refund_ends_the_contract_as_refunded(agency, team):
    member = factories.member(agency, owner=team["sales"], aftersale=UserFactory(agency=agency), status="in_service")
    contract = contract_in(agency, team, Status.APPROVED, member_obj=member, paid=["1000", "18800"])
    with agency_context(agency):
        partial = services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D("9800"),
                                        reason="提前结束")  # fmt: skip
        services.refund_approve(agency=agency, actor=team["finance"], refund=partial)
        contract.refresh_from_db()
        assert contract.status == Status.APPROVED and contract.net_paid == D("10000")
        rest = services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D("10000"),
                                     reason="全部退")  # fmt: skip
        services.refund_approve(agency=agency, actor=team["finance"], refund=rest, note="同意")
    contract.refresh_from_db()
    member.refresh_from_db()
    assert (contract.refunded_amount, contract.paid_amount) == (D("19800"), D("19800"))
    assert contract.status == Status.REFUNDED
    assert contract.closed_at is not None
    assert member.service_status == ServiceStatus.FINISHED


def test_a_completed_contract_can_still_be_fully_refunded(agency, team):
    contract = contract_in(agency, team, Status.COMPLETED)
    with agency_context(agency):
        refund = services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D("1000"),
                                       reason="投诉")  # fmt: skip
        services.refund_approve(agency=agency, actor=team["finance"], refund=refund)
    contract.refresh_from_db()
    assert contract.status == Status.REFUNDED


# --- the trail -------------------------------------------------------------------------------------


def test_every_change_is_recorded_with_who_before_and_after(agency, team):
    sales, finance = team["sales"], team["finance"]
    package = factories.PackageFactory(agency=agency, name="金卡")
    start = today(agency)
    with translation.override("en"):
        contract = factories.contract(agency, sales=sales, package=package, service_start=start,
                                      service_end=start + datetime.timedelta(days=364))  # fmt: skip
        paid_at = timezone.now().replace(microsecond=0)
        with agency_context(agency):
            services.contract_update(agency=agency, actor=sales, contract=contract, amount=D("18800"))
            services.contract_submit(agency=agency, actor=sales, contract=contract)
            services.contract_reject(agency=agency, actor=finance, contract=contract, reason="缺附件")
            services.contract_submit(agency=agency, actor=sales, contract=contract)
            services.contract_withdraw(agency=agency, actor=sales, contract=contract)
            services.contract_submit(agency=agency, actor=sales, contract=contract)
            services.contract_approve(agency=agency, actor=finance, contract=contract)
            payment = services.payment_record(agency=agency, actor=finance, contract=contract, amount=D("18800"),
                                              method="alipay", paid_at=paid_at)  # fmt: skip
            services.payment_confirm(agency=agency, actor=finance, payment=payment)
            refund = services.refund_apply(agency=agency, actor=sales, contract=contract, amount=D("18800"),
                                           reason="出国")  # fmt: skip
            services.refund_approve(agency=agency, actor=finance, refund=refund, note="已转账")
    trail = [(event.kind, event.actor, event.before, event.after, event.note) for event in events(contract)]
    assert trail == [
        (Kind.CREATED, sales, {}, {"package": "金卡", "amount": "19800.00", "payment_type": "full",
                                   "service_start": start.isoformat(),
                                   "service_end": (start + datetime.timedelta(days=364)).isoformat(),
                                   "salesperson": str(sales)}, ""),
        (Kind.EDITED, sales, {"amount": "19800.00", "instalments": [[start.isoformat(), "19800.00"]]},
         {"amount": "18800.00", "instalments": [[start.isoformat(), "18800.00"]]}, ""),
        (Kind.SUBMITTED, sales, {"status": "draft"}, {"status": "submitted"}, ""),
        (Kind.REJECTED, finance, {"status": "submitted"}, {"status": "rejected"}, "缺附件"),
        (Kind.SUBMITTED, sales, {"status": "rejected"}, {"status": "submitted"}, ""),
        (Kind.WITHDRAWN, sales, {"status": "submitted"}, {"status": "draft"}, ""),
        (Kind.SUBMITTED, sales, {"status": "draft"}, {"status": "submitted"}, ""),
        # Only what changed: the member's service status stays "none" until after-sale service starts.
        (Kind.APPROVED, finance, {"status": "submitted", "member_status": "following"},
         {"status": "approved", "member_status": "signed"}, ""),
        (Kind.PAID, finance, {}, {"payment": payment.number, "amount": "18800.00", "method": "Alipay",
                                  "paid_at": paid_at.isoformat()}, ""),
        (Kind.CONFIRMED, finance, {"paid": "0.00"}, {"paid": "18800.00", "payment": payment.number}, ""),
        (Kind.REFUND_APPLIED, sales, {}, {"refund": refund.number, "amount": "18800.00"}, "出国"),
        (Kind.REFUND_APPROVED, finance, {"refunded": "0.00"}, {"refunded": "18800.00", "refund": refund.number},
         "已转账"),
        (Kind.REFUNDED, finance, {"status": "approved"}, {"status": "refunded"}, ""),
    ]  # fmt: skip
    assert all(event.contract_number == contract.number for event in events(contract))
    assert all(event.member_id == contract.member_id for event in events(contract))


def test_declined_payments_refunds_and_completion_are_recorded(agency, team):
    finance = team["finance"]
    contract = contract_in(agency, team, Status.APPROVED)
    payment = record_payment(agency, team, contract, "100")
    with agency_context(agency):
        services.payment_reject(agency=agency, actor=finance, payment=payment, reason="查无此款")
        refund = services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D("50"),
                                       reason="少服务")  # fmt: skip
        services.refund_reject(agency=agency, actor=finance, refund=refund, note="已补服务")
        services.contract_complete(agency=agency, actor=finance, contract=contract, note="已成功牵手")
    tail = [(event.kind, event.actor, event.after, event.note) for event in events(contract)[-4:]]
    assert tail == [
        (Kind.PAYMENT_REJECTED, finance, {"payment": payment.number}, "查无此款"),
        (Kind.REFUND_APPLIED, team["sales"], {"refund": refund.number, "amount": "50.00"}, "少服务"),
        (Kind.REFUND_REJECTED, finance, {"refund": refund.number}, "已补服务"),
        (Kind.COMPLETED, finance, {"status": "completed"}, "已成功牵手"),
    ]


# --- the expiry job --------------------------------------------------------------------------------


def test_expiry_closes_contracts_whose_service_is_over_once(agency, team):
    member = factories.member(agency, owner=team["sales"], aftersale=UserFactory(agency=agency), status="in_service")
    start = today(agency) - datetime.timedelta(days=100)
    over = contract_in(agency, team, Status.APPROVED, member_obj=member, service_start=start,
                       service_end=today(agency) - datetime.timedelta(days=1))  # fmt: skip
    ending_today = contract_in(agency, team, Status.APPROVED, service_start=start, service_end=today(agency))
    with agency_context(agency):
        assert services.contracts_expire(agency=agency) == 1
        assert services.contracts_expire(agency=agency) == 0
    over.refresh_from_db()
    ending_today.refresh_from_db()
    member.refresh_from_db()
    assert (over.status, ending_today.status) == (Status.EXPIRED, Status.APPROVED)
    assert over.closed_at is not None
    assert member.service_status == ServiceStatus.EXPIRED
    expiries = ContractEvent.unscoped.filter(kind=Kind.EXPIRED)
    assert [(event.contract_id, event.actor) for event in expiries] == [(over.pk, None)]
    with agency_context(agency):
        assert services.contracts_expire(agency=agency, today=today(agency) + datetime.timedelta(days=1)) == 1
    ending_today.refresh_from_db()
    assert ending_today.status == Status.EXPIRED


def test_expiry_leaves_other_agencies_alone(agency, other_agency, team):
    theirs = factories.finance_team(other_agency)
    start = today(agency) - datetime.timedelta(days=100)
    end = today(agency) - datetime.timedelta(days=1)
    their_contract = factories.contract(other_agency, sales=theirs["sales"], finance=theirs["finance"],
                                        status="approved", service_start=start, service_end=end)  # fmt: skip
    with agency_context(agency):
        assert services.contracts_expire(agency=agency) == 0
    their_contract.refresh_from_db()
    assert their_contract.status == Status.APPROVED
