from celery import shared_task

from apps.agencies.context import current_agency
from apps.agencies.models import Agency
from apps.core.tasks import TenantTask

from . import services


@shared_task(base=TenantTask)
def impersonations_close_stale(*, agency_id: int) -> int:
    """Close the agency's log-ins as member left open by a closed browser (the audit shows them ended)."""
    return services.impersonations_close_stale(agency=current_agency())


@shared_task
def impersonations_close_stale_all() -> int:
    """Queue the clean-up of every active agency (the beat schedule's entry point)."""
    agency_ids = list(Agency.objects.filter(status=Agency.Status.ACTIVE).values_list("pk", flat=True))
    for agency_id in agency_ids:
        impersonations_close_stale.delay(agency_id=agency_id)
    return len(agency_ids)
