"""Checks for uploaded images: the content must be a real image of an allowed type and size.

The file name and the browser's content type are not trusted; Pillow reads the bytes.
"""

import uuid
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

MAX_IMAGE_BYTES = 5 * 1024 * 1024
ALLOWED_IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
MAX_IMAGE_PIXELS = 40_000_000


def validate_image_upload(upload) -> None:
    if upload.size > MAX_IMAGE_BYTES:
        raise ValidationError(
            _("The image is %(size)s; the limit is %(limit)s. Please upload a smaller image.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(MAX_IMAGE_BYTES)},
            code="image_too_large",
        )
    position = upload.tell() if hasattr(upload, "tell") else 0
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            _("This file is not an image we can read. Please upload a JPEG, PNG, GIF or WebP image."),
            code="invalid_image",
        ) from None
    finally:
        upload.seek(position)
    if image_format not in ALLOWED_IMAGE_FORMATS:
        raise ValidationError(
            _("%(format)s images are not accepted. Please upload a JPEG, PNG, GIF or WebP image.")
            % {"format": image_format},
            code="image_type",
        )
    if width * height > MAX_IMAGE_PIXELS:
        raise ValidationError(
            _("The image is %(width)s×%(height)s pixels, which is too large. Please resize it.")
            % {"width": width, "height": height},
            code="image_dimensions",
        )


def random_upload_name(folder: str, original_name: str) -> str:
    """Store under an unguessable name; keep only a lower-case extension."""
    suffix = PurePosixPath(original_name).suffix.lower()[:6]
    return f"{folder}/{uuid.uuid4().hex}{suffix}"
