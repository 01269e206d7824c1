from django.shortcuts import render

from apps.agencies.selectors import site_settings_get


def portal_render(request, template: str, context: dict | None = None, *, status: int = 200):
    """Render a portal page (templates extending portal/base_portal.html, which needs the site settings)."""
    context = {"site": site_settings_get(agency=request.agency), **(context or {})}
    return render(request, template, context, status=status)
