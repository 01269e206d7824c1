"""Upload checks: validate_image_upload trusts the bytes (not the name) and random_upload_name hides the name."""

import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from apps.core.uploads import MAX_IMAGE_BYTES, random_upload_name, validate_image_upload
from tests.conftest import image_bytes


def upload(data: bytes, name: str = "photo.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def rejection(upload_file) -> ValidationError:
    """The ValidationError raised for `upload_file`, with its message rendered in English."""
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        validate_image_upload(upload_file)
    return excinfo.value


# --- accepted images -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("JPEG", "photo.jpg"), ("PNG", "photo.png"), ("GIF", "photo.gif"), ("WEBP", "photo.webp")],
)
def test_jpeg_png_gif_and_webp_images_are_accepted(fmt, name):
    validate_image_upload(upload(image_bytes(fmt), name=name))


def test_an_image_of_exactly_the_size_limit_is_accepted():
    data = image_bytes("PNG")
    data += b"\0" * (MAX_IMAGE_BYTES - len(data))  # trailing bytes after IEND; Pillow ignores them
    assert len(data) == MAX_IMAGE_BYTES
    validate_image_upload(upload(data))


def test_the_file_name_does_not_matter_for_a_real_image():
    validate_image_upload(upload(image_bytes("JPEG"), name="banner.txt", content_type="text/plain"))


def test_validation_leaves_the_read_position_where_it_was():
    """Later readers (the storage saving the file) must not get a half-read upload."""
    file = upload(image_bytes("PNG"))
    file.seek(7)
    validate_image_upload(file)
    assert file.tell() == 7


def test_validation_reads_from_the_start_even_if_the_upload_was_read_before():
    file = upload(image_bytes("PNG"))
    file.read()
    validate_image_upload(file)
    assert file.tell() == len(image_bytes("PNG"))


# --- rejections, each with a message that says what to do -----------------------------------------


def test_a_file_over_5_mb_is_rejected_with_its_size_and_the_limit():
    data = image_bytes("PNG") + b"\0" * (6 * 1024 * 1024)
    error = rejection(upload(data))
    assert error.code == "image_too_large"
    # filesizeformat joins number and unit with a no-break space.
    assert error.messages == ["The image is 6.0\xa0MB; the limit is 5.0\xa0MB. Please upload a smaller image."]


def test_one_byte_over_the_limit_is_rejected():
    data = image_bytes("PNG")
    data += b"\0" * (MAX_IMAGE_BYTES + 1 - len(data))
    assert rejection(upload(data)).code == "image_too_large"


def test_a_text_file_renamed_png_is_rejected():
    error = rejection(upload(b"<?php system($_GET['c']); ?>", name="logo.png"))
    assert error.code == "invalid_image"
    assert error.messages == ["This file is not an image we can read. Please upload a JPEG, PNG, GIF or WebP image."]


def test_an_empty_file_is_rejected():
    assert rejection(upload(b"", name="empty.png")).code == "invalid_image"


def test_a_truncated_image_is_rejected():
    data = image_bytes("PNG", size=(200, 200))
    error = rejection(upload(data[: len(data) // 2]))
    assert error.code == "invalid_image"
    assert "not an image we can read" in error.messages[0]


def test_an_svg_is_rejected():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    error = rejection(upload(svg, name="logo.svg", content_type="image/svg+xml"))
    assert error.code == "invalid_image"


@pytest.mark.parametrize(("fmt", "name"), [("BMP", "photo.bmp"), ("TIFF", "photo.tiff"), ("ICO", "favicon.ico")])
def test_other_image_formats_are_rejected_with_the_format_named(fmt, name):
    error = rejection(upload(image_bytes(fmt), name=name))
    assert error.code == "image_type"
    assert error.messages == [f"{fmt} images are not accepted. Please upload a JPEG, PNG, GIF or WebP image."]


def test_a_bmp_renamed_jpg_is_still_rejected_as_bmp():
    error = rejection(upload(image_bytes("BMP"), name="photo.jpg", content_type="image/jpeg"))
    assert error.code == "image_type"
    assert error.messages[0].startswith("BMP images are not accepted.")


def _png_of(size) -> bytes:
    # Mode "1" keeps memory small; a blank PNG compresses to a few kilobytes.
    output = io.BytesIO()
    Image.new("1", size).save(output, "PNG")
    return output.getvalue()


def test_an_image_with_too_many_pixels_is_rejected():
    data = _png_of((8000, 6000))  # 48 megapixels: over the 40 MP limit, under Pillow's bomb warning
    assert len(data) < MAX_IMAGE_BYTES
    error = rejection(upload(data))
    assert error.code == "image_dimensions"
    assert error.messages == ["The image is 8000×6000 pixels, which is too large. Please resize it."]


def test_a_decompression_bomb_is_rejected_as_unreadable():
    data = _png_of((14000, 14000))  # ~196 MP: Pillow refuses to open it at all
    assert len(data) < MAX_IMAGE_BYTES
    error = rejection(upload(data))
    assert error.code == "invalid_image"


def test_rejection_messages_are_translated_to_chinese():
    with translation.override("zh-hans"), pytest.raises(ValidationError) as excinfo:
        validate_image_upload(upload(image_bytes("BMP"), name="photo.bmp"))
    message = excinfo.value.messages[0]
    assert "BMP" in message
    assert "not accepted" not in message


# --- random_upload_name --------------------------------------------------------------------------------


def test_random_upload_name_keeps_the_folder_and_a_lower_case_extension():
    name = random_upload_name("agencies/7/site", "我的 Logo.PNG")
    assert re.fullmatch(r"agencies/7/site/[0-9a-f]{32}\.png", name)


def test_random_upload_name_drops_the_original_name():
    name = random_upload_name("agencies/7/site", "张三-身份证-330102199001011234.jpg")
    assert "张三" not in name
    assert "330102" not in name
    assert name.endswith(".jpg")


def test_random_upload_names_are_unguessable_and_unique():
    names = {random_upload_name("f", "a.png") for _ in range(200)}
    assert len(names) == 200


def test_random_upload_name_without_an_extension_has_none():
    assert re.fullmatch(r"f/[0-9a-f]{32}", random_upload_name("f", "README"))


def test_random_upload_name_ignores_directories_in_the_original_name():
    for original in ["../../etc/passwd.png", "/abs/path/x.gif", "sub/dir/photo.jpeg"]:
        name = random_upload_name("agencies/1/site", original)
        assert re.fullmatch(r"agencies/1/site/[0-9a-f]{32}\.(png|gif|jpeg)", name), name
        assert ".." not in name


def test_random_upload_name_truncates_a_very_long_extension():
    name = random_upload_name("f", "x." + "a" * 50)
    assert re.fullmatch(r"f/[0-9a-f]{32}\.aaaaa", name)


def test_random_upload_name_uses_only_the_last_extension():
    assert random_upload_name("f", "shell.php.png").endswith(".png")
    assert ".php" not in random_upload_name("f", "shell.php.png")
