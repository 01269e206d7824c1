"""Fill an agency with a year of sales, fast: `seed_finance --agency SLUG` (after `seed_members`).

Service packages, approved contracts for members the agency already has (sold by the member's
presale matchmaker), their instalment schedules, confirmed payments about monthly after each
approval, all within the last --days days, and some approved refunds, streamed into PostgreSQL
with COPY; then every past day is rolled up, as the nightly job would have done. The money adds
up as the services keep it: a contract's paid total is the sum of its confirmed payments, its
refunded total that of its approved refunds, and its schedule the contract amount. Contracts are
written as submitted and moved to their final status afterwards, because the database refuses
schedules of approved contracts (migration 0002).
The audit trail (ContractEvent) is not seeded: the reports do not read it.

Re-running it on an agency that has payments already seeds nothing and only rolls up the days still
pending, so it is safe to repeat. Everything random comes from --seed (dates relative to today).
"""

import datetime
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from apps.agencies.context import agency_context
from apps.agencies.models import Agency
from apps.agencies.sequences import sequence_block
from apps.core.seeding import analyze, copy_rows, pick
from apps.finance import numbering, reports, services
from apps.finance.models import CENT, Contract, Instalment, Payment, Refund, SalesDaily, SalesRollupDay, ServicePackage
from apps.matchmakers.models import User
from apps.matchmakers.services import role_permission_names
from apps.members.bench import owner_pools
from apps.members.models import Member

# name, price, months, recommendations, appointments, dedicated matchmaker, priority, share of sales
PACKAGES = [
    ("体验会员", Decimal("3980.00"), 3, 6, 3, False, False, 10),
    ("银卡会员", Decimal("9800.00"), 6, 12, 6, False, False, 20),
    ("金卡会员", Decimal("19800.00"), 12, 24, 12, True, False, 35),
    ("钻石会员", Decimal("39800.00"), 12, 48, 24, True, True, 25),
    ("私人定制", Decimal("98000.00"), 24, 96, 48, True, True, 10),
]
SIGNED_STATUSES = ["signed", "in_service", "paused", "success"]
# How many instalments a contract is paid in (at most one a month of its service period).
INSTALMENTS = [(1, 10), (2, 10), (6, 15), (12, 40), (24, 25)]
DISCOUNTS = [(Decimal("1.00"), 70), (Decimal("0.95"), 15), (Decimal("0.90"), 10), (Decimal("0.85"), 5)]
METHODS = [("wechat", 45), ("alipay", 25), ("bank", 18), ("card", 7), ("cash", 5)]
REFUND_SHARE = 0.04  # contracts with an approved refund
FULL_REFUND_SHARE = 0.25  # of those, the share refunded in full
REFUND_REASONS = ["会员搬迁至外地，申请部分退款。", "会员已找到对象，协商退还剩余服务费。", "服务未达预期，协商退款。",
                  "家庭原因暂停服务，申请退款。"]  # fmt: skip

CONTRACT_COLUMNS = (
    "id", "agency_id", "number", "member_id", "package_id", "amount", "payment_type", "service_start", "service_end",
    "salesperson_id", "status", "recommendations_total", "appointments_total", "dedicated_matchmaker",
    "priority_recommendation", "paid_amount", "refunded_amount", "created_by_id", "created_at", "submitted_at",
    "decided_by_id", "decided_at", "closed_at",
)  # fmt: skip
INSTALMENT_COLUMNS = ("agency_id", "contract_id", "position", "due_date", "amount")
PAYMENT_COLUMNS = (
    "agency_id", "number", "contract_id", "member_id", "amount", "method", "paid_at", "reference", "status",
    "recorded_by_id", "recorded_at", "confirmed_by_id", "confirmed_at",
)  # fmt: skip
REFUND_COLUMNS = (
    "agency_id", "number", "contract_id", "member_id", "amount", "reason", "status", "applied_by_id", "applied_at",
    "decided_by_id", "decided_at",
)  # fmt: skip


def _schedule(amount: Decimal, count: int) -> list[Decimal]:
    """`count` instalments adding up to `amount`: full, deposit (30%) and balance, or equal shares."""
    if count == 1:
        return [amount]
    if count == 2:
        deposit = (amount * Decimal("0.3")).quantize(CENT)
        return [deposit, amount - deposit]
    share = (amount / count).quantize(CENT)
    return [share] * (count - 1) + [amount - share * (count - 1)]


@dataclass
class Plan:
    """One contract: its package, when finance approved it, and when its instalments fall due."""

    package: ServicePackage
    decided: datetime.datetime
    due: list[datetime.datetime]  # one per instalment
    paid: list[datetime.datetime] = field(default_factory=list)  # when the instalments paid so far came in


def _plan(rng: random.Random, packages, now: datetime.datetime, window: float) -> Plan:
    """Approved at any time in the window; the instalments spread over at most the service period."""
    package = pick(rng, packages)
    decided = now - datetime.timedelta(seconds=rng.uniform(3600, window))
    count = min(pick(rng, INSTALMENTS), max(1, package.duration_months))
    gap = min(31 * 86400, rng.uniform(0.5, 0.95) * package.duration_months * 28 * 86400 / max(count - 1, 1))
    due = [decided + datetime.timedelta(seconds=position * gap) for position in range(count)]
    return Plan(package, decided, due)


class Command(BaseCommand):
    help = "Seed a year of contracts, confirmed payments and refunds into an agency (COPY), then roll it up."

    def add_arguments(self, parser):
        parser.add_argument("--agency", required=True, help="slug of an agency seeded with seed_members")
        parser.add_argument("--payments", type=int, default=100_000, help="confirmed payments (default 100,000)")
        parser.add_argument("--contracts", type=int, default=20_000, help="approved contracts (default 20,000)")
        parser.add_argument("--days", type=int, default=365, help="payments spread over this many days up to now")
        parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same sales)")

    def handle(self, *args, **options):
        payments, contracts = options["payments"], options["contracts"]
        if payments < 1 or contracts < 1 or options["days"] < 1:
            raise CommandError("--payments, --contracts and --days must be at least 1")
        agency = Agency.objects.filter(slug=options["agency"]).first()
        if agency is None:
            raise CommandError(f"no agency {options['agency']!r}; seed one with `seed_members --create`")
        self.verbosity = options["verbosity"]
        self.started = time.monotonic()
        with agency_context(agency):
            existing = Payment.objects.filter(agency=agency).count()
            if existing:
                self.stdout.write(f"Agency {agency.slug!r} already has {existing} payments; nothing seeded.")
            else:
                with transaction.atomic():
                    seeded = self._seed(agency, payments, contracts, options["days"], options["seed"])
                self._phase("committed")
                analyze(Contract, Instalment, Payment, Refund)
                self.stdout.write(
                    f"Seeded {seeded['payments']} payments on {seeded['contracts']} contracts "
                    f"({seeded['refunds']} refunds) in agency {agency.slug!r}"
                )
            days = reports.rollup_pending(agency=agency)
            self._phase(f"{days} days rolled up")
            analyze(SalesDaily, SalesRollupDay)
        self.stdout.write(f"Rolled up {days} days; done in {time.monotonic() - self.started:.1f} s")

    def _phase(self, done: str) -> None:
        if self.verbosity >= 2:
            self.stderr.write(f"  {time.monotonic() - self.started:6.1f} s  {done}")

    def _staff(self, agency) -> tuple[list[int], int]:
        """(salespeople: the presale matchmakers, finance: whoever confirms payments, else the admin)."""
        presale, _aftersale = owner_pools(agency)
        staff = User.objects.filter(agency=agency, is_active=True, role__isnull=False).select_related("role")
        auditors = [user for user in staff.order_by("pk")
                    if "matchmakers.audit_payments" in role_permission_names(user.role)]  # fmt: skip
        if not presale or not auditors:
            raise CommandError(f"agency {agency.slug!r} needs presale and finance staff; run seed_members first")
        return [user.pk for user in presale], auditors[0].pk

    def _members(self, agency, count: int, rng: random.Random, salespeople: list[int]) -> list[tuple[int, int]]:
        """(member id, salesperson id) of `count` members, signed ones first, each sold once."""
        rows = Member.objects.filter(agency=agency).values_list("pk", "presale_owner_id", "status").order_by("pk")
        signed = [(pk, owner) for pk, owner, status in rows if status in SIGNED_STATUSES]
        others = [(pk, owner) for pk, owner, status in rows if status not in SIGNED_STATUSES]
        if len(signed) + len(others) < count:
            raise CommandError(f"agency {agency.slug!r} has fewer than {count} members; seed more or pass --contracts")
        chosen = rng.sample(signed, min(count, len(signed)))
        chosen += rng.sample(others, count - len(chosen))
        known = set(salespeople)
        return [(pk, owner if owner in known else rng.choice(salespeople)) for pk, owner in chosen]

    def _packages(self, agency) -> list[tuple[ServicePackage, int]]:
        packages = []
        for name, price, months, recommendations, appointments, dedicated, priority, weight in PACKAGES:
            package, _created = ServicePackage.objects.get_or_create(
                agency=agency, name=name,
                defaults={"price": price, "duration_months": months, "recommendations": recommendations,
                          "appointments": appointments, "dedicated_matchmaker": dedicated,
                          "priority_recommendation": priority},
            )  # fmt: skip
            packages.append((package, weight))
        return packages

    def _seed(self, agency, payment_count: int, contract_count: int, days: int, seed: int) -> dict:  # noqa: PLR0915
        rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
        now = timezone.now()
        zone = services.agency_zone(agency)
        today = services.agency_today(agency)
        salespeople, finance = self._staff(agency)
        packages = self._packages(agency)
        members = self._members(agency, contract_count, rng, salespeople)
        patterns = services.settings_for(agency)
        window = days * 86400

        # Every instalment due by now could have been paid; the payments are a random sample of them,
        # so some members are behind, and payments come in all through the window.
        plans = [_plan(rng, packages, now, window) for _ in range(contract_count)]
        payable = [(index, moment) for index, plan in enumerate(plans) for moment in plan.due
                   if moment < now - datetime.timedelta(hours=12)]  # fmt: skip
        if len(payable) < payment_count:
            raise CommandError(f"{contract_count} contracts have {len(payable)} instalments due; pass more --contracts")
        for index, moment in rng.sample(payable, payment_count):
            plans[index].paid.append(moment + datetime.timedelta(seconds=rng.uniform(0, 12 * 3600)))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Contract._meta.db_table, contract_count],
            )
            ids = [row[0] for row in cursor.fetchall()]
        contract_no = sequence_block(agency=agency, name="contract", count=contract_count)
        payment_no = sequence_block(agency=agency, name="payment", count=payment_count)

        contract_rows, instalment_rows, payment_rows, refund_rows, final = [], [], [], [], {}
        refunds = []
        for index, (contract_id, (member_id, salesperson)) in enumerate(zip(ids, members, strict=True)):
            plan = plans[index]
            package, decided, moments = plan.package, plan.decided, sorted(plan.paid)
            amount = (package.price * pick(rng, DISCOUNTS)).quantize(CENT)
            payment_type = ("full", "deposit")[len(plan.due) - 1] if len(plan.due) <= 2 else "instalments"
            schedule = _schedule(amount, len(plan.due))
            submitted = decided - datetime.timedelta(seconds=rng.uniform(600, 2 * 86400))
            created = submitted - datetime.timedelta(seconds=rng.uniform(600, 3 * 86400))
            start = services.local_day(agency, decided)
            end = services.default_service_end(start, package.duration_months)
            paid_amount = sum(schedule[: len(moments)], Decimal(0))
            refunded, closed, status = Decimal(0), None, "expired" if end < today else "approved"
            if moments and rng.random() < REFUND_SHARE:
                # Out of what was paid by then; in full only after the last payment (a refunded contract takes none).
                refunded_at = moments[0] + (now - moments[0]) * rng.uniform(0.05, 0.95)
                paid_by_then = sum((value for moment, value in zip(moments, schedule, strict=False)
                                    if moment < refunded_at), Decimal(0))  # fmt: skip
                full = refunded_at > moments[-1] and rng.random() < FULL_REFUND_SHARE
                refunded = paid_by_then if full else (paid_by_then * Decimal(rng.uniform(0.1, 0.5))).quantize(CENT)
                refunds.append((contract_id, member_id, salesperson, refunded, refunded_at))
                if full:
                    status, closed = "refunded", refunded_at
            if status == "expired":
                closed = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(0, 30), tzinfo=zone)
            final[contract_id] = status
            number = numbering.render(patterns.contract_number_pattern, sequence=contract_no + index, on=start)
            contract_rows.append((
                contract_id, agency.pk, number, member_id, package.pk, amount, payment_type, start, end, salesperson,
                "submitted", package.recommendations, package.appointments, package.dedicated_matchmaker,
                package.priority_recommendation, paid_amount, refunded, salesperson, created, submitted, finance,
                decided, closed,
            ))  # fmt: skip
            for position, (due, value) in enumerate(zip(plan.due, schedule, strict=True), start=1):
                instalment_rows.append((agency.pk, contract_id, position, services.local_day(agency, due), value))
            for moment, value in zip(moments, schedule, strict=False):
                method = pick(rng, METHODS)
                reference = "" if method == "cash" else f"{rng.randrange(10**17, 10**18)}"
                number = numbering.render(patterns.payment_number_pattern, sequence=payment_no + len(payment_rows),
                                          on=services.local_day(agency, moment))  # fmt: skip
                confirmed = min(moment + datetime.timedelta(seconds=rng.uniform(60, 2 * 86400)), now)
                payment_rows.append((
                    agency.pk, number, contract_id, member_id, value, method, moment, reference, "confirmed", finance,
                    moment, finance, confirmed,
                ))  # fmt: skip
        refund_no = sequence_block(agency=agency, name="refund", count=len(refunds)) if refunds else 0
        for offset, (contract_id, member_id, salesperson, value, decided) in enumerate(refunds):
            applied = decided - datetime.timedelta(seconds=rng.uniform(600, 86400))
            number = numbering.render(patterns.refund_number_pattern, sequence=refund_no + offset,
                                      on=services.local_day(agency, applied))  # fmt: skip
            refund_rows.append((agency.pk, number, contract_id, member_id, value, rng.choice(REFUND_REASONS),
                                "approved", salesperson, applied, finance, decided))  # fmt: skip
        self._phase(f"{len(contract_rows)} contracts, {len(payment_rows)} payments, {len(refund_rows)} refunds made")

        with connection.cursor() as cursor:
            copy_rows(cursor, Contract, CONTRACT_COLUMNS, contract_rows)
            copy_rows(cursor, Instalment, INSTALMENT_COLUMNS, instalment_rows)
            for status in ("approved", "expired", "refunded"):
                cursor.execute(
                    "UPDATE finance_contract SET status = %s WHERE agency_id = %s AND id = ANY(%s)",
                    [status, agency.pk, [pk for pk, final_status in final.items() if final_status == status]],
                )
            copy_rows(cursor, Payment, PAYMENT_COLUMNS, payment_rows)
            copy_rows(cursor, Refund, REFUND_COLUMNS, refund_rows)
        self._phase("copied")
        return {"contracts": len(contract_rows), "payments": len(payment_rows), "refunds": len(refund_rows)}
