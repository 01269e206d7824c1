"""Celery tasks of the OElove sync: thin wrappers over services, one agency at a time."""

from celery import shared_task

from apps.agencies.context import current_agency
from apps.core.tasks import TenantTask

from .models import OeloveSource
from .services import oelove_sync_run


@shared_task(base=TenantTask)
def oelove_sync(*, agency_id: int, requested_by: int | None = None) -> dict | None:
    """One sync pass of the agency's OElove site; the run record holds what it did."""
    run = oelove_sync_run(agency=current_agency(), requested_by=requested_by)
    if run is None:
        return None
    return {"run": run.pk, "status": run.status, "counts": run.counts}


@shared_task
def oelove_sync_all() -> int:
    """Queue a sync for every agency whose OElove site is set to sync automatically."""
    agency_ids = list(OeloveSource.unscoped.filter(enabled=True, agency__status="active")
                      .values_list("agency_id", flat=True))  # fmt: skip
    for agency_id in agency_ids:
        oelove_sync.delay(agency_id=agency_id)
    return len(agency_ids)
