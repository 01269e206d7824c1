"""Generated activity for the dashboard tests, and the figures it must give, counted directly in Python.

`generate` spreads members, follow-ups, contracts with payments and refunds, recommendations,
appointments and successes over the last weeks, at every hour of the agency's day (so local-day
boundaries matter), across two branches of the role tree and the public pool. `expected` counts
the same rows again with plain loops, independently of the SQL of apps.reports.
"""

import datetime
import random
from collections import defaultdict
from contextlib import contextmanager
from decimal import Decimal
from unittest import mock

from django.utils import timezone

from apps.agencies.context import agency_context
from apps.appointments.models import Appointment
from apps.finance import services as finance_services
from apps.finance.models import Contract, Payment, Refund
from apps.finance.reports import bucket_start
from apps.followups.models import FollowUp, ServiceStageChange
from apps.matching.models import Recommendation
from apps.members.choices import Source
from apps.members.models import Member
from apps.reports.dashboards import bucket_for
from tests.finance.factories import FINANCE_PERMS, SALES_PERMS, PackageFactory, contract, member
from tests.matchmakers.factories import RoleFactory, UserFactory, root_role

REPORTS = ["matchmakers.view_reports", "matchmakers.export_data"]
POSITIVE = {"relationship", "engaged", "married"}


def team(agency) -> dict:
    """admin (top role); finance; manager → presale ×2, after-sale; a sibling branch: lead → seller."""
    manager_role = RoleFactory(agency=agency, perms=[*SALES_PERMS, *REPORTS, "matchmakers.edit_contracts"])
    presale_role = RoleFactory(agency=agency, parent=manager_role, perms=[*SALES_PERMS, *REPORTS])
    aftersale_role = RoleFactory(agency=agency, parent=manager_role, perms=[*SALES_PERMS, *REPORTS])
    lead_role = RoleFactory(agency=agency, perms=[*SALES_PERMS, *REPORTS])
    seller_role = RoleFactory(agency=agency, parent=lead_role, perms=SALES_PERMS)
    return {
        "admin": UserFactory(agency=agency, username="boss", role=root_role(agency)),
        "finance": UserFactory(agency=agency, username="finance", perms=FINANCE_PERMS),
        "manager": UserFactory(agency=agency, username="manager", role=manager_role),
        "presale": UserFactory(agency=agency, username="presale", role=presale_role),
        "presale2": UserFactory(agency=agency, username="presale2", role=presale_role),
        "aftersale": UserFactory(agency=agency, username="aftersale", role=aftersale_role),
        "lead": UserFactory(agency=agency, username="lead", role=lead_role),
        "seller": UserFactory(agency=agency, username="seller", role=seller_role),
        "roles": {"manager": manager_role, "presale": presale_role, "lead": lead_role},
    }


def _moment(agency, rng, days_back: int) -> datetime.datetime:
    zone = finance_services.agency_zone(agency)
    day = finance_services.agency_today(agency) - datetime.timedelta(days=days_back)
    moment = datetime.datetime.combine(day, datetime.time(rng.randrange(24), rng.randrange(60)), tzinfo=zone)
    return min(moment, timezone.now() - datetime.timedelta(seconds=1))


@contextmanager
def clock(moment: datetime.datetime):
    """Run services as if it were `moment` (what they stamp: decided_at, paid_at, …)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def local_noon(agency, day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(12), tzinfo=finance_services.agency_zone(agency))


def _set(model, pk, **fields):
    model.unscoped.filter(pk=pk).update(**fields)


def generate(agency, people: dict, *, seed: int = 7, span: int = 45, members: int = 40) -> None:
    rng = random.Random(seed)  # noqa: S311 - repeatable test data, not secrets
    sellers = [people["presale"], people["presale2"], people["seller"], people["manager"]]
    staff = [*sellers, people["aftersale"], people["lead"]]
    packages = [PackageFactory(agency=agency, name=f"白银会员{seed}", appointments=20),
                PackageFactory(agency=agency, name=f"钻石会员{seed}", appointments=20)]  # fmt: skip
    crowd = []
    for index in range(members):
        person = member(agency, rng.choice([*sellers, None]), aftersale=rng.choice([people["aftersale"], None]))
        _set(Member, person.pk, created_at=_moment(agency, rng, rng.randrange(span)),
             source=rng.choice(Source.values))  # fmt: skip
        crowd.append(person)
        for _followup in range(rng.randrange(4) if index % 3 else 0):
            note = FollowUp.unscoped.create(agency=agency, member=person, author=rng.choice([*staff, None]),
                                            kind=rng.choice(["followup", "followup", "service_note"]),
                                            channel="phone", content="电话沟通")  # fmt: skip
            _set(FollowUp, note.pk, created_at=_moment(agency, rng, rng.randrange(span)))

    signed = []
    for person in [person for person in crowd if person.presale_owner_id][: members // 2]:
        terms = {}
        for _renewal in range(1 + (rng.random() < 0.3)):
            decided = _moment(agency, rng, rng.randrange(span))
            with clock(decided):  # approved contracts are immutable: they are made at their moment
                deal = contract(agency, sales=person.presale_owner, finance=people["finance"], member_obj=person,
                                status="approved", package=rng.choice(packages),
                                paid=[rng.choice(["3000.00", "9800.00", "12800.00"])], **terms)  # fmt: skip
            # A renewal starts when this contract ends.
            start = deal.service_end + datetime.timedelta(days=1)
            terms = {"service_start": start, "service_end": start + datetime.timedelta(days=365)}
            if rng.random() < 0.25:
                later = min(decided + datetime.timedelta(hours=rng.randrange(1, 24 * 20)), timezone.now())
                with clock(later), agency_context(agency):
                    refund = finance_services.refund_apply(agency=agency, actor=people["admin"], contract=deal,
                                                           amount=Decimal("1000.00"), reason="服务未满意")  # fmt: skip
                    finance_services.refund_approve(agency=agency, actor=people["finance"], refund=refund)
            signed.append((person, deal))

    for person, _deal in signed:
        for candidate in rng.sample(crowd, 2):
            if candidate.pk == person.pk:
                continue
            found = Recommendation.unscoped.get_or_create(agency=agency, member=person, candidate=candidate, defaults={
                "score": 80, "reason": "年龄和城市都合适", "recommended_by": rng.choice(staff)})[0]  # fmt: skip
            _set(Recommendation, found.pk, created_at=_moment(agency, rng, rng.randrange(span)))

    for _appointment in range(len(signed)):
        (first, deal_a), (second, deal_b) = rng.sample(signed, 2)
        if first.pk == second.pk:
            continue
        status = rng.choice(["planned", "done", "done", "cancelled"])
        booked = _moment(agency, rng, rng.randrange(span))
        meeting = Appointment.unscoped.create(
            agency=agency, member_a=first, member_b=second, starts_at=booked + datetime.timedelta(days=1),
            place="星巴克", arranged_by=rng.choice(staff), contract_a=deal_a, contract_b=deal_b,
            matchmaker_a=rng.choice([people["aftersale"], None]), matchmaker_b=rng.choice([people["aftersale"], None]),
            status=status, outcome=rng.choice(["", "continue", "relationship", "married"]) if status == "done" else "",
        )  # fmt: skip
        closed = _moment(agency, rng, rng.randrange(span)) if status != "planned" else None
        _set(Appointment, meeting.pk, created_at=booked, closed_at=closed)

    for person, _deal in signed[::3]:
        for _twice in range(1 + (rng.random() < 0.3)):
            change = ServiceStageChange.unscoped.create(agency=agency, member=person, from_stage="continuing",
                                                        to_stage="success", changed_by=people["aftersale"])  # fmt: skip
            _set(ServiceStageChange, change.pk, changed_at=_moment(agency, rng, rng.randrange(span)))


# --- the oracle ------------------------------------------------------------------------------------


def _first_by_member(rows, moment: str, member: str = "member_id") -> list:
    firsts = {}
    for row in sorted(rows, key=lambda row: (getattr(row, moment), row.pk)):
        firsts.setdefault(getattr(row, member), row)
    return list(firsts.values())


def expected(agency, *, start, end, staff_ids) -> dict:
    """Every dashboard figure of start … end for the staff in `staff_ids` (None: the whole agency, unowned too)."""
    bucket = bucket_for(start, end)

    def inside(moment, who) -> bool:
        day = moment is not None and finance_services.local_day(agency, moment)
        return bool(day) and start <= day <= end and (staff_ids is None or who in staff_ids)

    def period(moment):
        return bucket_start(finance_services.local_day(agency, moment), bucket)

    result = {"funnel": defaultdict(int), "growth": defaultdict(int), "success": defaultdict(lambda: [0, 0]),
              "sales": defaultdict(Decimal), "leaders": defaultdict(lambda: defaultdict(Decimal))}  # fmt: skip
    with agency_context(agency):
        _members_and_contracts(result, inside, period)
        _appointments(result, inside, period)
        _sales(result, inside, period)
    return result


def _members_and_contracts(result, inside, period) -> None:
    members = {person.pk: person for person in Member.objects.all()}
    frozen = list(Contract.objects.filter(status__in=Contract.FROZEN_STATUSES))
    for person in members.values():
        if inside(person.created_at, person.presale_owner_id):
            result["funnel"]["lead"] += 1
            result["growth"][(period(person.created_at), person.source)] += 1
    for note in _first_by_member(FollowUp.objects.filter(kind="followup"), "created_at"):
        if inside(note.created_at, note.author_id):
            result["leaders"][note.author_id]["followed"] += 1
    for deal in _first_by_member(frozen, "decided_at"):
        result["funnel"]["signed"] += inside(deal.decided_at, deal.salesperson_id)
    for deal in frozen:
        result["leaders"][deal.salesperson_id]["contracts"] += inside(deal.decided_at, deal.salesperson_id)
    for rec in _first_by_member(Recommendation.objects.all(), "created_at"):
        if not inside(rec.created_at, rec.recommended_by_id):
            continue
        result["funnel"]["recommended"] += 1
        signings = [deal.decided_at for deal in frozen if deal.member_id == rec.member_id
                    and deal.decided_at <= rec.created_at]  # fmt: skip
        if signings:
            leader = result["leaders"][rec.recommended_by_id]
            leader["seconds"] += Decimal((rec.created_at - min(signings)).total_seconds())
            leader["timed"] += 1
    for change in _first_by_member(ServiceStageChange.objects.filter(to_stage="success"), "changed_at"):
        owner = members[change.member_id].aftersale_owner_id
        if inside(change.changed_at, owner):
            result["funnel"]["success"] += 1
            result["leaders"][owner]["successes"] += 1


def _appointments(result, inside, period) -> None:
    appointments = list(Appointment.objects.all())
    for meeting in appointments:
        for side in ("a", "b"):
            person = getattr(meeting, f"member_{side}_id")
            mine = [other for other in appointments if person in (other.member_a_id, other.member_b_id)]
            first = min(mine, key=lambda other: (other.created_at, other.pk))
            who = getattr(meeting, f"matchmaker_{side}_id") or meeting.arranged_by_id
            result["funnel"]["met"] += first.pk == meeting.pk and inside(meeting.created_at, who)
        if inside(meeting.created_at, meeting.arranged_by_id):
            result["leaders"][meeting.arranged_by_id]["arranged"] += 1
        if meeting.status == "done" and inside(meeting.closed_at, meeting.arranged_by_id):
            result["success"][period(meeting.closed_at)][0] += 1
            result["success"][period(meeting.closed_at)][1] += meeting.outcome in POSITIVE


def _sales(result, inside, period) -> None:
    for payment in Payment.objects.filter(status="confirmed").select_related("contract"):
        deal = payment.contract
        if inside(payment.paid_at, deal.salesperson_id):
            result["sales"][(period(payment.paid_at), deal.package_id)] += payment.amount
            result["leaders"][deal.salesperson_id]["revenue"] += payment.amount
    for refund in Refund.objects.filter(status="approved").select_related("contract"):
        deal = refund.contract
        if inside(refund.decided_at, deal.salesperson_id):
            result["sales"][(period(refund.decided_at), deal.package_id)] -= refund.amount
            result["leaders"][deal.salesperson_id]["revenue"] -= refund.amount
