"""The default beat schedule, installed into django-celery-beat's tables once (F-H1).

Beat runs with the database scheduler, so admins change times or switch jobs off in the platform
admin (Periodic tasks) and their changes stay: `install_defaults` (after every migrate) only adds
entries that are missing, by name, and never rewrites one that exists. Times are in TIME_ZONE
(Asia/Shanghai); each job works out its agency's own date.
"""

import json

# name -> (task, kwargs, crontab fields)
DEFAULTS = {
    "birthday reminders": ("apps.jobs.tasks.job_dispatch", {"job": "birthday_reminders"},
                           {"minute": "5", "hour": "7"}),
    "contract expiry reminders": ("apps.jobs.tasks.job_dispatch", {"job": "contract_expiry_reminders"},
                                  {"minute": "10", "hour": "7"}),
    "overdue escalation": ("apps.jobs.tasks.job_dispatch", {"job": "overdue_escalation"},
                           {"minute": "20", "hour": "*"}),
    "report roll-ups": ("apps.jobs.tasks.job_dispatch", {"job": "report_rollups"}, {"minute": "30", "hour": "0"}),
    "new-match discovery": ("apps.jobs.tasks.job_dispatch", {"job": "new_match_discovery"},
                            {"minute": "40", "hour": "6"}),
    "silent members": ("apps.jobs.tasks.job_dispatch", {"job": "silent_members"}, {"minute": "50", "hour": "6"}),
    # Each agency's OElove site, read nightly (F-H2); agencies without a configured site are skipped.
    "oelove sync": ("apps.integrations.tasks.oelove_sync_all", {}, {"minute": "0", "hour": "2"}),
    # Platform housekeeping (not per-agency jobs with a run record of their own).
    "notifications requeue": ("apps.messaging.tasks.notifications_requeue_due_all", {}, {"minute": "*/10"}),
    "close stale log-ins as member": ("apps.portal.tasks.impersonations_close_stale_all", {}, {"minute": "15"}),
}  # fmt: skip


def install_defaults(sender=None, **kwargs) -> int:
    """Create the missing default entries; returns how many were created."""
    from django.conf import settings  # noqa: PLC0415
    from django_celery_beat.models import CrontabSchedule, PeriodicTask  # noqa: PLC0415

    created = 0
    for name, (task, task_kwargs, fields) in DEFAULTS.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        crontab, _new = CrontabSchedule.objects.get_or_create(
            minute=fields.get("minute", "*"), hour=fields.get("hour", "*"), day_of_week="*", day_of_month="*",
            month_of_year="*", timezone=settings.TIME_ZONE,
        )  # fmt: skip
        PeriodicTask.objects.create(name=name, task=task, kwargs=json.dumps(task_kwargs), crontab=crontab)
        created += 1
    return created
