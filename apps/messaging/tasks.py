from celery import shared_task

from apps.agencies.context import current_agency
from apps.core.tasks import TenantTask

from . import services


@shared_task(base=TenantTask)
def notification_send(*, agency_id: int, notification_id: int) -> str | None:
    """Deliver one queued notification inside its agency; returns its status afterwards."""
    notification = services.notification_deliver(agency=current_agency(), notification_id=notification_id)
    return None if notification is None else notification.status
