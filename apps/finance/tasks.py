"""Finance background work: the daily sales roll-up and the contract expiry job (thin over services)."""

import datetime
import logging

from celery import shared_task

from apps.agencies.context import current_agency
from apps.agencies.models import Agency
from apps.core.tasks import TenantTask

from . import reports, services

logger = logging.getLogger(__name__)


@shared_task(base=TenantTask)
def sales_rollup(*, agency_id: int, day: str) -> dict:
    """Roll up one day of the agency's sales (idempotent: the day is written again whole)."""
    return reports.rollup_day(agency=current_agency(), day=datetime.date.fromisoformat(day))


@shared_task(base=TenantTask)
def finance_nightly(*, agency_id: int) -> dict:
    """The agency's nightly finance job: expire ended contracts, roll up every past day not rolled up yet.

    Both steps are idempotent, so a run that is repeated or comes late does no harm.
    """
    agency = current_agency()
    result = {
        "agency": agency.slug,
        "expired": services.contracts_expire(agency=agency),
        "days_rolled_up": reports.rollup_pending(agency=agency),
    }
    logger.info("finance nightly for %(agency)s: %(expired)s contracts expired, %(days_rolled_up)s days rolled up",
                result)  # fmt: skip
    return result


@shared_task
def finance_nightly_all() -> int:
    """Queue the nightly finance job of every active agency (the beat schedule's entry point)."""
    agency_ids = list(Agency.objects.filter(status=Agency.Status.ACTIVE).values_list("pk", flat=True))
    for agency_id in agency_ids:
        finance_nightly.delay(agency_id=agency_id)
    return len(agency_ids)
