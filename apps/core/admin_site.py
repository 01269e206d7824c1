from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class PlatformAdminSite(admin.AdminSite):
    """The Django admin belongs to platform operators: staff accounts that belong to no agency."""

    site_header = _("MatchCRM platform")
    site_title = _("MatchCRM platform")
    index_title = _("Agencies and accounts")

    def has_permission(self, request):
        user = request.user
        return bool(user.is_active and user.is_staff and getattr(user, "agency_id", None) is None)
