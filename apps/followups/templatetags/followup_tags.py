from django import template

from apps.followups.forms import AbandonForm, FollowUpForm

register = template.Library()


@register.inclusion_tag("followups/partials/followup_panel.html", takes_context=True)
def followup_panel(context, member):
    """The member page's "record a follow-up" and "abandon" forms."""
    return {
        "member": member,
        "perms": context["perms"],
        "csrf_token": context.get("csrf_token"),
        "followup_form": FollowUpForm(),
        "abandon_form": AbandonForm(),
    }
