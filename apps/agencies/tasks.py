from celery import shared_task

from apps.agencies.context import current_agency
from apps.core.images import reencode_image
from apps.core.tasks import TenantTask

from .models import SiteImage, SiteSettings


def _reencode_stored(field_file) -> bool:
    storage = field_file.storage
    if not storage.exists(field_file.name):
        return False
    with storage.open(field_file.name, "rb") as handle:
        cleaned = reencode_image(handle.read())
    if cleaned is None:
        return False
    with storage.open(field_file.name, "wb") as handle:
        handle.write(cleaned)
    return True


@shared_task(base=TenantTask)
def site_images_optimize(*, agency_id: int) -> dict:
    """Strip metadata from, and downsize, the agency's public images not processed yet.

    Runs in the agency's scope, so it can only ever see and rewrite that agency's files. Each row
    is marked done only if its file is still the one processed (an upload may race the task).
    """
    processed = 0
    for site_image in SiteImage.objects.filter(optimized=False):
        processed += _reencode_stored(site_image.image)
        SiteImage.objects.filter(pk=site_image.pk, image=site_image.image.name).update(optimized=True)
    for site_settings in SiteSettings.objects.filter(logo_optimized=False).exclude(logo=""):
        processed += _reencode_stored(site_settings.logo)
        SiteSettings.objects.filter(pk=site_settings.pk, logo=site_settings.logo.name).update(logo_optimized=True)
    return {"agency": current_agency().slug, "processed": processed}
