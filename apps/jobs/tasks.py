import logging

from celery import shared_task

from apps.agencies.context import current_agency
from apps.core.tasks import TenantTask, queue_for_active_agencies

from . import registry

logger = logging.getLogger(__name__)


@shared_task(base=TenantTask)
def job_run(*, agency_id: int, job: str) -> dict:
    """Run one job for one agency (recorded as a JobRun); returns its status and counts."""
    run = registry.run_job(agency=current_agency(), name=job)
    return {"job": job, "agency": agency_id, "status": run.status, "counts": run.counts}


@shared_task(bind=True)
def job_dispatch(self, *, job: str) -> int:
    """The beat schedule's entry point: queue `job` for every active agency, each in its own task,
    so one agency's failure or slowness never holds up the others. Returns how many were queued.

    The agency tasks go to the queue this task came from (the default one under beat)."""
    registry.get(job)  # an unknown job name fails here, loudly, not once per agency
    queue = (self.request.delivery_info or {}).get("routing_key") or None
    queued = queue_for_active_agencies(job_run, queue=queue, job=job)
    logger.info("job %s queued for %s agencies", job, queued)
    return queued
