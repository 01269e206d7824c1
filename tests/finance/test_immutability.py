"""What finance approved never changes, even for SQL that goes around the services (F-G2, migration 0002).

Every statement runs in its own savepoint (`transaction.atomic()` inside `pytest.raises`), so a refused
one leaves the test's transaction usable for the checks that follow.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.agencies.context import agency_context
from apps.finance import services
from apps.finance.models import Contract, Instalment, Payment, Refund
from tests.finance import factories
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

Status = Contract.Status
CHECK_VIOLATION = "23514"


@pytest.fixture
def team(agency):
    return factories.finance_team(agency)


@pytest.fixture
def approved(agency, team):
    """An effective contract in three instalments with 1,000 paid."""
    return factories.contract(agency, sales=team["sales"], finance=team["finance"], status="approved",
                              payment_type="instalments", paid=["1000"])  # fmt: skip


def execute(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def refused(sql, params=(), *, match=None):
    """The statement is refused by a trigger (check_violation), not by some other constraint."""
    with pytest.raises(IntegrityError, match=match) as error, transaction.atomic():
        execute(sql, params)
    assert error.value.__cause__.sqlstate == CHECK_VIOLATION


def row(contract) -> dict:
    return Contract.unscoped.filter(pk=contract.pk).values().get()


def close(agency, contract, status):
    Contract.unscoped.filter(pk=contract.pk).update(status=status, closed_at=timezone.now())
    contract.refresh_from_db()
    assert contract.status == status


# --- contracts -------------------------------------------------------------------------------------


TERMS = {
    "amount": "amount = amount - 1",
    "number": "number = number || 'X'",
    "package": "package_id = %(other_package)s",
    "service_start": "service_start = service_start - 1",
    "service_end": "service_end = service_end + 365",
    "payment_type": "payment_type = 'full'",
    "salesperson": "salesperson_id = %(other_user)s",
    "member": "member_id = %(other_member)s",
    "previous": "previous_id = id",
    "entitlements": "recommendations_total = recommendations_total + 10",
    "dedicated_matchmaker": "dedicated_matchmaker = NOT dedicated_matchmaker",
    "notes": "notes = 'changed afterwards'",
    "decided_by": "decided_by_id = %(other_user)s",
    "decided_at": "decided_at = decided_at - interval '1 day'",
    "agency": "agency_id = %(other_agency)s",
}


@pytest.mark.parametrize("term", TERMS)
@pytest.mark.parametrize("status", [Status.APPROVED, Status.COMPLETED, Status.EXPIRED, Status.REFUNDED])
def test_the_terms_of_an_approved_contract_cannot_be_updated(agency, other_agency, approved, term, status):
    if status != Status.APPROVED:
        close(agency, approved, status)
    before = row(approved)
    references = {
        "other_package": factories.PackageFactory(agency=agency).pk,
        "other_user": UserFactory(agency=agency).pk,
        "other_member": factories.member(agency).pk,
        "other_agency": other_agency.pk,
    }
    refused(f"UPDATE finance_contract SET {TERMS[term]} WHERE id = %(id)s",  # noqa: S608 - fixed fragments
            {**references, "id": approved.pk}, match="terms cannot be changed")  # fmt: skip
    assert row(approved) == before


def test_the_orm_cannot_change_an_approved_contract_either(approved):
    approved.amount = Decimal("1")
    with pytest.raises(IntegrityError), transaction.atomic():
        approved.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        Contract.unscoped.filter(pk=approved.pk).update(amount=Decimal("1"))
    approved.refresh_from_db()
    assert approved.amount == Decimal("19800")


def test_saving_an_approved_contract_unchanged_is_harmless(approved):
    approved.save()
    approved.refresh_from_db()
    assert approved.status == Status.APPROVED


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Status.APPROVED, Status.COMPLETED),
        (Status.APPROVED, Status.EXPIRED),
        (Status.APPROVED, Status.REFUNDED),
        (Status.COMPLETED, Status.REFUNDED),
        (Status.EXPIRED, Status.REFUNDED),
    ],
)
def test_an_approved_contract_moves_forward(agency, approved, before, after):
    if before != Status.APPROVED:
        close(agency, approved, before)
    assert execute("UPDATE finance_contract SET status = %s WHERE id = %s", [after, approved.pk]) == 1
    approved.refresh_from_db()
    assert approved.status == after


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Status.APPROVED, Status.DRAFT),
        (Status.APPROVED, Status.SUBMITTED),
        (Status.APPROVED, Status.REJECTED),
        (Status.COMPLETED, Status.APPROVED),
        (Status.COMPLETED, Status.EXPIRED),
        (Status.COMPLETED, Status.DRAFT),
        (Status.EXPIRED, Status.APPROVED),
        (Status.EXPIRED, Status.COMPLETED),
        (Status.REFUNDED, Status.APPROVED),
        (Status.REFUNDED, Status.COMPLETED),
        (Status.REFUNDED, Status.EXPIRED),
        (Status.REFUNDED, Status.DRAFT),
    ],
)
def test_an_approved_contract_never_moves_back(agency, approved, before, after):
    if before != Status.APPROVED:
        close(agency, approved, before)
    refused("UPDATE finance_contract SET status = %s WHERE id = %s", [after, approved.pk], match="cannot go from")
    approved.refresh_from_db()
    assert approved.status == before


def test_what_keeps_moving_on_an_approved_contract_still_moves(approved):
    """Usage, confirmed paid and refunded totals, and the closing time are not terms."""
    execute(
        "UPDATE finance_contract SET recommendations_used = recommendations_used + 1,"
        " appointments_used = appointments_used + 1, paid_amount = paid_amount + 500,"
        " refunded_amount = refunded_amount + 200, closed_at = now() WHERE id = %s",
        [approved.pk],
    )
    approved.refresh_from_db()
    assert (approved.recommendations_used, approved.appointments_used) == (1, 1)
    assert (approved.paid_amount, approved.refunded_amount) == (Decimal("1500"), Decimal("200"))
    assert approved.closed_at is not None


@pytest.mark.parametrize("status", [Status.APPROVED, Status.COMPLETED, Status.EXPIRED, Status.REFUNDED])
def test_an_approved_contract_cannot_be_deleted(agency, approved, status):
    if status != Status.APPROVED:
        close(agency, approved, status)
    # The trigger fires before the foreign keys of its instalments, payments and events are checked.
    refused("DELETE FROM finance_contract WHERE id = %s", [approved.pk], match="cannot be deleted")
    assert Contract.unscoped.filter(pk=approved.pk).exists()


@pytest.mark.parametrize("status", ["draft", "submitted", "rejected"])
def test_a_contract_finance_has_not_approved_can_still_be_updated(agency, team, status):
    contract = factories.contract(agency, sales=team["sales"], finance=team["finance"], status=status)
    assert execute("UPDATE finance_contract SET amount = 9800, notes = 'raw' WHERE id = %s", [contract.pk]) == 1
    contract.refresh_from_db()
    assert (contract.amount, contract.notes) == (Decimal("9800"), "raw")


def test_a_draft_can_be_deleted_with_its_instalments(agency, team):
    contract = factories.contract(agency, sales=team["sales"], payment_type="deposit")
    execute("DELETE FROM finance_instalment WHERE contract_id = %s", [contract.pk])
    execute("DELETE FROM finance_contractevent WHERE contract_id = %s", [contract.pk])
    assert execute("DELETE FROM finance_contract WHERE id = %s", [contract.pk]) == 1


# --- instalments -----------------------------------------------------------------------------------


def test_the_instalments_of_an_approved_contract_are_frozen(approved):
    first = Instalment.unscoped.filter(contract=approved).order_by("position").first()
    refused(
        "INSERT INTO finance_instalment (agency_id, contract_id, position, due_date, amount) VALUES (%s, %s, 9, %s, 1)",
        [approved.agency_id, approved.pk, datetime.date(2030, 1, 1)],
        match="instalments of an approved contract",
    )
    refused("UPDATE finance_instalment SET amount = amount + 1 WHERE id = %s", [first.pk])
    refused("UPDATE finance_instalment SET due_date = due_date + 30 WHERE id = %s", [first.pk])
    refused("DELETE FROM finance_instalment WHERE id = %s", [first.pk])
    assert Instalment.unscoped.filter(contract=approved).count() == 3


def test_an_instalment_cannot_move_off_or_onto_an_approved_contract(agency, team, approved):
    draft = factories.contract(agency, sales=team["sales"], payment_type="deposit")
    ours = Instalment.unscoped.filter(contract=approved).order_by("position").first()
    theirs = Instalment.unscoped.filter(contract=draft).order_by("position").first()
    refused("UPDATE finance_instalment SET contract_id = %s, position = 9 WHERE id = %s", [draft.pk, ours.pk])
    refused("UPDATE finance_instalment SET contract_id = %s, position = 9 WHERE id = %s", [approved.pk, theirs.pk])


def test_the_instalments_of_a_draft_can_be_changed(agency, team):
    draft = factories.contract(agency, sales=team["sales"], payment_type="deposit")
    first = Instalment.unscoped.filter(contract=draft).order_by("position").first()
    assert execute("UPDATE finance_instalment SET amount = amount + 1 WHERE id = %s", [first.pk]) == 1
    assert execute("DELETE FROM finance_instalment WHERE id = %s", [first.pk]) == 1


# --- payments and refunds --------------------------------------------------------------------------


@pytest.fixture
def payments(agency, team, approved):
    """One payment each: recorded, confirmed (the fixture's 1,000) and found missing."""
    with agency_context(agency):
        record = {"agency": agency, "actor": team["finance"], "contract": approved, "method": "bank",
                  "paid_at": timezone.now()}  # fmt: skip
        recorded = services.payment_record(amount=Decimal("100"), **record)
        missing = services.payment_record(amount=Decimal("200"), **record)
        services.payment_reject(agency=agency, actor=team["finance"], payment=missing, reason="查无此款")
    return {
        "recorded": recorded,
        "confirmed": Payment.unscoped.get(contract=approved, status=Payment.Status.CONFIRMED),
        "rejected": missing,
    }


@pytest.mark.parametrize("column", ["amount = amount + 1", "status = 'recorded'", "note = 'x'", "paid_at = now()"])
def test_a_confirmed_payment_cannot_be_changed(payments, column):
    confirmed = payments["confirmed"]
    refused(f"UPDATE finance_payment SET {column} WHERE id = %s", [confirmed.pk],  # noqa: S608
            match="is confirmed: it cannot be changed")  # fmt: skip
    assert Payment.unscoped.get(pk=confirmed.pk).amount == Decimal("1000")


def test_a_confirmed_payment_cannot_be_deleted(payments):
    refused("DELETE FROM finance_payment WHERE id = %s", [payments["confirmed"].pk], match="cannot be deleted")


def test_a_payment_found_missing_cannot_be_revived(payments):
    refused("UPDATE finance_payment SET status = 'confirmed' WHERE id = %s", [payments["rejected"].pk])
    assert Payment.unscoped.get(pk=payments["rejected"].pk).status == Payment.Status.REJECTED


def test_a_payment_awaiting_confirmation_can_still_be_corrected(payments):
    recorded = payments["recorded"]
    assert execute("UPDATE finance_payment SET amount = 150 WHERE id = %s", [recorded.pk]) == 1
    assert Payment.unscoped.get(pk=recorded.pk).amount == Decimal("150")


@pytest.fixture
def refunds(agency, team, approved):
    """One refund each: applied, approved and rejected."""
    with agency_context(agency):
        apply = {"agency": agency, "actor": team["sales"], "contract": approved, "reason": "部分退款"}
        applied = services.refund_apply(amount=Decimal("100"), **apply)
        granted = services.refund_apply(amount=Decimal("200"), **apply)
        declined = services.refund_apply(amount=Decimal("300"), **apply)
        services.refund_approve(agency=agency, actor=team["finance"], refund=granted)
        services.refund_reject(agency=agency, actor=team["finance"], refund=declined, note="不符合条件")
    return {"applied": applied, "approved": granted, "rejected": declined}


@pytest.mark.parametrize("decided", ["approved", "rejected"])
@pytest.mark.parametrize("column", ["amount = amount + 1", "status = 'applied'", "decision_note = 'x'"])
def test_a_decided_refund_cannot_be_changed(refunds, decided, column):
    refund = refunds[decided]
    refused(f"UPDATE finance_refund SET {column} WHERE id = %s", [refund.pk],  # noqa: S608
            match="it cannot be changed")  # fmt: skip
    assert Refund.unscoped.get(pk=refund.pk).status == decided


def test_an_approved_refund_cannot_be_deleted(refunds):
    refused("DELETE FROM finance_refund WHERE id = %s", [refunds["approved"].pk], match="cannot be deleted")


def test_a_refund_awaiting_a_decision_can_still_be_corrected(refunds):
    applied = refunds["applied"]
    assert execute("UPDATE finance_refund SET amount = 50 WHERE id = %s", [applied.pk]) == 1
    assert Refund.unscoped.get(pk=applied.pk).amount == Decimal("50")
