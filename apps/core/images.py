"""Re-encode stored images so that public copies carry no EXIF/GPS data and stay web-sized."""

import io

from PIL import Image, ImageOps

MAX_EDGE = 1920


def reencode_image(data: bytes) -> bytes | None:
    """The image without metadata and at most MAX_EDGE pixels wide or high; None to keep as is."""
    with Image.open(io.BytesIO(data)) as original:
        image_format = original.format
        if image_format == "GIF":  # animations would be lost; GIF carries no EXIF anyway
            return None
        image = ImageOps.exif_transpose(original)
        image.thumbnail((MAX_EDGE, MAX_EDGE))
        output = io.BytesIO()
        if image_format == "JPEG":
            image.convert("RGB").save(output, "JPEG", quality=85, optimize=True)
        elif image_format == "PNG":
            image.save(output, "PNG", optimize=True)
        else:
            image.save(output, image_format)
        return output.getvalue()
