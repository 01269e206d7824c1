"""Overdue follow-ups and service steps escalated to the owner's superior (F-F9).

The superior of an owner is whoever holds the parent role of the owner's role in the role tree and
is active; when nobody active holds it, the nearest ancestor role that has someone; the agency's
root role is the last resort. An agency admin (root role) has no superior. Each overdue moment
(member and its due time) is escalated once: a second run adds nothing, a new due time that passes
later is escalated again.
"""

import datetime
from collections import defaultdict

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.followups.models import ServiceStage
from apps.followups.selectors import overdue_stages
from apps.matchmakers.models import Role, User
from apps.members.models import Member

from . import services
from .models import Reminder
from .registry import job

# Only items that fell overdue this recently are escalated. The job runs every hour, so anything
# older was escalated when it fell due; without a window the first run on imported data would bury
# every manager under years of stale due dates.
ESCALATION_WINDOW = datetime.timedelta(days=7)


class Superiors:
    """The agency's role tree and staff, read once per run (two queries), with the superiors of
    each role worked out once and reused for every item that role's staff own."""

    def __init__(self, agency):
        self.parent_of = dict(Role.objects.filter(agency=agency).values_list("pk", "parent_id"))
        self.root = next((pk for pk, parent in self.parent_of.items() if parent is None), None)
        self.role_of: dict[int, int | None] = {}
        self.name_of: dict[int, str] = {}
        self.active_in: dict[int, list[int]] = defaultdict(list)
        staff = User.objects.filter(agency=agency).values_list("pk", "role_id", "is_active", "name", "username")
        for pk, role_id, is_active, name, username in staff.order_by("pk"):
            self.role_of[pk], self.name_of[pk] = role_id, name or username
            if is_active and role_id is not None:
                self.active_in[role_id].append(pk)
        self._by_role: dict[int | None, tuple[int, ...]] = {}

    def _above(self, role_id: int | None) -> tuple[int, ...]:
        if role_id not in self._by_role:
            found: tuple[int, ...] = ()
            if role_id is None:  # staff without a role answer to the agency admins
                found = tuple(self.active_in.get(self.root, ()))
            else:
                ancestor = self.parent_of.get(role_id)
                while ancestor is not None and not self.active_in.get(ancestor):
                    ancestor = self.parent_of.get(ancestor)
                if ancestor is not None:
                    found = tuple(self.active_in[ancestor])
            self._by_role[role_id] = found
        return self._by_role[role_id]

    def of(self, owner_id: int) -> list[int]:
        """The users `owner_id`'s overdue items go to; empty for an admin or someone not of the agency."""
        if owner_id not in self.role_of:
            return []
        return [user_id for user_id in self._above(self.role_of[owner_id]) if user_id != owner_id]


def _when(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _stamp(moment: datetime.datetime) -> int:
    """The due moment in a key: whole seconds since the epoch, the same in every time zone."""
    return int(moment.timestamp())


def _overdue_followups(agency, superiors: Superiors, now: datetime.datetime, today) -> tuple[list[Reminder], int]:
    members = (
        Member.objects.filter(agency=agency, next_followup_at__lt=now, next_followup_at__gte=now - ESCALATION_WINDOW)
        .exclude(status__in=[Member.Status.ABANDONED, Member.Status.SUCCESS])
        .values_list("pk", "name", "member_no", "next_followup_at", "aftersale_owner_id", "presale_owner_id")
        .order_by("next_followup_at", "pk")
    )
    reminders, overdue = [], 0
    for pk, name, member_no, due_at, aftersale_owner_id, presale_owner_id in members.iterator(chunk_size=2000):
        owner_id = aftersale_owner_id or presale_owner_id  # who serves the member now
        if owner_id is None:
            continue
        overdue += 1
        title = _("%(owner)s's follow-up of %(member)s (%(number)s) is overdue since %(due)s") % {
            "owner": superiors.name_of.get(owner_id, ""), "member": name, "number": member_no, "due": _when(due_at),
        }  # fmt: skip
        for user_id in superiors.of(owner_id):
            reminders.append(Reminder(
                user_id=user_id, kind=Reminder.Kind.OVERDUE_FOLLOWUP, member_id=pk, title=title[:200], due_on=today,
                key=f"overdue-followup:{pk}:{_stamp(due_at)}:{user_id}",
            ))  # fmt: skip
    return reminders, overdue


def _overdue_service_steps(agency, superiors: Superiors, now: datetime.datetime, today) -> tuple[list[Reminder], int]:
    # The overdue service page's own selector: the same deadlines, stages and member statuses.
    stages = (
        overdue_stages()
        .filter(agency=agency, due_at__gte=now - ESCALATION_WINDOW)
        .values_list("pk", "stage", "due_at", "member_id", "member__name", "member__member_no",
                     "member__aftersale_owner_id")
    )  # fmt: skip
    reminders, overdue = [], 0
    for pk, stage, due_at, member_id, name, member_no, owner_id in stages.iterator(chunk_size=2000):
        if owner_id is None:
            continue
        overdue += 1
        title = _("%(owner)s's service step “%(stage)s” for %(member)s (%(number)s) is overdue since %(due)s") % {
            "owner": superiors.name_of.get(owner_id, ""), "stage": ServiceStage.Stage(stage).label, "member": name,
            "number": member_no, "due": _when(due_at),
        }  # fmt: skip
        for user_id in superiors.of(owner_id):
            reminders.append(Reminder(
                user_id=user_id, kind=Reminder.Kind.OVERDUE_STAGE, member_id=member_id, title=title[:200],
                due_on=today, key=f"overdue-stage:{pk}:{_stamp(due_at)}:{user_id}",
            ))  # fmt: skip
    return reminders, overdue


@job("overdue_escalation", gettext_lazy("Overdue escalation"))
def overdue_escalation(agency, today: datetime.date) -> dict:
    """Tell the owner's superior about follow-ups and service steps that went past their due time."""
    now = timezone.now()
    superiors = Superiors(agency)
    followup_reminders, followups = _overdue_followups(agency, superiors, now, today)
    stage_reminders, stages = _overdue_service_steps(agency, superiors, now, today)
    return {
        "overdue_followups": followups,
        "overdue_stages": stages,
        "followup_reminders": services.remind(agency=agency, reminders=followup_reminders),
        "stage_reminders": services.remind(agency=agency, reminders=stage_reminders),
    }
