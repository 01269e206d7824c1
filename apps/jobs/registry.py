"""The periodic jobs (F-H1): a registry of job functions and the one way to run one for an agency.

A job is `function(agency, today) -> dict of counts`, registered with `@job("name", label)`. It must
be idempotent (running it twice on a day adds nothing the second time: reminders and marks carry
once-only keys) and must only touch the agency it is given. `run_job` records a JobRun around it:
started, then succeeded with the counts or failed with the error, never raising, so a failure for
one agency stays that agency's (each agency runs in its own task, see tasks.job_dispatch).
"""

import datetime
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from apps.finance.services import agency_today

from .models import JobRun

logger = logging.getLogger(__name__)

JobFunction = Callable[[object, datetime.date], dict]


@dataclass(frozen=True)
class Job:
    name: str
    label: str
    function: JobFunction


_JOBS: dict[str, Job] = {}


def job(name: str, label):
    """Register `function(agency, today)` as the job `name` (`label` is shown to admins)."""

    def decorator(function: JobFunction) -> JobFunction:
        if name in _JOBS and _JOBS[name].function is not function:
            raise ValueError(f"a job named {name!r} is already registered")
        _JOBS[name] = Job(name=name, label=label, function=function)
        return function

    return decorator


def jobs() -> list[Job]:
    return list(_JOBS.values())


def get(name: str) -> Job:
    return _JOBS[name]


def label_of(name: str) -> str:
    found = _JOBS.get(name)
    return str(found.label) if found else name


def run_job(*, agency, name: str, today: datetime.date | None = None) -> JobRun:
    """Run one job for one agency and record the run; a failure is recorded, not raised."""
    registered = get(name)
    run = JobRun.objects.create(agency=agency, job=name)
    try:
        counts = registered.function(agency, today or agency_today(agency)) or {}
    except Exception as error:  # recorded on the run: one agency's failure must not stop the others
        logger.exception("job %s failed for agency %s", name, agency.slug)
        run.status = JobRun.Status.FAILED
        run.error = f"{type(error).__name__}: {error}\n\n{traceback.format_exc()}"[:8000]
    else:
        run.status, run.counts = JobRun.Status.SUCCEEDED, counts
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "counts", "error", "finished_at"])
    return run
