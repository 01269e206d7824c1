from celery import shared_task

from apps.agencies.context import current_agency
from apps.core.tasks import TenantTask, queue_for_active_agencies

from . import services


@shared_task(base=TenantTask)
def impersonations_close_stale(*, agency_id: int) -> int:
    """Close the agency's log-ins as member left open by a closed browser (the audit shows them ended)."""
    return services.impersonations_close_stale(agency=current_agency())


@shared_task
def impersonations_close_stale_all() -> int:
    """Queue the clean-up of every active agency (the beat schedule's entry point)."""
    return queue_for_active_agencies(impersonations_close_stale)
