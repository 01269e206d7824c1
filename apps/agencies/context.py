"""The agency a request or task works for.

`agency_context` is the one way code enters an agency: it activates the django-scopes scope that
tenant managers require, the agency's time zone (dates shown and "today" are the agency's), and
records the agency for code that needs the object itself.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone
from django_scopes import scope

_current_agency: ContextVar = ContextVar("current_agency", default=None)


def current_agency():
    """The agency being served, or None on platform hosts and outside any request or task."""
    return _current_agency.get()


@contextmanager
def agency_context(agency):
    if agency is None or agency.pk is None:
        # scope(agency=None) would filter nothing at all; refuse rather than open every agency.
        raise ValueError("agency_context needs a saved agency")
    token = _current_agency.set(agency)
    try:
        with scope(agency=agency), timezone.override(agency.timezone or "Asia/Shanghai"):
            yield agency
    finally:
        _current_agency.reset(token)
