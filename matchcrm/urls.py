"""URLs of an agency: its public site and its back office (under /staff/).

Reached on the agency's own host, or on a platform host under /a/<slug>/ (the tenant middleware
strips that prefix and makes reverse() put it back).
"""

from django.urls import include, path

from matchcrm.urls_common import urlpatterns as common_urlpatterns

urlpatterns = [
    path("staff/", include("apps.matchmakers.urls")),
    path("staff/", include("apps.reports.urls")),
    path("staff/settings/", include("apps.agencies.urls")),
    path("staff/members/", include("apps.members.urls")),
    path("staff/", include("apps.followups.urls")),
    path("staff/", include("apps.messaging.urls")),
    path("staff/finance/", include("apps.finance.urls")),
    path("staff/", include("apps.matching.urls")),
    path("staff/", include("apps.appointments.urls")),
    path("staff/", include("apps.portal.urls_staff")),
    path("staff/integrations/", include("apps.integrations.urls")),
    path("staff/", include("apps.jobs.urls")),
    path("stories/", include("apps.appointments.urls_public")),
    path("portal/messages/", include("apps.messaging.urls_portal")),
    path("portal/members/", include("apps.appointments.urls_portal")),
    path("portal/", include("apps.portal.urls")),
    path("", include("apps.site.urls")),
    *common_urlpatterns,
]
