"""Finance background work: the roll-up of one sales day (the nightly expiry and roll-up of every
agency is the "report_rollups" background job, apps.jobs.reminders)."""

import datetime
import logging

from celery import shared_task

from apps.agencies.context import current_agency
from apps.core.tasks import TenantTask

from . import reports

logger = logging.getLogger(__name__)


@shared_task(base=TenantTask)
def sales_rollup(*, agency_id: int, day: str) -> dict:
    """Roll up one day of the agency's sales (idempotent: the day is written again whole)."""
    return reports.rollup_day(agency=current_agency(), day=datetime.date.fromisoformat(day))
