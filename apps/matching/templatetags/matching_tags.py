from django import template

from ..selectors import stats_of

register = template.Library()


@register.inclusion_tag("matching/partials/matching_panel.html", takes_context=True)
def matching_panel(context, member):
    """The member page's "Matches" card: how often matched and recommended, and the way to the library."""
    if not context["user"].has_perm("matchmakers.view_matches"):
        return {"show": False}
    return {"show": True, "member": member, "stats": stats_of(member=member)}
