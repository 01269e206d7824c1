"""State changes of agencies and their public-site settings."""

import nh3
from django.db import transaction
from django.db.models.fields.files import FieldFile

from apps.matchmakers.services import roles_create_defaults
from apps.members.services import tags_create_defaults

from .models import REGISTRATION_FIELD_CHOICES, Agency, SiteImage, SiteSettings
from .tasks import site_images_optimize

SHOWCASE_CHANNELS = ("showcase_phone", "showcase_wechat", "showcase_qq", "showcase_email")
ABOUT_ALLOWED_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "h3", "h4", "a", "blockquote"}


def sanitize_about_html(text: str) -> str:
    """Keep basic formatting of the "about us" text; drop scripts, styles and event handlers."""
    return nh3.clean(text, tags=ABOUT_ALLOWED_TAGS, attributes={"a": {"href", "title"}}, link_rel="noopener nofollow")


@transaction.atomic
def agency_setup(*, agency: Agency) -> None:
    """Create what every agency needs to work; safe to run again on an existing agency."""
    SiteSettings.unscoped.get_or_create(agency=agency, defaults={"site_name": agency.name})
    roles_create_defaults(agency=agency)
    tags_create_defaults(agency=agency)


@transaction.atomic
def agency_create(*, slug: str, name: str, status: str = Agency.Status.ACTIVE) -> Agency:
    agency = Agency(slug=slug, name=name, status=status)
    agency.full_clean()
    agency.save()
    agency_setup(agency=agency)
    return agency


def agency_set_status(*, agency: Agency, status: str) -> Agency:
    agency.status = status
    agency.save(update_fields=["status"])
    return agency


def _schedule_image_optimisation(agency: Agency) -> None:
    transaction.on_commit(lambda: site_images_optimize.delay(agency_id=agency.pk))


def _logo_changed(stored: FieldFile, submitted) -> bool:
    """A form hands back the stored FieldFile when untouched, False when cleared, or a new upload."""
    if isinstance(submitted, FieldFile):
        return submitted.name != stored.name
    if not submitted:
        return bool(stored)
    return True


def _apply_registration_fields(site_settings: SiteSettings, data: dict) -> None:
    """Keep known field names in display order; a required field is always shown too."""
    known = [name for name, _label in REGISTRATION_FIELD_CHOICES]
    if "registration_required" in data:
        wanted = set(data["registration_required"] or ())
        site_settings.registration_required = [name for name in known if name in wanted]
    if "registration_fields" in data:
        wanted = set(data["registration_fields"] or ())
        site_settings.registration_fields = [name for name in known if name in wanted]
    shown = set(site_settings.registration_fields) | set(site_settings.registration_required)
    site_settings.registration_fields = [name for name in known if name in shown]


@transaction.atomic
def site_settings_update(*, agency: Agency, data: dict) -> SiteSettings:
    """Apply validated form data (site name, logo, phone, address, about) to the agency's site.

    The row is re-read under a lock rather than taken from the caller, because a bound ModelForm
    has already written the submitted values onto its instance and the stored logo must be known
    to replace it.
    """
    site_settings = SiteSettings.objects.select_for_update().get(agency=agency)
    logo_changed = "logo" in data and _logo_changed(site_settings.logo, data["logo"])
    old_logo = site_settings.logo.name if logo_changed else ""
    for field in ("site_name", "phone", "address"):
        if field in data:
            setattr(site_settings, field, data[field] or "")
    for field in SHOWCASE_CHANNELS:
        if field in data:
            setattr(site_settings, field, bool(data[field]))
    if "about" in data:
        site_settings.about = sanitize_about_html(data["about"] or "")
    _apply_registration_fields(site_settings, data)
    if logo_changed:
        site_settings.logo = data["logo"] or ""
        site_settings.logo_optimized = False
    site_settings.save()
    if old_logo:
        storage = site_settings.logo.storage
        transaction.on_commit(lambda: storage.delete(old_logo))
    if logo_changed and site_settings.logo:
        _schedule_image_optimisation(agency)
    return site_settings


@transaction.atomic
def site_image_add(*, agency: Agency, kind: str, image, caption: str = "", link_url: str = "", position: int = 0):
    site_image = SiteImage(agency=agency, kind=kind, image=image, caption=caption, link_url=link_url, position=position)
    site_image.full_clean()
    site_image.save()
    _schedule_image_optimisation(agency)
    return site_image


@transaction.atomic
def site_image_delete(*, agency: Agency, site_image: SiteImage) -> None:
    if site_image.agency_id != agency.pk:
        raise ValueError("site image of another agency")
    name, storage = site_image.image.name, site_image.image.storage
    site_image.delete()
    transaction.on_commit(lambda: storage.delete(name))
