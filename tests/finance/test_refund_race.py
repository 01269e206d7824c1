"""Money totals hold under concurrency (F-G3, F-G4): each test runs the services in threads on their own
database connections, released together by a barrier, and a small delay holds each service between
reading a total and writing it, where two unlocked transactions would both pass their check."""

import threading
import time
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from apps.agencies.context import agency_context
from apps.finance import numbering, services
from apps.finance.models import Contract, ContractEvent, Payment, Refund
from tests.finance import factories

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
WINDOW = 0.3  # seconds between a service's check and its write


@pytest.fixture
def team(agency):
    return factories.finance_team(agency)


def run_together(agency, calls) -> list[tuple[str, object]]:
    """Run each call in its own thread and connection, all released at once; ("ok", result) or ("refused", error)."""
    barrier = threading.Barrier(len(calls), timeout=10)
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            with agency_context(agency):
                results[index] = ("ok", call())
        except ValidationError as error:
            results[index] = ("refused", error)
        except Exception as error:  # any other outcome fails the test's assertions
            results[index] = ("failed", error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    return results


def slowed(function):
    """`function`, with a pause after it: the window in which an unlocked competitor would slip through."""

    def wrapper(*args, **kwargs):
        result = function(*args, **kwargs)
        time.sleep(WINDOW)
        return result

    return wrapper


def outcomes(results) -> list[str]:
    return sorted(outcome for outcome, _value in results)


def applied_refund(agency, team, contract, amount) -> Refund:
    """A refund awaiting approval, written directly.

    refund_apply already counts pending applications, so through it two applications can never add up
    to more than was paid; the approval's own check under the row lock must hold without that help.
    """
    return Refund.unscoped.create(
        agency=agency, contract=contract, member_id=contract.member_id, amount=D(amount), reason="重复申请",
        applied_by=team["sales"], number=f"TK-RACE-{amount}",
    )  # fmt: skip


def test_two_refund_approvals_that_together_exceed_the_paid_amount_let_exactly_one_through(agency, team):
    contract = factories.contract(agency, sales=team["sales"], finance=team["finance"], status="approved",
                                  paid=["10000"])  # fmt: skip
    first, second = applied_refund(agency, team, contract, "6000"), applied_refund(agency, team, contract, "7000")

    def approve(refund):
        return lambda: services.refund_approve(agency=agency, actor=team["finance"], refund=refund)

    with mock.patch.object(services, "refundable", slowed(services.refundable)):
        results = run_together(agency, [approve(first), approve(second)])

    assert outcomes(results) == ["ok", "refused"], results
    approved = Refund.unscoped.get(status=Refund.Status.APPROVED)
    other = Refund.unscoped.exclude(pk=approved.pk).get()
    assert other.status == Refund.Status.APPLIED and other.decided_by is None
    contract.refresh_from_db()
    assert contract.refunded_amount == approved.amount
    assert (contract.paid_amount, contract.status) == (D("10000"), Contract.Status.APPROVED)
    assert ContractEvent.unscoped.filter(contract=contract, kind=ContractEvent.Kind.REFUND_APPROVED).count() == 1


def test_concurrent_refund_approvals_that_fit_all_go_through_and_the_last_one_closes_the_contract(agency, team):
    contract = factories.contract(agency, sales=team["sales"], finance=team["finance"], status="approved",
                                  paid=["10000"])  # fmt: skip
    with agency_context(agency):
        refunds = [
            services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D(amount),
                                  reason="退款")
            for amount in ("2500", "2500", "5000")
        ]  # fmt: skip

    def approve(refund):
        return lambda: services.refund_approve(agency=agency, actor=team["finance"], refund=refund)

    with mock.patch.object(services, "refundable", slowed(services.refundable)):
        results = run_together(agency, [approve(refund) for refund in refunds])

    assert outcomes(results) == ["ok", "ok", "ok"], results
    contract.refresh_from_db()
    assert (contract.refunded_amount, contract.status) == (D("10000"), Contract.Status.REFUNDED)
    assert ContractEvent.unscoped.filter(contract=contract, kind=ContractEvent.Kind.REFUNDED).count() == 1


def test_two_refund_applications_that_together_exceed_the_paid_amount_let_exactly_one_through(agency, team):
    contract = factories.contract(agency, sales=team["sales"], finance=team["finance"], status="approved",
                                  paid=["10000"])  # fmt: skip

    def apply(amount):
        return lambda: services.refund_apply(agency=agency, actor=team["sales"], contract=contract,
                                             amount=D(amount), reason="申请退款")  # fmt: skip

    with mock.patch.object(services, "refundable", slowed(services.refundable)):
        results = run_together(agency, [apply("6000"), apply("7000")])

    assert outcomes(results) == ["ok", "refused"], results
    assert Refund.unscoped.filter(contract=contract).count() == 1


def test_concurrent_payments_that_together_exceed_the_contract_amount_let_only_those_that_fit_through(agency, team):
    contract = factories.contract(agency, sales=team["sales"], finance=team["finance"], status="approved",
                                  amount=D("10000"))  # fmt: skip

    def record(amount):
        return lambda: services.payment_record(agency=agency, actor=team["finance"], contract=contract,
                                               amount=D(amount), method="wechat", paid_at=timezone.now())  # fmt: skip

    with mock.patch.object(numbering, "next_number", slowed(numbering.next_number)):
        results = run_together(agency, [record("4000") for _ in range(3)])

    assert outcomes(results) == ["ok", "ok", "refused"], results
    recorded = Payment.unscoped.filter(contract=contract)
    assert sorted(payment.amount for payment in recorded) == [D("4000"), D("4000")]
    assert len({payment.number for payment in recorded}) == 2

    # Confirmed at the same moment, both count: the paid total is added to in SQL, never overwritten.
    def confirm(payment):
        return lambda: services.payment_confirm(agency=agency, actor=team["finance"], payment=payment)

    results = run_together(agency, [confirm(payment) for payment in recorded])
    assert outcomes(results) == ["ok", "ok"], results
    contract.refresh_from_db()
    assert contract.paid_amount == D("8000")
    assert set(Payment.unscoped.values_list("status", flat=True)) == {Payment.Status.CONFIRMED}


def test_a_payment_and_a_refund_at_once_leave_consistent_totals(agency, team):
    contract = factories.contract(agency, sales=team["sales"], finance=team["finance"], status="approved",
                                  paid=["5000"])  # fmt: skip
    with agency_context(agency):
        refund = services.refund_apply(agency=agency, actor=team["sales"], contract=contract, amount=D("5000"),
                                       reason="全退")  # fmt: skip
        payment = services.payment_record(agency=agency, actor=team["finance"], contract=contract, amount=D("3000"),
                                          method="cash", paid_at=timezone.now())  # fmt: skip

    results = run_together(agency, [
        lambda: services.refund_approve(agency=agency, actor=team["finance"], refund=refund),
        lambda: services.payment_confirm(agency=agency, actor=team["finance"], payment=payment),
    ])  # fmt: skip

    assert outcomes(results) == ["ok", "ok"], results
    contract.refresh_from_db()
    assert (contract.paid_amount, contract.refunded_amount) == (D("8000"), D("5000"))
