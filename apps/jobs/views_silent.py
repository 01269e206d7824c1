"""The silent-members list (F-H1): members nobody heard from, and who did not show up, for a while."""

from django.core.paginator import Paginator
from django.shortcuts import render

from apps.matchmakers.decorators import staff_permission_required
from apps.matchmakers.selectors import staff_list

from . import selectors, services


@staff_permission_required("matchmakers.view_members")
def silent_list(request):
    """The visible members silent for the agency's number of days, optionally of one matchmaker."""
    days = services.settings_for(request.agency).silent_days
    staff = list(staff_list(user=request.user))
    owner_id = next((user.pk for user in staff if str(user.pk) == request.GET.get("owner")), None)
    members = selectors.silent_member_list(user=request.user, days=days, owner_id=owner_id)
    page = Paginator(members, 30).get_page(request.GET.get("page"))
    return render(request, "jobs/silent_list.html", {"page": page, "days": days, "staff": staff, "owner_id": owner_id})
