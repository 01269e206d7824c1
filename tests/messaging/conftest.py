# The real Celery worker of the agencies' task tests, reused for message delivery.
from tests.agencies.test_tasks import celery_worker_process  # noqa: F401
