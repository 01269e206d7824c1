"""Every change to packages, contracts, payments and refunds (F-G1 … F-G6).

Each service checks the actor's permission and what the actor may see, runs in one transaction,
takes the contract's row lock before it reads money totals, and writes a ContractEvent (who, when,
before, after). Views, tasks and tests all come through here; nothing else writes these tables.
"""

import datetime
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.matchmakers.models import User
from apps.matchmakers.selectors import staff_below
from apps.members.choices import ServiceStatus
from apps.members.models import Member
from apps.members.selectors import member_visible_list

from . import numbering
from .models import (
    CENT,
    Contract,
    ContractEvent,
    FinanceSettings,
    Instalment,
    Payment,
    Refund,
    SalesRollupDay,
    ServicePackage,
)  # fmt: skip
from .selectors import contract_visible_list

Status = Contract.Status
MAX_INSTALMENTS = 24


# --- helpers ---------------------------------------------------------------------------------------


def agency_zone(agency) -> ZoneInfo:
    return ZoneInfo(agency.timezone or "Asia/Shanghai")


def agency_today(agency) -> datetime.date:
    return timezone.now().astimezone(agency_zone(agency)).date()


def local_day(agency, moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(agency_zone(agency)).date()


def _require(actor: User, *perms: str, message: str) -> None:
    if not all(actor.has_perm(f"matchmakers.{perm}") for perm in perms):
        raise PermissionDenied(message)


def _plain(value):
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if hasattr(value, "pk"):
        return str(value)
    return value


def _event(agency, contract: Contract, kind: str, actor, *, before=None, after=None, note="") -> ContractEvent:
    return ContractEvent.objects.create(
        agency=agency, contract=contract, member_id=contract.member_id, contract_number=contract.number, kind=kind,
        actor=actor, before={k: _plain(v) for k, v in (before or {}).items()},
        after={k: _plain(v) for k, v in (after or {}).items()}, note=note[:200],
    )  # fmt: skip


def _locked_contract(agency, actor, contract: Contract, *, visible=True) -> Contract:
    """The contract's row, locked for this transaction and read again (forms may have changed the instance)."""
    queryset = contract_visible_list(user=actor) if (visible and actor is not None) else Contract.objects.all()
    locked = queryset.filter(pk=contract.pk, agency=agency).select_for_update(of=("self",)).first()
    if locked is None:
        raise PermissionDenied(_("You cannot see this contract."))
    return locked


def settings_for(agency) -> FinanceSettings:
    settings, _created = FinanceSettings.objects.get_or_create(agency=agency)
    return settings


ROLLUP_LOCK = 7302  # advisory-lock class of the sales roll-up, per agency and day


def lock_rollup_days(agency, days, *, lock: int = ROLLUP_LOCK) -> None:
    """Serialise a day's roll-up with changes that make it stale, until this transaction ends.

    Without it a roll-up could read a day just before a late confirmation commits and then mark the
    day complete after the confirmation removed the (not yet existing) mark. Days are locked in
    order, so two writers never wait on each other crosswise. `lock` is the class of roll-up (the
    dashboards' roll-up has its own).
    """
    with connection.cursor() as cursor:
        for day in sorted(set(days)):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [lock * 100_000 + agency.pk % 100_000,
                                                                    day.toordinal()])  # fmt: skip


def _mark_stale(agency, days) -> None:
    """Days whose roll-up no longer holds: reports compute them live until the roll-up task runs again."""
    days = set(days)
    if not days:
        return
    # Today too: a change committing just after midnight must still meet a roll-up of its day.
    lock_rollup_days(agency, days)
    SalesRollupDay.objects.filter(agency=agency, day__in=days).delete()
    from .tasks import sales_rollup  # noqa: PLC0415 - tasks import services

    for day in {day for day in days if day < agency_today(agency)}:
        transaction.on_commit(lambda day=day: sales_rollup.delay(agency_id=agency.pk, day=day.isoformat()))


# --- packages and settings -------------------------------------------------------------------------


@transaction.atomic
def package_save(*, agency, actor: User, package: ServicePackage) -> ServicePackage:
    """Create or change a service package. Contracts keep the entitlements they were written with."""
    _require(actor, "edit_settings", message=_("Your role does not allow managing service packages."))
    package.agency = agency
    package.full_clean(exclude=["agency"])
    package.save()
    return package


@transaction.atomic
def finance_settings_save(*, agency, actor: User, settings: FinanceSettings) -> FinanceSettings:
    _require(actor, "edit_settings", message=_("Your role does not allow changing settings."))
    for field in ("contract_number_pattern", "payment_number_pattern", "refund_number_pattern"):
        try:
            numbering.validate_pattern(getattr(settings, field))
        except ValidationError as error:
            raise ValidationError({field: error.messages}) from error
    settings.agency = agency
    settings.full_clean(exclude=["agency"])
    settings.save()
    return settings


# --- contracts -------------------------------------------------------------------------------------


def default_service_end(start: datetime.date, months: int) -> datetime.date:
    return start + relativedelta(months=months) - datetime.timedelta(days=1)


def default_schedule(*, payment_type: str, amount: Decimal, start: datetime.date, count: int = 3):
    """A schedule to start from: one payment, deposit (30%) and balance, or equal monthly instalments."""
    if payment_type == Contract.PaymentType.FULL or amount <= 0:
        return [(start, amount)]
    if payment_type == Contract.PaymentType.DEPOSIT:
        deposit = (amount * Decimal("0.3")).quantize(CENT)
        return [(start, deposit), (start + relativedelta(months=1), amount - deposit)]
    share = (amount / count).quantize(CENT)
    schedule = [(start + relativedelta(months=index), share) for index in range(count - 1)]
    return [*schedule, (start + relativedelta(months=count - 1), amount - share * (count - 1))]


def _check_schedule(payment_type: str, amount: Decimal, schedule) -> list[tuple[datetime.date, Decimal]]:
    if payment_type not in Contract.PaymentType.values:
        raise ValidationError(
            {"payment_type": _("Choose how the member pays: in full, deposit and balance, or instalments.")}
        )
    rows = [(due, Decimal(value)) for due, value in schedule]
    if any(value != value.quantize(CENT) for _due, value in rows):
        raise ValidationError({"instalments": _("Amounts have at most two decimal places.")})
    if any(value <= 0 for _due, value in rows):
        raise ValidationError({"instalments": _("Every instalment needs an amount above zero.")})
    expected = {Contract.PaymentType.FULL: (1, 1), Contract.PaymentType.DEPOSIT: (2, 2)}.get(
        payment_type, (2, MAX_INSTALMENTS)
    )
    if not expected[0] <= len(rows) <= expected[1]:
        messages = {
            Contract.PaymentType.FULL: _("A full payment has exactly one instalment."),
            Contract.PaymentType.DEPOSIT: _("A deposit contract has two instalments: the deposit and the balance."),
        }
        raise ValidationError(
            {
                "instalments": messages.get(
                    payment_type, _("Instalments need between 2 and %(max)s payments.") % {"max": MAX_INSTALMENTS}
                )
            }
        )
    if any(later < earlier for (earlier, _a), (later, _b) in itertools.pairwise(rows)):
        raise ValidationError({"instalments": _("Instalments must be in the order they fall due.")})
    total = sum((value for _due, value in rows), Decimal("0"))
    if total != amount:
        raise ValidationError({"instalments": _(
            "The instalments add up to %(total)s yuan, not the contract amount of %(amount)s yuan."
        ) % {"total": f"{total:.2f}", "amount": f"{amount:.2f}"}})  # fmt: skip
    return rows


def _check_terms(agency, actor: User, *, member: Member, package: ServicePackage, salesperson: User,
                 amount: Decimal, service_start, service_end) -> None:  # fmt: skip
    if package.agency_id != agency.pk or member.agency_id != agency.pk or salesperson.agency_id != agency.pk:
        raise PermissionDenied(_("These records belong to another agency."))
    if not member_visible_list(user=actor).filter(pk=member.pk).exists():
        raise PermissionDenied(_("You cannot see this member."))
    allowed_sales = (staff_below(user=actor) | User.objects.filter(pk=actor.pk)).filter(is_active=True)
    if not allowed_sales.filter(pk=salesperson.pk).exists():
        raise ValidationError({"salesperson": _("The salesperson must be you or someone of your team.")})
    if amount is None or amount <= 0:
        raise ValidationError({"amount": _("The contract amount must be above zero.")})
    if amount != amount.quantize(CENT):
        raise ValidationError({"amount": _("Amounts have at most two decimal places.")})
    if service_end < service_start:
        raise ValidationError({"service_end": _("The service cannot end before it starts.")})


def may_edit(actor: User, contract: Contract) -> bool:
    """Editors of contracts, and the salesperson or author of their own, while it is a draft or rejected."""
    if contract.status not in Contract.EDITABLE_STATUSES:
        return False
    if actor.has_perm("matchmakers.edit_contracts"):
        return True
    return actor.has_perm("matchmakers.add_contracts") and actor.pk in (contract.salesperson_id, contract.created_by_id)


@transaction.atomic
def contract_create(
    *, agency, actor: User, member: Member, package: ServicePackage, amount: Decimal | None = None,
    payment_type: str = Contract.PaymentType.FULL, service_start: datetime.date | None = None,
    service_end: datetime.date | None = None, salesperson: User | None = None, schedule=None, notes: str = "",
    previous: Contract | None = None,
) -> Contract:  # fmt: skip
    """Enter a draft contract for a member (F-G2); entitlements are copied from the package."""
    _require(actor, "add_contracts", message=_("Your role does not allow entering contracts."))
    if not package.is_active:
        raise ValidationError({"package": _("This package is retired; choose one that is on sale.")})
    amount = package.price if amount is None else Decimal(amount)
    service_start = service_start or agency_today(agency)
    service_end = service_end or default_service_end(service_start, package.duration_months)
    salesperson = salesperson or actor
    _check_terms(agency, actor, member=member, package=package, salesperson=salesperson, amount=amount,
                 service_start=service_start, service_end=service_end)  # fmt: skip
    if schedule is None:
        schedule = default_schedule(payment_type=payment_type, amount=amount, start=service_start)
    rows = _check_schedule(payment_type, amount, schedule)
    settings = settings_for(agency)
    contract = Contract.objects.create(
        agency=agency, member=member, package=package, previous=previous, amount=amount, payment_type=payment_type,
        service_start=service_start, service_end=service_end, salesperson=salesperson, notes=notes,
        number=numbering.next_number(agency=agency, model=Contract, pattern=settings.contract_number_pattern,
                                     sequence_name="contract", on=agency_today(agency)),
        recommendations_total=package.recommendations, appointments_total=package.appointments,
        dedicated_matchmaker=package.dedicated_matchmaker, priority_recommendation=package.priority_recommendation,
        created_by=actor,
    )  # fmt: skip
    Instalment.objects.bulk_create(
        Instalment(agency=agency, contract=contract, position=index, due_date=due, amount=value)
        for index, (due, value) in enumerate(rows, start=1)
    )
    _event(agency, contract, ContractEvent.Kind.CREATED, actor, after={
        "package": package.name, "amount": amount, "payment_type": payment_type, "service_start": service_start,
        "service_end": service_end, "salesperson": salesperson,
        **({"renewal_of": previous.number} if previous else {}),
    })  # fmt: skip
    return contract


def _take_entitlements(contract: Contract, package: ServicePackage) -> None:
    if not package.is_active:
        raise ValidationError({"package": _("This package is retired; choose one that is on sale.")})
    contract.recommendations_total, contract.appointments_total = package.recommendations, package.appointments
    contract.dedicated_matchmaker = package.dedicated_matchmaker
    contract.priority_recommendation = package.priority_recommendation


EDITABLE_FIELDS = ("package", "amount", "payment_type", "service_start", "service_end", "salesperson", "notes")


@transaction.atomic
def contract_update(*, agency, actor: User, contract: Contract, schedule=None, **changes) -> Contract:
    """Change a draft or rejected contract's terms (and its schedule); the event records before and after."""
    locked = _locked_contract(agency, actor, contract)
    if locked.status not in Contract.EDITABLE_STATUSES:
        raise ValidationError(_("Only draft or rejected contracts can be changed; this one is %(status)s.")
                              % {"status": locked.get_status_display()})  # fmt: skip
    if not may_edit(actor, locked):
        raise PermissionDenied(_("You may only change your own contracts."))
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    before, after = {}, {}
    for field, value in changes.items():
        new = Decimal(value) if field == "amount" and value is not None else value
        if getattr(locked, field) != new:
            before[field], after[field] = getattr(locked, field), new
            setattr(locked, field, new)
    package = locked.package
    if "package" in after:
        _take_entitlements(locked, package)
    _check_terms(agency, actor, member=locked.member, package=package, salesperson=locked.salesperson,
                 amount=locked.amount, service_start=locked.service_start, service_end=locked.service_end)  # fmt: skip
    committed = Payment.objects.filter(contract=locked).exclude(status=Payment.Status.REJECTED).aggregate(
        total=Sum("amount"))["total"] or Decimal("0")  # fmt: skip
    if locked.amount < committed:
        message = _("%(paid)s yuan has already been recorded as paid; the amount cannot be lower.")
        raise ValidationError({"amount": message % {"paid": f"{committed:.2f}"}})
    current = [(row.due_date, row.amount) for row in locked.instalments.order_by("position")]
    if schedule is None:
        schedule = current
        if "amount" in after or "payment_type" in after or "service_start" in after:
            schedule = default_schedule(
                payment_type=locked.payment_type, amount=locked.amount, start=locked.service_start
            )
    rows = _check_schedule(locked.payment_type, locked.amount, schedule)
    if rows != current:
        before["instalments"] = [[due.isoformat(), f"{value:.2f}"] for due, value in current]
        after["instalments"] = [[due.isoformat(), f"{value:.2f}"] for due, value in rows]
        locked.instalments.all().delete()
        Instalment.objects.bulk_create(
            Instalment(agency=agency, contract=locked, position=index, due_date=due, amount=value)
            for index, (due, value) in enumerate(rows, start=1)
        )
    if not before:
        return locked
    if ("salesperson" in after or "package" in after) and locked.paid_amount:
        # Confirmed payments move to another salesperson or package in the sales reports.
        _mark_stale(agency, {local_day(agency, paid_at) for paid_at in Payment.objects.filter(
            contract=locked, status=Payment.Status.CONFIRMED).values_list("paid_at", flat=True)}
            | {local_day(agency, decided) for decided in Refund.objects.filter(
                contract=locked, status=Refund.Status.APPROVED).values_list("decided_at", flat=True)})  # fmt: skip
    locked.save()
    _event(agency, locked, ContractEvent.Kind.EDITED, actor, before=before, after=after)
    return locked


@transaction.atomic
def contract_delete(*, agency, actor: User, contract: Contract) -> None:
    """Delete a draft that was entered by mistake (never a contract that finance has seen)."""
    locked = _locked_contract(agency, actor, contract)
    if locked.status != Status.DRAFT:
        raise ValidationError(_("Only drafts can be deleted; this contract is %(status)s.")
                              % {"status": locked.get_status_display()})  # fmt: skip
    if not (actor.has_perm("matchmakers.delete_contracts") or may_edit(actor, locked)):
        raise PermissionDenied(_("You may only delete your own drafts."))
    if Payment.objects.filter(contract=locked).exists():
        raise ValidationError(_("Payments have been recorded against this contract; it cannot be deleted."))
    _event(agency, locked, ContractEvent.Kind.DELETED, actor, before={"status": locked.status})
    locked.delete()


def _transition(agency, actor, contract, *, allowed_from, to, kind, note="", also=None, **fields) -> Contract:
    """Move the contract to `to` if its status allows; `also` adds (before, after) pairs to the event."""
    if contract.status not in allowed_from:
        raise ValidationError(
            _("A contract that is %(status)s cannot be %(action)s.")
            % {"status": contract.get_status_display(), "action": ContractEvent.Kind(kind).label.lower()}
        )
    before, after = {"status": contract.status}, {"status": to}
    for key, (old, new) in (also or {}).items():
        if old != new:  # the history lists what changed, nothing else
            before[key], after[key] = old, new
    contract.status = to
    for field, value in fields.items():
        setattr(contract, field, value)
    contract.save(update_fields=["status", *fields])
    _event(agency, contract, kind, actor, before=before, after=after, note=note)
    return contract


@transaction.atomic
def contract_submit(*, agency, actor: User, contract: Contract) -> Contract:
    """Send a draft (or a corrected rejected contract) to finance for approval."""
    locked = _locked_contract(agency, actor, contract)
    if locked.status in Contract.EDITABLE_STATUSES and not may_edit(actor, locked):
        raise PermissionDenied(_("You may only submit your own contracts."))
    return _transition(agency, actor, locked, allowed_from=Contract.EDITABLE_STATUSES, to=Status.SUBMITTED,
                       kind=ContractEvent.Kind.SUBMITTED, submitted_at=timezone.now(), reject_reason="",
                       decided_by=None, decided_at=None)  # fmt: skip


@transaction.atomic
def contract_withdraw(*, agency, actor: User, contract: Contract) -> Contract:
    """Take a submitted contract back to draft before finance has decided."""
    locked = _locked_contract(agency, actor, contract)
    if locked.status == Status.SUBMITTED and not (
        actor.has_perm("matchmakers.edit_contracts") or actor.pk in (locked.salesperson_id, locked.created_by_id)
    ):
        raise PermissionDenied(_("You may only withdraw your own contracts."))
    return _transition(agency, actor, locked, allowed_from=(Status.SUBMITTED,), to=Status.DRAFT,
                       kind=ContractEvent.Kind.WITHDRAWN)  # fmt: skip


@transaction.atomic
def contract_approve(*, agency, actor: User, contract: Contract) -> Contract:
    """Finance approves (F-G2): the contract takes effect and the member moves on to after-sale (F-D1).

    A member without an after-sale matchmaker becomes "signed" and waits in the dealt pool; one who
    has one (a renewal) stays in service.
    """
    _require(actor, "audit_contracts", message=_("Only finance may approve contracts."))
    locked = _locked_contract(agency, actor, contract)
    # The member's row first: two approvals of overlapping contracts queue here, so the second sees the first.
    member = Member.objects.select_for_update().get(pk=locked.member_id)
    if locked.status == Status.SUBMITTED:
        overlapping = Contract.objects.filter(
            member_id=locked.member_id, status=Status.APPROVED, service_start__lte=locked.service_end,
            service_end__gte=locked.service_start,
        ).exclude(pk=locked.pk).first()  # fmt: skip
        if overlapping is not None:
            raise ValidationError(_("The member's contract %(number)s is effective during this period already.")
                                  % {"number": overlapping.number})  # fmt: skip
    if member.aftersale_owner_id is None:
        status, service_status = Member.Status.SIGNED, member.service_status
    else:
        status, service_status = Member.Status.IN_SERVICE, ServiceStatus.ACTIVE
    _transition(agency, actor, locked, allowed_from=(Status.SUBMITTED,), to=Status.APPROVED,
                kind=ContractEvent.Kind.APPROVED, decided_by=actor, decided_at=timezone.now(),
                also={"member_status": (member.status, status),
                      "service_status": (member.service_status, service_status)})  # fmt: skip
    Member.objects.filter(pk=member.pk).update(status=status, service_status=service_status)
    _mark_stale(agency, {local_day(agency, locked.decided_at)})  # the day's roll-up waits for this approval
    return locked


@transaction.atomic
def contract_reject(*, agency, actor: User, contract: Contract, reason: str) -> Contract:
    _require(actor, "audit_contracts", message=_("Only finance may reject contracts."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the contract is rejected.")})
    locked = _locked_contract(agency, actor, contract)
    return _transition(agency, actor, locked, allowed_from=(Status.SUBMITTED,), to=Status.REJECTED,
                       kind=ContractEvent.Kind.REJECTED, note=reason, reject_reason=reason[:200], decided_by=actor,
                       decided_at=timezone.now())  # fmt: skip


def _end_service(member_id: int, exclude_contract: int) -> None:
    """The member's service ends when no other contract of theirs is effective."""
    if not Contract.objects.filter(member_id=member_id, status=Status.APPROVED).exclude(pk=exclude_contract).exists():
        Member.objects.filter(pk=member_id, service_status=ServiceStatus.ACTIVE).update(
            service_status=ServiceStatus.FINISHED
        )


@transaction.atomic
def contract_complete(*, agency, actor: User, contract: Contract, note: str = "") -> Contract:
    """The agency has delivered the contract's service before its end date."""
    if not (actor.has_perm("matchmakers.audit_contracts") or actor.has_perm("matchmakers.edit_contracts")):
        raise PermissionDenied(_("Your role does not allow completing contracts."))
    locked = _locked_contract(agency, actor, contract)
    _transition(agency, actor, locked, allowed_from=(Status.APPROVED,), to=Status.COMPLETED,
                kind=ContractEvent.Kind.COMPLETED, note=note, closed_at=timezone.now())  # fmt: skip
    _end_service(locked.member_id, locked.pk)
    return locked


@transaction.atomic
def contracts_expire(*, agency, today: datetime.date | None = None) -> int:
    """The daily job: effective contracts whose service period is over become expired. Idempotent."""
    today = today or agency_today(agency)
    expired = 0
    for contract in Contract.objects.filter(
        agency=agency, status=Status.APPROVED, service_end__lt=today
    ).select_for_update():
        _transition(agency, None, contract, allowed_from=(Status.APPROVED,), to=Status.EXPIRED,
                    kind=ContractEvent.Kind.EXPIRED, closed_at=timezone.now())  # fmt: skip
        _end_service(contract.member_id, contract.pk)
        Member.objects.filter(pk=contract.member_id, service_status=ServiceStatus.FINISHED).update(
            service_status=ServiceStatus.EXPIRED
        )
        expired += 1
    return expired


@transaction.atomic
def contract_renew(*, agency, actor: User, contract: Contract, package: ServicePackage | None = None) -> Contract:
    """A renewal (F-G6): a new draft linked to the previous contract, starting the day after it ends."""
    locked = _locked_contract(agency, actor, contract)
    if locked.status not in (Status.APPROVED, Status.COMPLETED, Status.EXPIRED):
        raise ValidationError(_("Only effective, completed or expired contracts can be renewed."))
    if Contract.objects.filter(previous=locked).exclude(status=Status.REJECTED).exists():
        raise ValidationError(_("This contract has been renewed already."))
    package = package or locked.package
    if not package.is_active:
        raise ValidationError({"package": _("This package is retired; choose one that is on sale.")})
    start = max(locked.service_end + datetime.timedelta(days=1), agency_today(agency))
    return contract_create(agency=agency, actor=actor, member=locked.member, package=package, service_start=start,
                           payment_type=Contract.PaymentType.FULL, previous=locked)  # fmt: skip


def effective_contract(*, member: Member, on: datetime.date) -> Contract | None:
    return (
        Contract.objects.filter(member=member, status=Status.APPROVED, service_start__lte=on, service_end__gte=on)
        .order_by("service_start")
        .first()
    )


@transaction.atomic
def entitlement_consume(*, agency, member: Member, kind: str, count: int = 1) -> Contract:
    """Count one recommendation or appointment against the member's effective contract.

    The F() update and the table's check constraint make concurrent use safe: it can never exceed
    what the contract grants. Matching and appointments (after-sale) call this.
    """
    field = {"recommendation": "recommendations", "appointment": "appointments"}[kind]
    if count < 1:
        raise ValueError("count must be at least 1")
    contract = effective_contract(member=member, on=agency_today(agency))
    if contract is None:
        raise ValidationError(_("%(member)s has no effective contract.") % {"member": member})
    # Still effective when counted: a refund or completion committing meanwhile stops it.
    today = agency_today(agency)
    updated = Contract.objects.filter(
        pk=contract.pk,
        status=Status.APPROVED,
        service_start__lte=today,
        service_end__gte=today,
        **{f"{field}_used__lte": F(f"{field}_total") - count},
    ).update(**{f"{field}_used": F(f"{field}_used") + count})
    if not updated:
        raise ValidationError(_("The contract's %(what)s are used up.") % {"what": Contract._meta.get_field(
            f"{field}_total").verbose_name})  # fmt: skip
    contract.refresh_from_db()
    return contract


# --- payments --------------------------------------------------------------------------------------


@transaction.atomic
def payment_record(
    *, agency, actor: User, contract: Contract, amount: Decimal, method: str, paid_at: datetime.datetime,
    reference: str = "", note: str = "",
) -> Payment:  # fmt: skip
    """Record money received (F-G3); it counts as paid once finance confirms it."""
    _require(actor, "add_payments", message=_("Your role does not allow recording payments."))
    locked = _locked_contract(agency, actor, contract)
    if locked.status not in Contract.PAYABLE_STATUSES:
        message = _("Payments are recorded against submitted or effective contracts; this one is %(status)s.")
        raise ValidationError(message % {"status": locked.get_status_display()})
    amount = Decimal(amount)
    if amount <= 0 or amount != amount.quantize(CENT):
        raise ValidationError({"amount": _("Enter an amount above zero with at most two decimal places.")})
    if paid_at > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError({"paid_at": _("A payment cannot be in the future.")})
    if method not in Payment.Method.values:
        raise ValidationError({"method": _("Choose how the member paid.")})
    recorded = Payment.objects.filter(contract=locked).exclude(status=Payment.Status.REJECTED).aggregate(
        total=Sum("amount"))["total"] or Decimal("0")  # fmt: skip
    if recorded + amount > locked.amount:
        raise ValidationError({"amount": _("Only %(due)s yuan of this contract is still unpaid.")
                               % {"due": f"{locked.amount - recorded:.2f}"}})  # fmt: skip
    settings = settings_for(agency)
    payment = Payment.objects.create(
        agency=agency, contract=locked, member_id=locked.member_id, amount=amount, method=method, paid_at=paid_at,
        reference=reference.strip(), note=note.strip(), recorded_by=actor,
        number=numbering.next_number(agency=agency, model=Payment, pattern=settings.payment_number_pattern,
                                     sequence_name="payment", on=local_day(agency, paid_at)),
    )  # fmt: skip
    _event(agency, locked, ContractEvent.Kind.PAID, actor, after={
        "payment": payment.number, "amount": amount, "method": payment.get_method_display(), "paid_at": paid_at,
    })  # fmt: skip
    return payment


def _locked_payment(agency, actor, payment: Payment) -> tuple[Contract, Payment]:
    contract = _locked_contract(agency, actor, payment.contract)
    locked = Payment.objects.select_for_update().get(pk=payment.pk, agency=agency)
    if locked.status != Payment.Status.RECORDED:
        raise ValidationError(_("This payment is %(status)s already.") % {"status": locked.get_status_display()})
    return contract, locked


@transaction.atomic
def payment_confirm(*, agency, actor: User, payment: Payment) -> Payment:
    """Finance confirms the money arrived: the contract's paid total grows, the reports count it."""
    _require(actor, "audit_payments", message=_("Only finance may confirm payments."))
    contract, locked = _locked_payment(agency, actor, payment)
    if contract.status == Status.REFUNDED:
        raise ValidationError(_("Contract %(number)s has been refunded in full; record the money on a new contract.")
                              % {"number": contract.number})  # fmt: skip
    Contract.objects.filter(pk=contract.pk).update(paid_amount=F("paid_amount") + locked.amount)
    locked.status, locked.confirmed_by, locked.confirmed_at = Payment.Status.CONFIRMED, actor, timezone.now()
    locked.save(update_fields=["status", "confirmed_by", "confirmed_at"])
    _event(agency, contract, ContractEvent.Kind.CONFIRMED, actor, before={"paid": contract.paid_amount},
           after={"paid": contract.paid_amount + locked.amount, "payment": locked.number})  # fmt: skip
    _mark_stale(agency, {local_day(agency, locked.paid_at)})
    return locked


@transaction.atomic
def payment_reject(*, agency, actor: User, payment: Payment, reason: str) -> Payment:
    """Finance found no such money: the record stays, marked as not received."""
    _require(actor, "audit_payments", message=_("Only finance may reject payments."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the payment is not accepted.")})
    contract, locked = _locked_payment(agency, actor, payment)
    locked.status, locked.reject_reason = Payment.Status.REJECTED, reason[:200]
    locked.confirmed_by, locked.confirmed_at = actor, timezone.now()
    locked.save(update_fields=["status", "reject_reason", "confirmed_by", "confirmed_at"])
    _event(agency, contract, ContractEvent.Kind.PAYMENT_REJECTED, actor, after={"payment": locked.number}, note=reason)
    return locked


# --- refunds ---------------------------------------------------------------------------------------


def refundable(contract: Contract) -> Decimal:
    """What can still be refunded: confirmed payments minus approved refunds."""
    return contract.paid_amount - contract.refunded_amount


@transaction.atomic
def refund_apply(*, agency, actor: User, contract: Contract, amount: Decimal, reason: str) -> Refund:
    """Service staff apply for a refund against the original contract (F-G4)."""
    _require(actor, "add_refunds", message=_("Your role does not allow applying for refunds."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the member is refunded.")})
    locked = _locked_contract(agency, actor, contract)
    if locked.status not in Contract.REFUNDABLE_STATUSES:
        raise ValidationError(_("Refunds are applied for against effective, completed, expired or rejected contracts."))
    amount = Decimal(amount)
    if amount <= 0 or amount != amount.quantize(CENT):
        raise ValidationError({"amount": _("Enter an amount above zero with at most two decimal places.")})
    pending = Refund.objects.filter(contract=locked, status=Refund.Status.APPLIED).aggregate(
        total=Sum("amount"))["total"] or Decimal("0")  # fmt: skip
    available = refundable(locked) - pending
    if amount > available:
        raise ValidationError({"amount": _(
            "At most %(available)s yuan can be refunded: %(paid)s paid, %(refunded)s refunded, "
            "%(pending)s awaiting approval."
        ) % {"available": f"{max(available, 0):.2f}", "paid": f"{locked.paid_amount:.2f}",
             "refunded": f"{locked.refunded_amount:.2f}", "pending": f"{pending:.2f}"}})  # fmt: skip
    settings = settings_for(agency)
    refund = Refund.objects.create(
        agency=agency, contract=locked, member_id=locked.member_id, amount=amount, reason=reason, applied_by=actor,
        number=numbering.next_number(agency=agency, model=Refund, pattern=settings.refund_number_pattern,
                                     sequence_name="refund", on=agency_today(agency)),
    )  # fmt: skip
    _event(agency, locked, ContractEvent.Kind.REFUND_APPLIED, actor, after={"refund": refund.number, "amount": amount},
           note=reason)  # fmt: skip
    return refund


def _locked_refund(agency, actor, refund: Refund) -> tuple[Contract, Refund]:
    # The contract first, always: two approvals of one contract's refunds queue on its row.
    contract = _locked_contract(agency, actor, refund.contract)
    locked = Refund.objects.select_for_update().get(pk=refund.pk, agency=agency)
    if locked.status != Refund.Status.APPLIED:
        raise ValidationError(_("This refund is %(status)s already.") % {"status": locked.get_status_display()})
    return contract, locked


@transaction.atomic
def refund_approve(*, agency, actor: User, refund: Refund, note: str = "") -> Refund:
    """Finance approves a refund. Never more than was paid minus earlier refunds, checked under the row lock.

    When everything paid has been refunded the contract ends as refunded.
    """
    _require(actor, "audit_refunds", message=_("Only finance may approve refunds."))
    contract, locked = _locked_refund(agency, actor, refund)
    available = refundable(contract)
    if locked.amount > available:
        message = _("Only %(available)s yuan of this contract can still be refunded; the refund asks for %(amount)s.")
        raise ValidationError(message % {"available": f"{available:.2f}", "amount": f"{locked.amount:.2f}"})
    Contract.objects.filter(pk=contract.pk).update(refunded_amount=F("refunded_amount") + locked.amount)
    locked.status, locked.decided_by, locked.decided_at = Refund.Status.APPROVED, actor, timezone.now()
    locked.decision_note = note.strip()[:200]
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    _mark_stale(agency, {local_day(agency, locked.decided_at)})
    refunded = contract.refunded_amount
    _event(agency, contract, ContractEvent.Kind.REFUND_APPROVED, actor, before={"refunded": refunded},
           after={"refunded": refunded + locked.amount, "refund": locked.number}, note=note)  # fmt: skip
    contract.refresh_from_db()
    awaiting = Payment.objects.filter(contract=contract, status=Payment.Status.RECORDED).exists()
    if contract.paid_amount > 0 and contract.refunded_amount == contract.paid_amount and not awaiting:
        _transition(agency, actor, contract, allowed_from=Contract.REFUNDABLE_STATUSES, to=Status.REFUNDED,
                    kind=ContractEvent.Kind.REFUNDED, closed_at=timezone.now())  # fmt: skip
        _end_service(contract.member_id, contract.pk)
    return locked


@transaction.atomic
def refund_reject(*, agency, actor: User, refund: Refund, note: str) -> Refund:
    _require(actor, "audit_refunds", message=_("Only finance may reject refunds."))
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say why the refund is rejected.")})
    contract, locked = _locked_refund(agency, actor, refund)
    locked.status, locked.decided_by, locked.decided_at = Refund.Status.REJECTED, actor, timezone.now()
    locked.decision_note = note[:200]
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    _event(agency, contract, ContractEvent.Kind.REFUND_REJECTED, actor, after={"refund": locked.number}, note=note)
    return locked
