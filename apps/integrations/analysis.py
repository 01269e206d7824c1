"""Member analysis (F-C6): what a member does on the agency's OElove site, read from the synced
activity. A fixed number of queries per member page, whatever the member's history holds.

- activity over the last 12 months: counts per month and kind (one grouped query);
- spending: the total of site payments and the VIP history;
- what they look at: the profiles they viewed, grouped by age band, city and education — the
  behaviour signal the match engine can weight later.
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth

from apps.finance.services import agency_today
from apps.members import divisions
from apps.members.choices import Education
from apps.members.models import Member

from .models import MemberActivity, OeloveLink, VipRecord

Kind = MemberActivity.Kind
MONTHS = 12
TOP = 5
# The kinds shown as the activity table's columns, in this order.
ACTIVITY_KINDS = (Kind.LOGIN, Kind.VIEW_GIVEN, Kind.VIEW_RECEIVED, Kind.MESSAGE_SENT, Kind.MESSAGE_RECEIVED,
                  Kind.GREETING_SENT, Kind.GREETING_RECEIVED)  # fmt: skip


@dataclass
class MonthRow:
    month: datetime.date
    counts: list[int]
    total: int


@dataclass
class Analysis:
    link: OeloveLink
    kinds: list[str]
    months: list[MonthRow]
    totals: list[int]
    spent: Decimal
    payments: int
    vip_history: list[VipRecord]
    viewed_ages: list[tuple[str, int]] = field(default_factory=list)
    viewed_cities: list[tuple[str, int]] = field(default_factory=list)
    viewed_education: list[tuple[str, int]] = field(default_factory=list)
    viewed_total: int = 0

    @property
    def peak(self) -> int:
        return max((row.total for row in self.months), default=0) or 1


def _month_starts(today: datetime.date) -> list[datetime.date]:
    first = today.replace(day=1)
    months = []
    for _n in range(MONTHS):
        months.append(first)
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    return list(reversed(months))


def _age_band(birth: datetime.date | None, today: datetime.date) -> str | None:
    if birth is None:
        return None
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    low = age // 5 * 5
    return f"{low}-{low + 4}"


def member_analysis(*, member: Member) -> Analysis | None:
    """The member's site behaviour, or None when the member did not come from an OElove site."""
    agency_id = member.agency_id
    link = OeloveLink.objects.filter(agency=agency_id, member=member).first()
    if link is None:
        return None
    today = agency_today(member.agency)
    months = _month_starts(today)
    activity = MemberActivity.objects.filter(agency=agency_id, member=member)

    grouped = (
        activity.filter(kind__in=ACTIVITY_KINDS, at__date__gte=months[0])
        .annotate(month=TruncMonth("at"))
        .values("month", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    per_month = {(row["month"].date() if hasattr(row["month"], "date") else row["month"], row["kind"]): row["n"]
                 for row in grouped}  # fmt: skip
    rows = []
    for month in months:
        counts = [per_month.get((month, kind), 0) for kind in ACTIVITY_KINDS]
        rows.append(MonthRow(month=month, counts=counts, total=sum(counts)))
    totals = [sum(row.counts[index] for row in rows) for index in range(len(ACTIVITY_KINDS))]

    spending = activity.filter(kind=Kind.PAYMENT).aggregate(total=Sum("amount"), n=Count("id"))
    vip_history = list(VipRecord.objects.filter(agency=agency_id, member=member).order_by("-start", "-id")[:20])

    # The profiles they looked at, each view counted: one grouped query joining the viewed members.
    viewed = (
        activity.filter(kind=Kind.VIEW_GIVEN, counterpart_member__isnull=False)
        .values_list("counterpart_member__birth_date", "counterpart_member__residence_city",
                     "counterpart_member__education")
        .annotate(n=Count("id"))
        .order_by()
    )  # fmt: skip
    ages, cities, education = Counter(), Counter(), Counter()
    viewed_total = 0
    for birth, city, level, views in viewed:
        viewed_total += views
        band = _age_band(birth, today)
        if band:
            ages[band] += views
        if city:
            cities[divisions.name_of(city) or city] += views
        if level in Education.values:
            education[str(Education(level).label)] += views

    return Analysis(
        link=link, kinds=[str(Kind(kind).label) for kind in ACTIVITY_KINDS], months=rows, totals=totals,
        spent=spending["total"] or Decimal("0.00"), payments=spending["n"], vip_history=vip_history,
        viewed_ages=ages.most_common(TOP), viewed_cities=cities.most_common(TOP),
        viewed_education=education.most_common(TOP), viewed_total=viewed_total,
    )  # fmt: skip
