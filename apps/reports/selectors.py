"""The workbench (F-I1): what each block of the page staff land on counts, for this user.

Every count goes through the selector of the list it links to (the same role-tree and permission
rules), so a number on the workbench is exactly the length of the list one click away. A block the
user's role cannot open is left out (None), not shown as zero.
"""

from django.db.models import Count, Q
from django.utils import timezone

from apps.appointments.models import EntrustRequest
from apps.appointments.selectors import entrust_visible_list
from apps.finance import selectors as finance_selectors
from apps.followups.intake import consultation_visible_list
from apps.followups.models import Consultation
from apps.followups.selectors import due_followups, overdue_stages_escalated, overdue_stages_mine
from apps.jobs.selectors import open_reminder_count
from apps.members.selectors import birthday_list
from apps.messaging.selectors import staff_unread_total
from apps.portal.models import ProfileChangeRequest
from apps.portal.selectors import change_request_list


def workbench(*, user) -> dict:
    has = user.has_perm
    blocks: dict = {"reminders": open_reminder_count(user=user)}
    if has("matchmakers.view_members"):
        now = timezone.now()
        blocks["followups"] = due_followups(user=user).order_by().aggregate(
            overdue=Count("pk", filter=Q(next_followup_at__lt=now)),
            today=Count("pk", filter=Q(next_followup_at__gte=now)),
        )
        blocks["birthdays"] = {"today": birthday_list(user=user, window="today").count(),
                               "week": birthday_list(user=user, window="week").count()}  # fmt: skip
        blocks["overdue_stages"] = {"mine": overdue_stages_mine(user=user).count(),
                                    "branch": overdue_stages_escalated(user=user).count()}  # fmt: skip
    if has("matchmakers.view_members") and has("matchmakers.edit_members"):
        blocks["profile_changes"] = change_request_list(user=user, status=ProfileChangeRequest.Status.PENDING).count()
    if has("matchmakers.view_followups"):
        blocks["consultations"] = consultation_visible_list(user=user).filter(
            status__in=Consultation.OPEN_STATUSES
        ).count()
    if has("matchmakers.view_members") and has("matchmakers.view_matches"):
        blocks["entrusts"] = entrust_visible_list(user=user).filter(
            status__in=[EntrustRequest.Status.OPEN, EntrustRequest.Status.ASSIGNED]
        ).count()
    if has("matchmakers.view_messages"):
        blocks["unread_messages"] = staff_unread_total(user=user)
    blocks["finance"] = finance_selectors.finance_todo(user=user)
    return blocks
