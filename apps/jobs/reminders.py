"""Jobs that remind staff of dates: birthdays (F-C9) and contracts ending (F-G6), and the nightly
finance roll-up. Each is idempotent through once-only reminder keys and marks."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.finance import reports as finance_reports
from apps.finance import services as finance_services
from apps.finance.models import Contract
from apps.members.models import Member
from apps.messaging.models import Kind
from apps.messaging.services import notify_member
from apps.reports import rollups as dashboard_rollups

from . import services
from .models import Reminder
from .registry import job

# Days before the end of service at which a contract is brought up again.
EXPIRY_STEPS = (30, 7, 1)


def _owner_id(member: Member) -> int | None:
    """Who serves the member now: the after-sale matchmaker once signed, else the presale one."""
    return member.aftersale_owner_id or member.presale_owner_id


def _birthday_codes(day: datetime.date) -> list[int]:
    codes = [day.month * 100 + day.day]
    is_leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
    if codes[0] == 228 and not is_leap:
        codes.append(229)  # those born on 29 February celebrate on the 28th in common years
    return codes


@job("birthday_reminders", gettext_lazy("Birthday reminders"))
def birthday_reminders(agency, today: datetime.date) -> dict:
    """Remind each member's matchmaker the day before and on the birthday; greet the member on the
    day if the agency chose a channel."""
    tomorrow = today + datetime.timedelta(days=1)
    reminders = []
    members = Member.objects.filter(agency=agency).exclude(status=Member.Status.ABANDONED)
    for day, when in ((today, "day"), (tomorrow, "eve")):
        for member in members.filter(birth_md__in=_birthday_codes(day)).only(
            "pk", "name", "birth_date", "presale_owner", "aftersale_owner"
        ):
            owner_id = _owner_id(member)
            if owner_id is None:
                continue
            # The age they turn that day (age_on would say one less for 29 February on a 28 February).
            age = day.year - member.birth_date.year
            wording = _("Today is %(name)s's birthday (%(age)s)") if when == "day" \
                else _("Tomorrow is %(name)s's birthday (%(age)s)")  # fmt: skip
            title = wording % {"name": member.name, "age": age}
            reminders.append(Reminder(
                user_id=owner_id, kind=Reminder.Kind.BIRTHDAY, member=member, title=title, due_on=today,
                key=f"birthday:{member.pk}:{day.isoformat()}:{when}",
            ))  # fmt: skip
    created = services.remind(agency=agency, reminders=reminders)
    greeted, unreachable = _greet(agency, members.filter(birth_md__in=_birthday_codes(today)), today)
    return {"reminders": created, "greetings": greeted, "greetings_unreachable": unreachable}


def _greet(agency, members, today: datetime.date) -> tuple[int, int]:
    channel = services.settings_for(agency).birthday_greeting_channel
    if not channel:
        return 0, 0
    greeted = unreachable = 0
    for member in members.only("pk", "name", "phone", "email"):
        with transaction.atomic():
            if not services.mark_once(agency=agency, key=f"greeting:{member.pk}:{today.isoformat()}"):
                continue
            try:
                with transaction.atomic():
                    notify_member(agency=agency, member=member, kind=Kind.BIRTHDAY, channel=channel, values={})
            except ValidationError:  # no email address for an email greeting: counted, not fatal
                unreachable += 1
            else:
                greeted += 1
    return greeted, unreachable


def _expiry_step(days_left: int) -> int | None:
    """The reminder step a contract is at: the smallest of 30 / 7 / 1 at or above the days left, so
    a day the job did not run is caught up the next day instead of lost."""
    steps = [step for step in EXPIRY_STEPS if days_left <= step]
    return min(steps) if steps else None


@job("contract_expiry_reminders", gettext_lazy("Contract expiry reminders"))
def contract_expiry_reminders(agency, today: datetime.date) -> dict:
    """Contracts whose service ends in 30, 7 and 1 days: remind the salesperson and the member's
    matchmaker; tell the member if the agency chose a channel."""
    contracts = (
        Contract.objects.filter(
            agency=agency, status=Contract.Status.APPROVED, service_end__gte=today,
            service_end__lte=today + datetime.timedelta(days=max(EXPIRY_STEPS)),
        )
        .select_related("member", "package")
        .order_by("service_end", "pk")
    )  # fmt: skip
    channel = services.settings_for(agency).contract_expiry_channel
    reminders, notified, unreachable = [], 0, 0
    for contract in contracts:
        days_left = (contract.service_end - today).days
        step = _expiry_step(days_left)
        if step is None:
            continue
        member = contract.member
        title = _("%(name)s's contract %(number)s ends on %(end)s (%(days)s days left)") % {
            "name": member.name, "number": contract.number, "end": contract.service_end.isoformat(), "days": days_left,
        }  # fmt: skip
        for user_id in {contract.salesperson_id, _owner_id(member)} - {None}:
            reminders.append(Reminder(
                user_id=user_id, kind=Reminder.Kind.CONTRACT_EXPIRY, member=member, title=title, due_on=today,
                # The end date is part of the key: an extended contract is reminded again at each step.
                key=f"expiry:{contract.pk}:{contract.service_end.isoformat()}:{step}:{user_id}",
            ))  # fmt: skip
        if channel:
            with transaction.atomic():
                notice_key = f"expiry-notice:{contract.pk}:{contract.service_end.isoformat()}:{step}"
                if services.mark_once(agency=agency, key=notice_key):
                    try:
                        with transaction.atomic():
                            notify_member(
                                agency=agency, member=member, kind=Kind.CONTRACT_EXPIRY, channel=channel,
                                values={"package": contract.package.name if contract.package_id else "",
                                        "end_date": contract.service_end.isoformat(), "days": days_left},
                            )  # fmt: skip
                    except ValidationError:
                        unreachable += 1
                    else:
                        notified += 1
    return {"reminders": services.remind(agency=agency, reminders=reminders), "notices": notified,
            "notices_unreachable": unreachable}  # fmt: skip


@job("report_rollups", gettext_lazy("Report roll-ups"))
def report_rollups(agency, today: datetime.date) -> dict:
    """Expire ended contracts, and roll up every finished day not rolled up yet: sales, and the dashboards."""
    return {
        "contracts_expired": finance_services.contracts_expire(agency=agency, today=today),
        "sales_days_rolled_up": finance_reports.rollup_pending(agency=agency),
        "dashboard_days_rolled_up": dashboard_rollups.rollup_pending(agency=agency),
    }
