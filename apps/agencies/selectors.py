from django.conf import settings

from .models import Agency, AgencyDomain, SiteImage, SiteSettings


def _host_without_port(host: str) -> str:
    host = host.lower()
    if host.startswith("["):  # IPv6 literal such as [::1]:8000
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def agency_slug_from_host(host: str) -> str | None:
    """`anhe` for `anhe.<BASE_DOMAIN>`; None for any other host."""
    host = _host_without_port(host)
    suffix = "." + settings.BASE_DOMAIN
    if host.endswith(suffix):
        label = host[: -len(suffix)]
        if label and "." not in label:
            return label
    return None


def is_platform_host(host: str) -> bool:
    return _host_without_port(host) in {h.lower() for h in settings.PLATFORM_HOSTS}


def agency_for_host(host: str) -> Agency | None:
    """The agency served on a subdomain of the base domain or on one of its custom domains."""
    slug = agency_slug_from_host(host)
    if slug is not None:
        return Agency.objects.filter(slug=slug).first()
    domain = AgencyDomain.objects.select_related("agency").filter(host=_host_without_port(host)).first()
    return domain.agency if domain else None


def agency_by_slug(slug: str) -> Agency | None:
    return Agency.objects.filter(slug=slug).first()


def site_settings_get(*, agency: Agency) -> SiteSettings:
    return SiteSettings.objects.get(agency=agency)


def site_image_list(*, agency: Agency, kind: str | None = None):
    images = SiteImage.objects.filter(agency=agency)
    if kind:
        images = images.filter(kind=kind)
    return images.order_by("position", "id")
