from functools import cached_property

from .selectors import staff_unread_total


class StaffMessagesNav:
    """The back office's "Messages" badge, computed only when a template asks (portal pages never do)."""

    def __init__(self, request):
        self.request = request

    @cached_property
    def unread(self) -> int:
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated or user.agency_id is None:
            return 0
        if not user.has_perm("matchmakers.view_messages"):
            return 0
        return staff_unread_total(user=user)


def staff_messages(request):
    return {"staff_messages": StaffMessagesNav(request)}
