from functools import cached_property

from django.urls import reverse
from django.utils.translation import gettext as _

from . import auth


class PortalNav:
    """What the portal's navigation shows, computed only when a template asks (staff pages never do)."""

    def __init__(self, request):
        self.request = request

    @cached_property
    def member(self):
        return auth.current_member(self.request)

    @cached_property
    def impersonation(self):
        return auth.current_impersonation(self.request)

    @cached_property
    def pending_answers(self) -> int:
        from .selectors import recommendations_awaiting_answer  # noqa: PLC0415 - only when a template asks

        return recommendations_awaiting_answer(member=self.member).count() if self.member else 0

    @cached_property
    def extra_nav(self) -> list[dict]:
        """Entries of the other apps' portal pages (messages, members, requests)."""
        if not self.member:
            return []
        from apps.messaging.selectors import member_unread_count  # noqa: PLC0415

        return [
            {"key": "messages", "url": reverse("portal_messages:list"), "label": _("Messages"),
             "badge": member_unread_count(member=self.member)},
            {"key": "members", "url": reverse("portal_entrust:members"), "label": _("Meet members"), "badge": 0},
            {"key": "requests", "url": reverse("portal_entrust:requests"), "label": _("My requests"), "badge": 0},
        ]  # fmt: skip


def portal(request):
    return {"portal": PortalNav(request)}
