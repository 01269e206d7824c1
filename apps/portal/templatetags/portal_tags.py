from django import template

from apps.portal import selectors
from apps.portal.forms import InvitationForm

register = template.Library()


@register.inclusion_tag("portal/partials/portal_panel.html", takes_context=True)
def portal_panel(context, member):
    """The member page's "Member portal" card: account state, invitation, pending changes, log in as."""
    return {
        "member": member,
        "perms": context["perms"],
        "csrf_token": context.get("csrf_token"),
        "invitation_form": InvitationForm(),
        **selectors.portal_state(member=member),
    }
