"""Message delivery in the background (F-E4, F-H3): thin wrappers over the services, one agency at a time."""

from celery import shared_task
from django.utils import timezone

from apps.agencies.context import current_agency
from apps.core.tasks import TenantTask, queue_for_active_agencies

from . import services
from .models import Notification


# Attempts are counted on the row (NOTIFICATION_MAX_ATTEMPTS), not by Celery: max_retries=None.
@shared_task(base=TenantTask, bind=True, max_retries=None)
def notification_send(self, *, agency_id: int, notification_id: int, attempt: int | None = None) -> str | None:
    """Make one delivery attempt inside the agency; returns the status afterwards.

    After a failed attempt with attempts left, the task queues itself again, on the queue it came
    from and with the same agency_id, for the row's next attempt at `next_attempt_at`.
    """
    notification = services.notification_deliver(
        agency=current_agency(), notification_id=notification_id, attempt=attempt
    )
    if notification is None:
        return None
    if notification.status == Notification.Status.QUEUED and notification.next_attempt_at is not None:
        countdown = max(0.0, (notification.next_attempt_at - timezone.now()).total_seconds())
        raise self.retry(kwargs={**self.request.kwargs, "attempt": notification.attempts + 1}, countdown=countdown)
    return notification.status


@shared_task(base=TenantTask)
def notifications_requeue_due(*, agency_id: int) -> int:
    """Queue again the agency's notifications whose delivery task was lost (see the service)."""
    return services.notifications_requeue_due(agency=current_agency())


@shared_task
def notifications_requeue_due_all() -> int:
    """Run `notifications_requeue_due` for every active agency (the beat schedule's entry point)."""
    return queue_for_active_agencies(notifications_requeue_due)
