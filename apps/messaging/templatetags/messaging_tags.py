from django import template

from apps.messaging.forms import ContactForm
from apps.messaging.selectors import member_thread_list

register = template.Library()


@register.inclusion_tag("messaging/partials/contact_panel.html", takes_context=True)
def contact_panel(context, member):
    """The member page's "Contact" card: an in-site message, an email or an SMS to the member."""
    return {
        "member": member,
        "perms": context["perms"],
        "csrf_token": context.get("csrf_token"),
        "contact_form": ContactForm(),
    }


CONVERSATIONS_ON_PANEL = 5


@register.inclusion_tag("messaging/partials/conversations_panel.html", takes_context=True)
def conversations_panel(context, member):
    """The member page's "Conversations" card: the latest threads with the member, and a way to start one."""
    if not context["user"].has_perm("matchmakers.view_messages"):
        return {"show": False}
    return {
        "show": True,
        "member": member,
        "perms": context["perms"],
        "threads": list(member_thread_list(member=member)[:CONVERSATIONS_ON_PANEL]),
    }
