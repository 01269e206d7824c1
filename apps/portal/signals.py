"""Staff and member sessions never mix (issue 8): a staff log-in drops any member log-in of the same
browser, and a staff log-out ends a log-in-as-member they had open."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from . import auth


@receiver(user_logged_in)
def _staff_logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        auth.forget_member(request)


@receiver(user_logged_out)
def _staff_logged_out(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session") and user is not None:
        auth.impersonation_end_for_logout(request, user)
