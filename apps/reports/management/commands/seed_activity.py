"""Fill an agency with a year of service activity, fast: `seed_activity --agency SLUG` (after seed_finance).

What the dashboards count besides sales: follow-ups of the members registered in the last --days
days (by their presale matchmaker, as many as the member's follow-up count says, at most four),
recommendations for the members with an approved contract (after the approval, by an after-sale
matchmaker), appointments between two such members (booked after the first recommendation; held,
cancelled or still planned, with an outcome when held) and successes. Streamed into PostgreSQL
with COPY; then every past day is rolled up, as the nightly job would have done.

Re-running it on an agency that has follow-ups already seeds nothing and only rolls up the days
still pending. Everything random comes from --seed (dates relative to today).
"""

import datetime
import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from apps.agencies.context import agency_context
from apps.agencies.models import Agency
from apps.appointments.models import Appointment
from apps.core.seeding import analyze, copy_rows, pick
from apps.finance.models import Contract
from apps.followups.models import FollowUp, ServiceStageChange
from apps.matching.models import Recommendation
from apps.members.bench import owner_pools
from apps.members.models import Member
from apps.reports import rollups
from apps.reports.models import DailyFigure, DashboardRollupDay

CHANNELS = [("phone", 50), ("wechat", 35), ("visit", 10), ("sms", 5)]
NOTES = ["电话沟通，了解择偶要求。", "微信回访，约到店面谈。", "到店面谈，介绍服务套餐。", "跟进报价，考虑中。"]
APPOINTMENT_STATUS = [("done", 60), ("cancelled", 12), ("planned", 28)]
OUTCOMES = [("continue", 35), ("stopped", 40), ("relationship", 17), ("engaged", 5), ("married", 3)]
REASON = "年龄、城市和学历都符合对方要求。"
PLACES = ["星巴克(西湖店)", "万象城茶室", "公司会客室", "湖滨银泰咖啡厅"]

FOLLOWUP_COLUMNS = ("agency_id", "member_id", "author_id", "kind", "channel", "content", "result", "created_at")
RECOMMENDATION_COLUMNS = ("agency_id", "member_id", "candidate_id", "score", "reason", "status", "recommended_by_id",
                          "created_at", "updated_at")  # fmt: skip
APPOINTMENT_COLUMNS = (
    "agency_id", "member_a_id", "member_b_id", "starts_at", "place", "note", "matchmaker_a_id", "matchmaker_b_id",
    "arranged_by_id", "contract_a_id", "contract_b_id", "status", "absent", "outcome", "created_at", "closed_at",
)  # fmt: skip
STAGE_COLUMNS = ("agency_id", "member_id", "from_stage", "to_stage", "note", "changed_by_id", "changed_at")


class Command(BaseCommand):
    help = "Seed a year of follow-ups, recommendations, appointments and successes into an agency (COPY), then roll up."

    def add_arguments(self, parser):
        parser.add_argument("--agency", required=True, help="the agency's slug")
        parser.add_argument("--days", type=int, default=365, help="how far back the activity goes")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        self.started = time.monotonic()
        agency = Agency.objects.filter(slug=options["agency"]).first()
        if agency is None:
            raise CommandError(f"no agency {options['agency']!r}; run seed_members and seed_finance first")
        with agency_context(agency):
            if FollowUp.objects.filter(agency=agency).exists():
                self.stdout.write("The agency has follow-ups already; seeding nothing.")
            else:
                with transaction.atomic():
                    counts = self._seed(agency, options["days"], random.Random(options["seed"]))  # noqa: S311
                analyze(FollowUp, Recommendation, Appointment, ServiceStageChange)
                self.stdout.write("Seeded " + ", ".join(f"{count:,} {name}" for name, count in counts.items()))
            days = rollups.rollup_pending(agency=agency)
            analyze(DailyFigure, DashboardRollupDay)
        self.stdout.write(f"Rolled up {days} days; done in {time.monotonic() - self.started:.1f} s")

    def _phase(self, done: str) -> None:
        if self.verbosity >= 2:
            self.stderr.write(f"  {time.monotonic() - self.started:6.1f} s  {done}")

    def _seed(self, agency, days: int, rng: random.Random) -> dict:
        presale, aftersale = owner_pools(agency)
        if not presale or not aftersale:
            raise CommandError(f"agency {agency.slug!r} needs presale and after-sale staff; run seed_members first")
        presale_ids, aftersale_ids = [user.pk for user in presale], [user.pk for user in aftersale]
        now = timezone.now()
        since = now - datetime.timedelta(days=days)
        members = list(Member.objects.filter(agency=agency, created_at__gte=since).values_list(
            "pk", "presale_owner_id", "followup_count", "created_at"))  # fmt: skip
        contracts = list(Contract.objects.filter(agency=agency, status__in=Contract.FROZEN_STATUSES,
                                                 decided_at__gte=since).order_by("decided_at")
                         .values_list("pk", "member_id", "decided_at"))  # fmt: skip
        if not contracts:
            raise CommandError(f"agency {agency.slug!r} has no approved contracts; run seed_finance first")
        first_contract = {}
        for pk, member, decided in contracts:
            first_contract.setdefault(member, (pk, decided))
        owners = dict(Member.objects.filter(agency=agency, pk__in=list(first_contract))
                      .values_list("pk", "aftersale_owner_id"))  # fmt: skip

        def moment_after(start: datetime.datetime, most_days: float) -> datetime.datetime:
            """Soon after `start` and before now (drawn again between the two when it would be later)."""
            later = start + datetime.timedelta(days=most_days * rng.random() ** 1.5, seconds=rng.randrange(3600))
            return later if later < now else start + (now - start) * rng.random()

        counts = {}
        with connection.cursor() as cursor:
            followups = []
            for pk, owner, count, created in members:
                for _index in range(min(count, 4)):
                    followups.append((agency.pk, pk, owner or rng.choice(presale_ids), "followup", pick(rng, CHANNELS),
                                      rng.choice(NOTES), "", moment_after(created, 30)))  # fmt: skip
            counts["follow-ups"] = copy_rows(cursor, FollowUp, FOLLOWUP_COLUMNS, followups)
            self._phase(f"{counts['follow-ups']} follow-ups copied")

            signed = list(first_contract.items())
            recommendations, first_recommended = [], {}
            for member, (_contract, decided) in signed:
                matchmaker = owners.get(member) or rng.choice(aftersale_ids)
                for candidate, _details in rng.sample(signed, min(len(signed), rng.randint(1, 5))):
                    if candidate == member:
                        continue
                    at = moment_after(decided, 20)
                    first_recommended[member] = min(first_recommended.get(member, at), at)
                    recommendations.append((agency.pk, member, candidate, rng.randint(60, 98), REASON, "proposed",
                                            matchmaker, at, at))  # fmt: skip
            unique = {(row[1], row[2]): row for row in recommendations}
            counts["recommendations"] = copy_rows(cursor, Recommendation, RECOMMENDATION_COLUMNS, unique.values())
            self._phase(f"{counts['recommendations']} recommendations copied")

            appointments = []
            booked = [member for member in first_recommended if rng.random() < 0.4]
            for member in booked:
                other = rng.choice(booked)
                if other == member:
                    continue
                created = moment_after(max(first_recommended[member], first_recommended[other]), 15)
                starts = created + datetime.timedelta(days=2, hours=rng.randrange(8))
                status = pick(rng, APPOINTMENT_STATUS) if starts < now else "planned"
                closed = min(now, starts + datetime.timedelta(hours=3)) if status != "planned" else None
                outcome = pick(rng, OUTCOMES) if status == "done" else ""
                matchmaker_a = owners.get(member) or rng.choice(aftersale_ids)
                appointments.append((
                    agency.pk, member, other, starts, rng.choice(PLACES), "", matchmaker_a, owners.get(other),
                    matchmaker_a, first_contract[member][0], first_contract[other][0], status, "", outcome, created,
                    closed,
                ))  # fmt: skip
            counts["appointments"] = copy_rows(cursor, Appointment, APPOINTMENT_COLUMNS, appointments)
            self._phase(f"{counts['appointments']} appointments copied")

            successes = [
                (agency.pk, row[1], "continuing", "success", "", row[6], moment_after(row[15], 30))
                for row in appointments if row[13] in rollups.POSITIVE_OUTCOMES and rng.random() < 0.5
            ]  # fmt: skip
            counts["successes"] = copy_rows(cursor, ServiceStageChange, STAGE_COLUMNS, successes)
        return counts
