"""The back-office site settings page (F-A1), its banner/ad images, and the public home page it feeds."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from apps.agencies.models import SiteImage, SiteSettings
from tests.conftest import agency_client, image_bytes

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/staff/settings/site/"
IMAGE_ADD_URL = "/staff/settings/site/images/"

VALID_POST = {
    "site_name": "安和婚恋 · 杭州",
    "phone": "0571-88886666",
    "address": "杭州市西湖区文三路 100 号",
    "about": "<p>十年专注<strong>真诚婚恋</strong>服务。</p>",
}


def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def upload(data: bytes, name: str = "logo.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def make_image(agency, kind="banner", caption="", position=0, fmt="PNG") -> SiteImage:
    """A stored banner or advertisement with a real file under MEDIA_ROOT."""
    return SiteImage.unscoped.create(
        agency=agency,
        kind=kind,
        caption=caption,
        position=position,
        image=ContentFile(image_bytes(fmt), name=f"agencies/{agency.pk}/site/{kind}{position}.{fmt.lower()}"),
    )


def settings_row(agency) -> dict:
    """Everything stored for the agency's site settings, to compare before and after a request."""
    return SiteSettings.unscoped.filter(agency=agency).values().get()


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (120.0, 10.0, 0.0)}  # GPS IFD
    output = io.BytesIO()
    Image.new("RGB", (320, 200), (220, 80, 120)).save(output, "JPEG", exif=exif)
    return output.getvalue()


# --- viewing and saving ----------------------------------------------------------------------------


def test_settings_page_shows_the_current_settings(agency, site_admin):
    SiteSettings.unscoped.filter(agency=agency).update(phone="0571-12345678", address="文三路 1 号")
    make_image(agency, "banner", caption="春季相亲会")
    make_image(agency, "ad", caption="会员八折")
    response = english(agency_client(agency, site_admin)).get(SETTINGS_URL)
    assert response.status_code == 200
    assert "Site settings" in response.text
    assert 'value="安和婚恋"' in response.text
    assert "0571-12345678" in response.text
    assert "文三路 1 号" in response.text
    assert "春季相亲会" in response.text
    assert "会员八折" in response.text


def test_settings_page_needs_a_login(agency):
    response = agency_client(agency).get(SETTINGS_URL)
    assert response.status_code == 302
    assert response["Location"] == f"/staff/login/?next={SETTINGS_URL}"


def test_saving_the_settings_stores_name_phone_address_and_about(agency, site_admin):
    client = english(agency_client(agency, site_admin))
    response = client.post(SETTINGS_URL, VALID_POST)
    assert response.status_code == 302
    assert response["Location"] == SETTINGS_URL
    row = settings_row(agency)
    assert row["site_name"] == "安和婚恋 · 杭州"
    assert row["phone"] == "0571-88886666"
    assert row["address"] == "杭州市西湖区文三路 100 号"
    assert row["about"] == "<p>十年专注<strong>真诚婚恋</strong>服务。</p>"
    assert "The site settings have been saved." in client.get(SETTINGS_URL).text


def test_saving_the_settings_under_the_path_prefix_redirects_under_it(agency, site_admin):
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(site_admin)
    response = client.post(f"/a/anhe{SETTINGS_URL}", VALID_POST)
    assert response.status_code == 302
    assert response["Location"] == f"/a/anhe{SETTINGS_URL}"
    assert settings_row(agency)["site_name"] == "安和婚恋 · 杭州"


def test_about_html_is_sanitised_on_save(agency, site_admin):
    about = (
        '<p>Hi <strong>bold</strong><script>alert("xss")</script>'
        '<a href="https://anhe.example.cn/" onclick="steal()">link</a>'
        '<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">js</a></p>'
    )
    response = agency_client(agency, site_admin).post(SETTINGS_URL, {**VALID_POST, "about": about})
    assert response.status_code == 302
    saved = settings_row(agency)["about"]
    assert "<strong>bold</strong>" in saved
    assert '<a href="https://anhe.example.cn/"' in saved
    for dangerous in ("<script", "alert", "onclick", "onerror", "<img", "javascript:"):
        assert dangerous not in saved, dangerous
    home = agency_client(agency).get("/")
    assert "<strong>bold</strong>" in home.text
    assert "steal()" not in home.text
    assert 'alert("xss")' not in home.text


def test_clearing_the_optional_fields_is_allowed(agency, site_admin):
    SiteSettings.unscoped.filter(agency=agency).update(phone="0571-12345678", address="文三路", about="<p>x</p>")
    response = agency_client(agency, site_admin).post(
        SETTINGS_URL, {"site_name": "安和", "phone": "", "address": "", "about": ""}
    )
    assert response.status_code == 302
    row = settings_row(agency)
    assert (row["site_name"], row["phone"], row["address"], row["about"]) == ("安和", "", "", "")


def test_logo_upload_stores_the_file(agency, site_admin):
    response = agency_client(agency, site_admin).post(SETTINGS_URL, {**VALID_POST, "logo": upload(image_bytes("PNG"))})
    assert response.status_code == 302
    logo = settings_row(agency)["logo"]
    assert logo.startswith(f"agencies/{agency.pk}/site/")
    assert logo.endswith(".png")
    assert "logo" not in Path(logo).name  # stored under a random name, not the uploaded one
    assert (Path(settings.MEDIA_ROOT) / logo).read_bytes() == image_bytes("PNG")
    home = agency_client(agency).get("/")
    assert f'src="/media/{logo}"' in home.text


def test_replacing_the_logo_deletes_the_old_file(agency, site_admin, django_capture_on_commit_callbacks):
    client = agency_client(agency, site_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(SETTINGS_URL, {**VALID_POST, "logo": upload(image_bytes("PNG"), name="first.png")})
    first = Path(settings.MEDIA_ROOT) / settings_row(agency)["logo"]
    assert first.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SETTINGS_URL, {**VALID_POST, "logo": upload(image_bytes("JPEG"), name="second.jpg")})
    assert response.status_code == 302
    second = Path(settings.MEDIA_ROOT) / settings_row(agency)["logo"]
    assert second != first
    assert second.exists()
    assert not first.exists(), "the replaced logo is left behind on storage"


def test_clearing_the_logo_deletes_its_file(agency, site_admin, django_capture_on_commit_callbacks):
    client = agency_client(agency, site_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(SETTINGS_URL, {**VALID_POST, "logo": upload(image_bytes("PNG"))})
    stored = Path(settings.MEDIA_ROOT) / settings_row(agency)["logo"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SETTINGS_URL, {**VALID_POST, "logo-clear": "on"})
    assert response.status_code == 302
    assert settings_row(agency)["logo"] == ""
    assert not stored.exists(), "the cleared logo is left behind on storage"


def test_uploaded_logo_is_stripped_of_location_metadata(agency, site_admin, django_capture_on_commit_callbacks):
    """Public images must not publish where a phone photo was taken (the optimisation task runs)."""
    client = agency_client(agency, site_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SETTINGS_URL, {**VALID_POST, "logo": upload(jpeg_with_gps(), name="logo.jpg")})
    assert response.status_code == 302
    row = settings_row(agency)
    with Image.open(Path(settings.MEDIA_ROOT) / row["logo"]) as stored:
        assert 0x8825 not in stored.getexif(), "the uploaded logo still carries GPS data"
    assert row["logo_optimized"] is True


def test_saving_without_a_new_logo_keeps_the_current_one(agency, site_admin):
    client = agency_client(agency, site_admin)
    client.post(SETTINGS_URL, {**VALID_POST, "logo": upload(image_bytes("PNG"))})
    logo = settings_row(agency)["logo"]
    client.post(SETTINGS_URL, {**VALID_POST, "site_name": "新名字"})
    row = settings_row(agency)
    assert row["site_name"] == "新名字"
    assert row["logo"] == logo


# --- bad input: 400, a clear message, nothing saved ----------------------------------------------


def _post_bad(agency, site_admin, data):
    before = settings_row(agency)
    files_before = stored_files()
    response = english(agency_client(agency, site_admin)).post(SETTINGS_URL, data)
    assert response.status_code == 400
    assert "Nothing was saved. Please correct the fields marked below." in response.text
    assert settings_row(agency) == before, "a rejected post changed the stored settings"
    assert stored_files() == files_before, "a rejected post stored a file"
    return response


def test_bad_phone_is_refused_and_nothing_is_saved(agency, site_admin):
    response = _post_bad(agency, site_admin, {**VALID_POST, "phone": "call me maybe!"})
    assert "Enter a phone number using digits, spaces, +, - or brackets, such as 0571-88886666." in response.text
    # The form keeps what was typed so it can be corrected.
    assert "call me maybe!" in response.text


def test_missing_site_name_is_refused(agency, site_admin):
    response = _post_bad(agency, site_admin, {**VALID_POST, "site_name": ""})
    assert "This field is required." in response.text


def test_bad_input_message_is_in_chinese_by_default(agency, site_admin):
    response = agency_client(agency, site_admin).post(SETTINGS_URL, {**VALID_POST, "phone": "abc"})
    assert response.status_code == 400
    assert "未保存任何内容" in response.text


def test_a_text_file_renamed_png_is_refused_as_logo(agency, site_admin):
    response = _post_bad(agency, site_admin, {**VALID_POST, "logo": upload(b"MZ\x90\x00 definitely not a PNG")})
    assert "Upload a valid image." in response.text


@pytest.mark.parametrize(("fmt", "name"), [("BMP", "logo.bmp"), ("TIFF", "logo.tiff")])
def test_bmp_and_tiff_logos_are_refused(agency, site_admin, fmt, name):
    response = _post_bad(agency, site_admin, {**VALID_POST, "logo": upload(image_bytes(fmt), name=name)})
    assert f"{fmt} images are not accepted. Please upload a JPEG, PNG, GIF or WebP image." in response.text


def test_a_logo_over_5_mb_is_refused(agency, site_admin):
    big = image_bytes("PNG") + b"\0" * (6 * 1024 * 1024)
    response = _post_bad(agency, site_admin, {**VALID_POST, "logo": upload(big)})
    assert "The image is 6.0\xa0MB; the limit is 5.0\xa0MB. Please upload a smaller image." in response.text


def test_a_refused_logo_keeps_the_previous_logo(agency, site_admin):
    client = agency_client(agency, site_admin)
    client.post(SETTINGS_URL, {**VALID_POST, "logo": upload(image_bytes("PNG"))})
    _post_bad(agency, site_admin, {**VALID_POST, "site_name": "改名", "logo": upload(image_bytes("BMP"), name="x.bmp")})
    assert settings_row(agency)["site_name"] == VALID_POST["site_name"]


# --- other agencies and roles --------------------------------------------------------------------


def test_user_of_another_agency_gets_no_access_and_sees_nothing(agency, other_agency, other_admin):
    SiteSettings.unscoped.filter(agency=agency).update(phone="0571-12345678", address="文三路 1 号")
    image = make_image(agency, "banner", caption="春季相亲会")
    before = settings_row(agency)
    client = agency_client(agency, other_admin)  # yuelao's admin's session, carried to anhe

    for method, path, data in [
        ("get", SETTINGS_URL, None),
        ("post", SETTINGS_URL, VALID_POST),
        ("post", IMAGE_ADD_URL, {"kind": "banner", "image": upload(image_bytes())}),
        ("post", f"/staff/settings/site/images/{image.pk}/delete/", {}),
    ]:
        response = getattr(client, method)(path, data) if data is not None else client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/staff/login/?next="), path
        for secret in ("0571-12345678", "文三路", "春季相亲会"):
            assert secret not in response.text

    assert settings_row(agency) == before
    assert SiteImage.unscoped.filter(agency=agency).count() == 1
    assert SiteImage.unscoped.filter(pk=image.pk).exists()


def test_deleting_another_agencys_image_answers_not_found(agency, other_agency, other_admin):
    image = make_image(agency, "banner", caption="安和的横幅")
    client = agency_client(other_agency, other_admin)
    response = client.post(f"/staff/settings/site/images/{image.pk}/delete/")
    assert response.status_code == 404
    assert SiteImage.unscoped.filter(pk=image.pk).exists()
    assert (Path(settings.MEDIA_ROOT) / image.image.name).exists()


def test_settings_page_of_one_agency_never_lists_another_agencys_images(agency, other_agency, other_admin):
    make_image(agency, "banner", caption="安和的横幅")
    make_image(other_agency, "banner", caption="月老的横幅")
    response = agency_client(other_agency, other_admin).get(SETTINGS_URL)
    assert response.status_code == 200
    assert "月老的横幅" in response.text
    assert "安和的横幅" not in response.text
    assert 'value="月老婚介"' in response.text


def test_staff_without_the_permission_get_403_everywhere_and_nothing_changes(agency, plain_staff):
    image = make_image(agency, "ad", caption="会员八折")
    before = settings_row(agency)
    client = english(agency_client(agency, plain_staff))

    responses = {
        "GET settings": client.get(SETTINGS_URL),
        "POST settings": client.post(SETTINGS_URL, {**VALID_POST, "logo": upload(image_bytes())}),
        "add image": client.post(IMAGE_ADD_URL, {"kind": "banner", "image": upload(image_bytes())}),
        "delete image": client.post(f"/staff/settings/site/images/{image.pk}/delete/"),
    }
    for what, response in responses.items():
        assert response.status_code == 403, what
        assert "You are not allowed to open this page" in response.text, what
    assert settings_row(agency) == before
    assert list(SiteImage.unscoped.filter(agency=agency)) == [image]
    assert (Path(settings.MEDIA_ROOT) / image.image.name).exists()


def test_staff_without_the_permission_do_not_see_the_settings_link(agency, plain_staff, site_admin):
    assert SETTINGS_URL not in agency_client(agency, plain_staff).get("/staff/").text
    assert SETTINGS_URL in agency_client(agency, site_admin).get("/staff/").text


# --- banners and advertisements ------------------------------------------------------------------


def test_adding_a_banner_stores_it(agency, site_admin):
    client = english(agency_client(agency, site_admin))
    response = client.post(
        IMAGE_ADD_URL,
        {
            "kind": "banner",
            "image": upload(image_bytes("JPEG"), name="Spring Party.JPG", content_type="image/jpeg"),
            "caption": "春季相亲会",
            "link_url": "https://anhe.example.cn/events/spring",
            "position": "2",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == SETTINGS_URL
    image = SiteImage.unscoped.get(agency=agency)
    assert (image.kind, image.caption, image.link_url, image.position) == (
        "banner",
        "春季相亲会",
        "https://anhe.example.cn/events/spring",
        2,
    )
    assert image.image.name.startswith(f"agencies/{agency.pk}/site/")
    assert image.image.name.endswith(".jpg")
    assert (Path(settings.MEDIA_ROOT) / image.image.name).exists()
    page = client.get(SETTINGS_URL)
    assert "The image has been added." in page.text
    assert "春季相亲会" in page.text


def test_adding_an_advertisement_stores_it(agency, site_admin):
    response = agency_client(agency, site_admin).post(
        IMAGE_ADD_URL, {"kind": "ad", "image": upload(image_bytes("WEBP"), name="ad.webp"), "position": "0"}
    )
    assert response.status_code == 302
    assert SiteImage.unscoped.get(agency=agency).kind == "ad"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "banner", "image": ("x.bmp", "BMP")}, "BMP images are not accepted."),
        ({"kind": "banner", "image": ("x.png", None)}, "Upload a valid image."),
        ({"kind": "banner"}, "This field is required."),
        ({"kind": "popup", "image": ("x.png", "PNG")}, "Select a valid choice."),
        ({"kind": "ad", "image": ("x.png", "PNG"), "link_url": "not a url at all"}, "Enter a valid URL."),
    ],
    ids=["bmp", "not-an-image", "no-image", "bad-kind", "bad-link"],
)
def test_adding_a_bad_image_is_refused_with_a_message(agency, site_admin, data, message):
    data = dict(data)
    if "image" in data:
        name, fmt = data["image"]
        data["image"] = upload(image_bytes(fmt) if fmt else b"plain text", name=name)
    before = settings_row(agency)
    response = english(agency_client(agency, site_admin)).post(IMAGE_ADD_URL, {"position": "0", **data})
    assert response.status_code == 400
    assert "The image was not added. Please correct the fields marked below." in response.text
    assert message in response.text
    assert not SiteImage.unscoped.filter(agency=agency).exists()
    assert settings_row(agency) == before
    assert stored_files() == []


def test_adding_an_image_needs_post(agency, site_admin):
    assert agency_client(agency, site_admin).get(IMAGE_ADD_URL).status_code == 405


def test_deleting_an_image_removes_the_row_and_the_file(agency, site_admin, django_capture_on_commit_callbacks):
    keep = make_image(agency, "banner", caption="留下", position=1)
    gone = make_image(agency, "banner", caption="删掉", position=2)
    path = Path(settings.MEDIA_ROOT) / gone.image.name
    assert path.exists()
    client = english(agency_client(agency, site_admin))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/staff/settings/site/images/{gone.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"] == SETTINGS_URL
    assert list(SiteImage.unscoped.filter(agency=agency)) == [keep]
    assert not path.exists()
    assert (Path(settings.MEDIA_ROOT) / keep.image.name).exists()
    assert "The image has been removed." in client.get(SETTINGS_URL).text


def test_deleting_a_missing_image_answers_not_found(agency, site_admin):
    assert agency_client(agency, site_admin).post("/staff/settings/site/images/999999/delete/").status_code == 404


def test_deleting_an_image_needs_post(agency, site_admin):
    image = make_image(agency)
    assert agency_client(agency, site_admin).get(f"/staff/settings/site/images/{image.pk}/delete/").status_code == 405
    assert SiteImage.unscoped.filter(pk=image.pk).exists()


# --- the public home page ------------------------------------------------------------------------


def test_home_page_shows_name_phone_address_about_banners_and_ads(agency, other_agency, site_admin):
    agency_client(agency, site_admin).post(SETTINGS_URL, VALID_POST)
    banner = make_image(agency, "banner", caption="春季相亲会", position=1)
    second_banner = make_image(agency, "banner", caption="夏日派对", position=2)
    ad = make_image(agency, "ad", caption="会员八折")
    make_image(other_agency, "banner", caption="月老的横幅")

    response = english(agency_client(agency)).get("/")
    assert response.status_code == 200
    text = response.text
    assert "安和婚恋 · 杭州" in text
    assert 'href="tel:0571-88886666"' in text
    assert "杭州市西湖区文三路 100 号" in text
    assert "<p>十年专注<strong>真诚婚恋</strong>服务。</p>" in text
    for image in (banner, second_banner, ad):
        assert f'src="{image.image.url}"' in text
    assert text.index("春季相亲会") < text.index("夏日派对")  # banners in position order
    assert "会员八折" in text
    assert "月老的横幅" not in text
    assert [b.pk for b in response.context["banners"]] == [banner.pk, second_banner.pk]
    assert [a.pk for a in response.context["ads"]] == [ad.pk]


def test_home_page_without_content_shows_placeholders(agency):
    response = english(agency_client(agency)).get("/")
    assert response.status_code == 200
    assert "安和婚恋 has not written its introduction yet." in response.text
    assert "Contact details will be published soon." in response.text


def _count_queries(client, path) -> int:
    client.get(path)  # warm up: session, content types and other one-off lookups
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def _add_images(agency, count):
    for i in range(count):
        make_image(agency, "banner" if i % 2 else "ad", caption=f"图片 {i}", position=i + 10)


def test_home_page_query_count_does_not_grow_with_images(agency, django_assert_max_num_queries):
    client = agency_client(agency)
    make_image(agency, "banner", caption="第一张")
    baseline = _count_queries(client, "/")
    _add_images(agency, 9)
    assert SiteImage.unscoped.filter(agency=agency).count() == 10
    with django_assert_max_num_queries(baseline):
        response = client.get("/")
    assert response.status_code == 200
    assert "图片 8" in response.text


def test_settings_page_query_count_does_not_grow_with_images(agency, site_admin, django_assert_max_num_queries):
    client = agency_client(agency, site_admin)
    make_image(agency, "banner", caption="第一张")
    baseline = _count_queries(client, SETTINGS_URL)
    _add_images(agency, 9)
    with django_assert_max_num_queries(baseline):
        response = client.get(SETTINGS_URL)
    assert response.status_code == 200
    assert "图片 8" in response.text
