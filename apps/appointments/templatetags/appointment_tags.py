from django import template

from ..selectors import member_appointments

register = template.Library()


@register.inclusion_tag("appointments/partials/appointments_panel.html", takes_context=True)
def appointments_panel(context, member):
    """The member page's "Appointments" card: how many, the next planned one, the latest five, a link to book."""
    if not context["user"].has_perm("matchmakers.view_appointments"):
        return {"show": False}
    return {"show": True, "member": member, "perms": context["perms"], **member_appointments(member=member)}
