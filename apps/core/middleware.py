"""Idle session expiry for staff and members (issue: security hardening, F-J2)."""

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser

from apps.portal.auth import MEMBER_KEY

LAST_SEEN = "_last_seen"
IDLE_ENDED = "_idle_ended"
# The last-seen time is written at most this often: a session write per request would cost every page.
RESOLUTION_SECONDS = 60


class IdleSessionMiddleware:
    """End a logged-in session (staff or member) that has not been used for SESSION_IDLE_SECONDS.

    The next request after the pause finds the session flushed and is treated as anonymous, so the
    page sends them to log in again; IDLE_ENDED in the fresh session lets the log-in page say why.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        if SESSION_KEY in session or MEMBER_KEY in session:
            now = int(time.time())
            last_seen = session.get(LAST_SEEN)
            if last_seen is not None and now - last_seen > settings.SESSION_IDLE_SECONDS:
                session.flush()
                session[IDLE_ENDED] = True
                request.user = AnonymousUser()
            elif last_seen is None or now - last_seen >= RESOLUTION_SECONDS:
                session[LAST_SEEN] = now
        return self.get_response(request)
