"""The Celery task base for agency work."""

import logging

from celery import Task

from apps.agencies.context import agency_context
from apps.agencies.models import Agency

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
