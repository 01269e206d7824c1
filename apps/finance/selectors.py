"""Reads of contracts, payments and refunds, scoped by agency and by what the user may see.

Finance (whoever may audit contracts, payments or refunds) sees every contract of the agency: it
approves them all. Everyone else sees the contracts they sold, those their team sold, and those of
members they may see (F-B3), in one SQL statement.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet

from apps.matchmakers.selectors import owner_ids_visible_to
from apps.members.models import MemberShare
from apps.members.selectors import OWNER_FIELDS as MEMBER_OWNER_FIELDS

from .models import Contract, ContractEvent, Instalment, Payment, Refund

AUDIT_PERMS = ("matchmakers.audit_contracts", "matchmakers.audit_payments", "matchmakers.audit_refunds")


def sees_all_contracts(user) -> bool:
    return any(user.has_perm(perm) for perm in AUDIT_PERMS)


def contract_visible_list(*, user) -> QuerySet[Contract]:
    contracts = Contract.objects.filter(agency_id=user.agency_id)
    if sees_all_contracts(user):
        return contracts
    # The member visibility rule (apps.members.selectors) applied through the contract's member,
    # plus the contracts the user or their team sold. Spelled out on the joined member rather than
    # as `member IN (visible members)`: PostgreSQL then tests 20k contracts instead of hashing
    # every visible member of the agency (a presale matchmaker's contract list on the bench agency:
    # 334 ms before, 190 ms after).
    owners = owner_ids_visible_to(user)
    condition = Q(salesperson__in=owners)
    for field in MEMBER_OWNER_FIELDS:
        condition |= Q(**{f"member__{field}__in": owners})
    shared = MemberShare.unscoped.filter(user_id=user.pk).values("content_object_id")
    return contracts.filter(condition | Q(member__in=shared))


def contract_list(*, user) -> QuerySet[Contract]:
    return contract_visible_list(user=user).select_related("member", "package", "salesperson")


def contract_detail(*, user, pk: int) -> Contract | None:
    """A contract with everything its page shows, in a fixed number of queries."""
    return (
        contract_list(user=user)
        .select_related("previous", "created_by", "decided_by", "member__presale_owner", "member__aftersale_owner")
        .prefetch_related(
            Prefetch("instalments", queryset=Instalment.objects.order_by("position")),
            Prefetch(
                "payments",
                queryset=Payment.objects.select_related("recorded_by", "confirmed_by").order_by("paid_at", "id"),
            ),
            Prefetch("refunds", queryset=Refund.objects.select_related("applied_by", "decided_by")),
            Prefetch("events", queryset=ContractEvent.objects.select_related("actor").order_by("at", "id")),
            Prefetch("renewals", queryset=Contract.objects.order_by("created_at")),
        )
        .filter(pk=pk)
        .first()
    )


def payment_list(*, user) -> QuerySet[Payment]:
    payments = Payment.objects.filter(agency_id=user.agency_id)
    if not sees_all_contracts(user):
        payments = payments.filter(contract__in=contract_visible_list(user=user).values("pk"))
    return payments.select_related("contract", "member", "recorded_by", "confirmed_by")


def refund_list(*, user) -> QuerySet[Refund]:
    refunds = Refund.objects.filter(agency_id=user.agency_id)
    if not sees_all_contracts(user):
        refunds = refunds.filter(contract__in=contract_visible_list(user=user).values("pk"))
    return refunds.select_related("contract", "member", "applied_by", "decided_by")


def expiring_contracts(*, user, today: datetime.date, days: int) -> QuerySet[Contract]:
    """Effective contracts whose service ends within `days` (F-G6): the renewal reminders."""
    return (
        contract_list(user=user)
        .filter(
            status=Contract.Status.APPROVED,
            service_end__gte=today,
            service_end__lte=today + datetime.timedelta(days=days),
        )
        .prefetch_related(Prefetch("renewals", queryset=Contract.objects.exclude(status=Contract.Status.REJECTED)))
        .order_by("service_end", "id")
    )


def member_contracts(*, member) -> list[Contract]:
    return list(
        Contract.objects.filter(member=member)
        .select_related("package", "salesperson")
        .order_by("-service_start", "-id")
    )


@dataclass
class ScheduleRow:
    instalment: Instalment
    paid: Decimal
    state: str  # "paid", "partly", "overdue", "due" (today), "upcoming"

    @property
    def open(self) -> Decimal:
        return self.instalment.amount - self.paid


def schedule_rows(contract: Contract, *, today: datetime.date) -> list[ScheduleRow]:
    """The instalments with what is paid of each: confirmed payments fill them in order (F-G3)."""
    left = contract.paid_amount
    rows = []
    for instalment in contract.instalments.all():
        paid = min(left, instalment.amount)
        left -= paid
        if paid == instalment.amount:
            state = "paid"
        elif instalment.due_date < today:
            state = "overdue"
        elif paid > 0:
            state = "partly"
        elif instalment.due_date == today:
            state = "due"
        else:
            state = "upcoming"
        rows.append(ScheduleRow(instalment, paid, state))
    return rows


def amount_due(contract: Contract, *, today: datetime.date) -> Decimal:
    """What should have been paid by today and has not (confirmed payments only)."""
    scheduled = sum((row.amount for row in contract.instalments.all() if row.due_date <= today), Decimal("0"))
    return max(scheduled - contract.paid_amount, Decimal("0"))


def finance_todo(*, user) -> dict[str, int] | None:
    """The workbench's finance counts: what awaits the user's decision, and contracts ending soon (F-G6)."""
    if not (user.has_perm("matchmakers.view_contracts") or sees_all_contracts(user)):
        return None
    from .services import agency_today, settings_for  # noqa: PLC0415 - services import this module

    todo = {}
    if user.has_perm("matchmakers.audit_contracts"):
        todo["contracts"] = Contract.objects.filter(agency_id=user.agency_id, status=Contract.Status.SUBMITTED).count()
    if user.has_perm("matchmakers.audit_payments"):
        todo["payments"] = Payment.objects.filter(agency_id=user.agency_id, status=Payment.Status.RECORDED).count()
    if user.has_perm("matchmakers.audit_refunds"):
        todo["refunds"] = Refund.objects.filter(agency_id=user.agency_id, status=Refund.Status.APPLIED).count()
    if user.has_perm("matchmakers.view_contracts"):
        agency = user.agency
        todo["ending"] = expiring_contracts(
            user=user, today=agency_today(agency), days=settings_for(agency).expiry_reminder_days
        ).count()
    return todo
