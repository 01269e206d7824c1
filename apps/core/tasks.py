"""The Celery task base for agency work."""

import logging

from celery import Task, shared_task
from django.apps import apps
from django.db import transaction

from apps.agencies.context import agency_context, current_agency
from apps.agencies.models import Agency
from apps.core.images import reencode_image

logger = logging.getLogger(__name__)


class TenantTask(Task):
    """Runs the task inside the agency given as the `agency_id` keyword argument.

    Tasks never inherit a scope from whoever queued them: the worker loads the agency, skips it when
    suspended, and enters its scope, so tenant managers work and fail closed exactly as in a request.
    """

    def __call__(self, *args, **kwargs):
        agency_id = kwargs.get("agency_id")
        if agency_id is None:
            raise TypeError(f"{self.name} must be called with agency_id=…")
        agency = Agency.objects.filter(pk=agency_id).first()
        if agency is None or not agency.is_active:
            logger.info("skipping %s: agency %s is missing or suspended", self.name, agency_id)
            return None
        with agency_context(agency):
            return super().__call__(*args, **kwargs)


def queue_for_active_agencies(task: Task, *, queue: str | None = None, **kwargs) -> int:
    """Queue `task` once per active agency, each in its own task (the beat entry points' fan-out), so
    one agency's failure or slowness never holds up the others. Returns how many were queued."""
    agency_ids = list(Agency.objects.filter(status=Agency.Status.ACTIVE).values_list("pk", flat=True))
    for agency_id in agency_ids:
        task.apply_async(kwargs={"agency_id": agency_id, **kwargs}, queue=queue)
    return len(agency_ids)


@shared_task(base=TenantTask)
def image_reencode(*, agency_id: int, model: str, pk: int, field: str) -> bool:
    """Strip EXIF/GPS from, and downsize, one uploaded image (member photos, staff photos).

    The row is looked up inside the agency, so a task can never touch another agency's file.
    """
    model_class = apps.get_model(model)
    row = model_class._default_manager.filter(pk=pk, agency=current_agency()).first()
    if row is None:
        return False
    field_file = getattr(row, field)
    if not field_file:
        return False
    with field_file.storage.open(field_file.name, "rb") as handle:
        cleaned = reencode_image(handle.read())
    if cleaned is None:
        return False
    with field_file.storage.open(field_file.name, "wb") as handle:
        handle.write(cleaned)
    return True


def schedule_image_reencode(instance, field: str) -> None:
    """Queue `image_reencode` for `instance.<field>` once the current transaction commits."""
    transaction.on_commit(
        lambda: image_reencode.delay(
            agency_id=instance.agency_id, model=instance._meta.label_lower, pk=instance.pk, field=field
        )
    )
