from django import template

from apps.integrations.analysis import member_analysis

register = template.Library()


@register.inclusion_tag("integrations/partials/analysis_panel.html")
def member_analysis_panel(member):
    """The member page's "Site activity" card (F-C6); nothing for members not from an OElove site."""
    return {"member": member, "analysis": member_analysis(member=member)}
