from celery import shared_task

from apps.core.images import reencode_image
from apps.core.tasks import TenantTask

from .models import StoryPhoto


@shared_task(base=TenantTask)
def story_photos_optimize(*, agency_id: int) -> int:
    """Strip EXIF/GPS data from, and downsize, the agency's story photos not processed yet.

    Runs in the agency's scope, so it only ever sees that agency's files. A photo counts as done
    (and appears on the public site) once its file has been rewritten, or found to need no change.
    """
    processed = 0
    for photo in StoryPhoto.objects.filter(optimized=False):
        storage, name = photo.image.storage, photo.image.name
        if not storage.exists(name):
            continue
        with storage.open(name, "rb") as handle:
            cleaned = reencode_image(handle.read())
        if cleaned is not None:
            with storage.open(name, "wb") as handle:
                handle.write(cleaned)
        StoryPhoto.objects.filter(pk=photo.pk, image=name).update(optimized=True)
        processed += 1
    return processed
