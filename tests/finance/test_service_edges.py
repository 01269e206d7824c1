"""Edge cases found in review: payment types, late confirmations after a full refund, resubmissions."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from apps.agencies.context import agency_context
from apps.finance import numbering, services
from apps.finance.models import Contract
from apps.finance.selectors import contract_visible_list
from apps.matchmakers import services as staff_services
from apps.members.models import Member
from tests.finance.factories import PackageFactory, contract, finance_team, member
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(agency):
    return finance_team(agency)


def test_an_unknown_payment_type_is_refused(agency, team):
    with agency_context(agency), pytest.raises(ValidationError) as error:
        services.contract_create(agency=agency, actor=team["sales"], member=member(agency, team["sales"]),
                                 package=PackageFactory(agency=agency), payment_type="barter")  # fmt: skip
    assert "payment_type" in error.value.message_dict
    assert not Contract.unscoped.exists()


def test_a_payment_cannot_be_confirmed_on_a_fully_refunded_contract_nor_end_it_while_waiting(agency, team):
    signed = contract(agency, sales=team["sales"], finance=team["finance"], status="approved", paid=["5000"])
    finance = team["finance"]
    with agency_context(agency):
        waiting = services.payment_record(agency=agency, actor=finance, contract=signed, amount=Decimal("1000"),
                                          method="cash", paid_at=timezone.now())  # fmt: skip
        refund = services.refund_apply(agency=agency, actor=team["sales"], contract=signed, amount=Decimal("5000"),
                                       reason="终止服务")  # fmt: skip
        services.refund_approve(agency=agency, actor=finance, refund=refund)
        signed.refresh_from_db()
        assert signed.status == "approved"  # a payment still awaits confirmation: not refunded in full yet
        services.payment_reject(agency=agency, actor=finance, payment=waiting, reason="未到账")
        late = services.payment_record(agency=agency, actor=finance, contract=signed, amount=Decimal("10"),
                                       method="cash", paid_at=timezone.now())  # fmt: skip
        Contract.unscoped.filter(pk=signed.pk).update(status="refunded")  # as if the last refund had closed it
        with translation.override("en"), pytest.raises(ValidationError, match="refunded in full"):
            services.payment_confirm(agency=agency, actor=finance, payment=late)
    signed.refresh_from_db()
    assert signed.paid_amount == Decimal("5000.00")


def test_a_resubmitted_contract_forgets_the_earlier_reviewer(agency, team):
    rejected = contract(agency, sales=team["sales"], finance=team["finance"], status="rejected")
    assert rejected.decided_by == team["finance"]
    with agency_context(agency):
        resubmitted = services.contract_submit(agency=agency, actor=team["sales"], contract=rejected)
    assert resubmitted.decided_by is None and resubmitted.decided_at is None and resubmitted.reject_reason == ""


def test_entitlements_are_consumed_one_or_more_at_a_time(agency, team):
    today = timezone.localdate()
    signed = contract(agency, sales=team["sales"], finance=team["finance"], status="approved",
                      service_start=today - datetime.timedelta(days=1))  # fmt: skip
    with agency_context(agency), pytest.raises(ValueError, match="at least 1"):
        services.entitlement_consume(agency=agency, member=signed.member, kind="appointment", count=0)


def test_a_zero_width_running_number_is_not_a_pattern():
    with pytest.raises(ValidationError):
        numbering.validate_pattern("HT{SEQ:0}")
    numbering.validate_pattern("HT{SEQ:9}")


def test_a_leaving_salesperson_hands_over_members_but_keeps_the_credit_for_approved_sales(agency, team):
    signed = contract(agency, sales=team["sales"], finance=team["finance"], status="approved")
    colleague = UserFactory(agency=agency, username="colleague", role=team["sales"].role)
    admin = UserFactory(agency=agency, username="boss", role=team["finance"].role.parent)
    with agency_context(agency):
        staff_services.staff_handover(agency=agency, actor=admin, from_user=team["sales"], to_user=colleague)
    signed.refresh_from_db()
    assert signed.salesperson == team["sales"]  # the sale stays theirs (and the contract unchanged)
    assert Member.unscoped.get(pk=signed.member_id).presale_owner == colleague
    with agency_context(agency):
        assert contract_visible_list(user=colleague).filter(pk=signed.pk).exists()


def test_a_deposit_confirmed_before_the_contract_was_rejected_can_be_refunded(agency, team):
    submitted = contract(agency, sales=team["sales"], finance=team["finance"], status="submitted", paid=["3000"])
    with agency_context(agency):
        services.contract_reject(agency=agency, actor=team["finance"], contract=submitted, reason="会员反悔")
        refund = services.refund_apply(agency=agency, actor=team["sales"], contract=submitted, amount=Decimal("3000"),
                                       reason="退还定金")  # fmt: skip
        services.refund_approve(agency=agency, actor=team["finance"], refund=refund)
    submitted.refresh_from_db()
    assert submitted.status == "refunded" and submitted.refunded_amount == submitted.paid_amount == Decimal("3000")
