from functools import cached_property


class StaffReminders:
    """The navigation's reminder badge, counted only when a template shows it."""

    def __init__(self, request):
        self.request = request

    @cached_property
    def open(self) -> int:
        from .selectors import open_reminder_count  # noqa: PLC0415 - only when a template asks

        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated or getattr(user, "agency_id", None) is None:
            return 0
        return open_reminder_count(user=user)


def reminders(request):
    return {"staff_reminders": StaffReminders(request)}
