"""Resolve the agency of every request and run the rest of the request inside its scope."""

import re

from django.conf import settings
from django.http import HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import set_script_prefix, set_urlconf
from django.utils import translation
from django_scopes import scopes_disabled

from .context import agency_context
from .selectors import agency_by_slug, agency_for_host, is_platform_host

PREFIX_RE = re.compile(r"^/a/(?P<slug>[^/]+)(?P<rest>/.*)?$")


class TenantMiddleware:
    """Agency from the host (<slug>.<BASE_DOMAIN> or a custom domain) or from /a/<slug>/.

    - agency found and active: agency URLconf, scope active for everything downstream;
    - agency suspended: a "suspended" page and nothing else;
    - a platform host without prefix: the platform URLconf (Django admin), tenant data unscoped
      for platform operators only (the admin checks they belong to no agency);
    - anything else: 404, so unknown hosts and slugs never reach a view.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        host = request.get_host()
        request.agency = None
        # Set the prefix on every request: test clients and some servers do not reset it.
        script_name = request.META.get("SCRIPT_NAME", "").rstrip("/")
        set_script_prefix(f"{script_name}/")
        if is_platform_host(host):
            match = PREFIX_RE.match(request.path_info)
            if match is None:
                return self._platform(request)
            agency = agency_by_slug(match["slug"])
            if agency is not None and match["rest"] is None:
                return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
            if agency is not None:
                # Route the rest of the path and make reverse() emit the /a/<slug>/ prefix again.
                set_script_prefix(f"{script_name}/a/{agency.slug}/")
                request.path_info = match["rest"]
        else:
            agency = agency_for_host(host)
        if agency is None:
            return self._not_found(request)
        request.agency = agency
        request.urlconf = settings.ROOT_URLCONF
        if not agency.is_active:
            return self._page(request, "agencies/suspended.html", {"agency": agency}, status=503)
        with agency_context(agency):
            return self.get_response(request)

    def _platform(self, request):
        request.urlconf = settings.PLATFORM_URLCONF
        set_urlconf(settings.PLATFORM_URLCONF)
        with scopes_disabled():
            return self.get_response(request)

    def _not_found(self, request):
        return self._page(request, "agencies/not_found.html", {}, status=404)

    def _page(self, request, template, context, *, status):
        # These pages answer before LocaleMiddleware runs, so pick the visitor's language here.
        with translation.override(translation.get_language_from_request(request)):
            return render(request, template, context, status=status)
