"""Reads of the jobs app: run records for admins, reminders for their own user."""

import datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from apps.appointments.models import Appointment
from apps.integrations.models import MemberActivity
from apps.members.models import Member
from apps.members.selectors import member_visible_list
from apps.messaging.models import Message
from apps.portal.models import MemberAccount

from .models import JobRun, Reminder


def run_list(*, agency, job: str = "", status: str = "") -> QuerySet[JobRun]:
    runs = JobRun.objects.filter(agency=agency)
    if job:
        runs = runs.filter(job=job)
    if status:
        runs = runs.filter(status=status)
    return runs.order_by("-started_at", "-id")


def last_runs(*, agency) -> dict[str, JobRun]:
    """The latest run of each job (one query)."""
    latest = JobRun.objects.filter(agency=agency).order_by("job", "-started_at", "-id").distinct("job")
    return {run.job: run for run in latest}


def reminder_list(*, user, done: bool = False) -> QuerySet[Reminder]:
    reminders = Reminder.objects.filter(agency=user.agency_id, user=user, done_at__isnull=not done)
    order = ["-done_at", "-id"] if done else ["due_on", "-id"]
    return reminders.select_related("member").order_by(*order)


def open_reminder_count(*, user) -> int:
    return Reminder.objects.filter(agency=user.agency_id, user=user, done_at__isnull=True).count()


# --- silent members (F-H1) --------------------------------------------------------------------------

SILENT_STATUSES = (Member.Status.LEAD, Member.Status.FOLLOWING, Member.Status.SIGNED, Member.Status.IN_SERVICE,
                   Member.Status.PAUSED)  # fmt: skip
SITE_ACTIVITY = (MemberActivity.Kind.LOGIN, MemberActivity.Kind.VIEW_GIVEN, MemberActivity.Kind.MESSAGE_SENT,
                 MemberActivity.Kind.GREETING_SENT)  # fmt: skip


def silent_members(*, agency, user=None, days: int) -> QuerySet[Member]:
    """Members still being served who registered more than `days` days ago and since then had no
    follow-up, no portal log-in, no in-site message of their own, no appointment (past or booked)
    and did nothing on the OElove site. One SQL statement: each kind of activity is a NOT EXISTS on
    its own (agency, member, time) index. With `user`, only the members that user may see."""
    since = timezone.now() - datetime.timedelta(days=days)
    members = member_visible_list(user=user) if user is not None else Member.objects.all()
    member = OuterRef("pk")
    # A member's message always moves their thread's last_message_at: the thread index narrows first.
    wrote = Message.objects.filter(agency=agency, thread__member=member, thread__last_message_at__gte=since)
    return members.filter(
        Q(last_followup_at__isnull=True) | Q(last_followup_at__lt=since),
        ~Exists(MemberAccount.objects.filter(agency=agency, member=member, last_login__gte=since)),
        ~Exists(wrote.filter(from_member=True, created_at__gte=since)),
        ~Exists(Appointment.objects.filter(agency=agency, member_a=member, starts_at__gte=since)),
        ~Exists(Appointment.objects.filter(agency=agency, member_b=member, starts_at__gte=since)),
        # What the member did on the agency's OElove site (synced): what others did to them does not count.
        ~Exists(MemberActivity.objects.filter(agency=agency, member=member, kind__in=SITE_ACTIVITY, at__gte=since)),
        agency=agency,
        status__in=SILENT_STATUSES,
        created_at__lt=since,
    )


def silent_member_list(*, user, days: int, owner_id: int | None = None) -> QuerySet[Member]:
    """The silent-members page: the user's visible silent members (optionally those one matchmaker
    serves now) with their owners and last portal log-in, the longest silent first."""
    members = silent_members(agency=user.agency_id, user=user, days=days)
    if owner_id is not None:
        members = members.filter(Q(aftersale_owner=owner_id) | Q(aftersale_owner__isnull=True, presale_owner=owner_id))
    last_login = MemberAccount.objects.filter(agency=user.agency_id, member=OuterRef("pk")).values("last_login")[:1]
    return (
        members.select_related("presale_owner", "aftersale_owner")
        .annotate(last_portal_login=Subquery(last_login))
        .order_by(F("last_followup_at").asc(nulls_first=True), "created_at", "pk")
    )
