from django import template

from apps.messaging.forms import ContactForm

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
