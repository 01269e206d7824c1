"""Success stories: the consent rule, publishing, photos re-encoded before the public sees them."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.utils import timezone, translation
from PIL import Image

from apps.agencies.context import agency_context
from apps.appointments import services
from apps.appointments.models import StoryPhoto, SuccessStory
from apps.members.models import Member
from tests.appointments.factories import served_member, service_team
from tests.conftest import image_bytes
from tests.finance.factories import member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def team(agency):
    return service_team(agency)


@pytest.fixture
def couple(agency, team):
    return served_member(agency, team, name="王小明"), served_member(agency, team, name="李晓雨")


def write(agency, team, couple, *, consent_a=False, consent_b=False, actor=None):
    with agency_context(agency):
        return services.story_create(
            agency=agency, actor=actor or team["matchmaker"], member_a=couple[0], member_b=couple[1],
            title="相识三个月后订婚", text="两人在一次约见中相识……", story_date=datetime.date(2026, 10, 1),
            consent_a=consent_a, consent_b=consent_b,
        )  # fmt: skip


def publish(agency, actor, story):
    with agency_context(agency):
        return services.story_publish(agency=agency, actor=actor, story=story)


def update(agency, actor, story, **changes):
    fields = {f: getattr(story, f) for f in ("title", "text", "story_date", "consent_a", "consent_b")}
    with agency_context(agency):
        return services.story_update(agency=agency, actor=actor, story=story, **{**fields, **changes})


def test_a_story_is_published_only_when_both_members_consented(agency, team, couple):
    story = write(agency, team, couple, consent_a=True)
    assert story.consent_a_by == team["matchmaker"] and story.consent_a_at is not None
    assert story.consent_b_by is None
    with pytest.raises(ValidationError, match="Both members must agree"):
        publish(agency, team["publisher"], story)
    story = update(agency, team["matchmaker"], story, consent_b=True)
    published = publish(agency, team["publisher"], story)
    assert published.is_published and published.published_by == team["publisher"]
    assert set(Member.unscoped.filter(pk__in=[m.pk for m in couple]).values_list("status", flat=True)) == {"success"}


def test_publishing_needs_the_audit_right(agency, team, couple):
    story = write(agency, team, couple, consent_a=True, consent_b=True)
    with pytest.raises(PermissionDenied):
        publish(agency, team["matchmaker"], story)
    story.refresh_from_db()
    assert not story.is_published
    assert Member.unscoped.get(pk=couple[0].pk).status == "in_service"


def test_withdrawn_consent_takes_a_published_story_off_the_site(agency, team, couple):
    story = publish(agency, team["publisher"], write(agency, team, couple, consent_a=True, consent_b=True))
    story = update(agency, team["matchmaker"], story, consent_a=False)
    assert not story.is_published and story.consent_a_by is None


def test_publish_and_unpublish_refuse_the_state_they_are_in(agency, team, couple):
    story = write(agency, team, couple, consent_a=True, consent_b=True)
    with agency_context(agency), pytest.raises(ValidationError, match="not published"):
        services.story_unpublish(agency=agency, actor=team["publisher"], story=story)
    publish(agency, team["publisher"], story)
    with pytest.raises(ValidationError, match="published already"):
        publish(agency, team["publisher"], story)
    with agency_context(agency):
        services.story_unpublish(agency=agency, actor=team["publisher"], story=story)
    story.refresh_from_db()
    assert not story.is_published and story.published_at is None
    assert Member.unscoped.get(pk=couple[0].pk).status == "success"  # still a couple


def test_the_database_refuses_a_published_story_without_consent(agency, team, couple):
    story = write(agency, team, couple, consent_a=True)
    with pytest.raises(IntegrityError):
        SuccessStory.unscoped.filter(pk=story.pk).update(is_published=True)


def test_a_story_needs_a_title_text_a_past_date_and_a_visible_member(agency, team, couple):
    with agency_context(agency):
        kwargs = {"agency": agency, "actor": team["matchmaker"], "member_a": couple[0], "member_b": couple[1],
                  "title": "标题", "text": "故事", "story_date": datetime.date(2026, 1, 1)}  # fmt: skip
        with pytest.raises(ValidationError, match="title"):
            services.story_create(**{**kwargs, "title": " "})
        with pytest.raises(ValidationError, match="cannot be in the future"):
            services.story_create(**{**kwargs, "story_date": timezone.localdate() + datetime.timedelta(days=2)})
        hidden = (member(agency, team["manager"]), member(agency, team["manager"]))
        with pytest.raises(PermissionDenied):
            services.story_create(**{**kwargs, "member_a": hidden[0], "member_b": hidden[1]})
    assert not SuccessStory.unscoped.exists()


def exif_jpeg() -> bytes:
    image = Image.new("RGB", (2400, 1200), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    output = io.BytesIO()
    image.save(output, "JPEG", exif=exif.tobytes())
    return output.getvalue()


def test_photos_are_reencoded_without_exif_and_limited_in_number(
    agency, team, couple, django_capture_on_commit_callbacks
):
    story = write(agency, team, couple)
    with agency_context(agency), django_capture_on_commit_callbacks(execute=True):
        photos = services.story_photos_add(agency=agency, actor=team["matchmaker"], story=story, images=[
            SimpleUploadedFile("a.jpg", exif_jpeg(), content_type="image/jpeg"),
            SimpleUploadedFile("b.png", image_bytes(), content_type="image/png"),
        ])  # fmt: skip
    assert len(photos) == 2
    stored = StoryPhoto.unscoped.get(pk=photos[0].pk)
    assert stored.optimized  # the task ran (eagerly) once the upload committed
    with stored.image.open("rb") as handle, Image.open(handle) as image:
        assert not image.getexif() and max(image.size) == 1920
    with agency_context(agency), pytest.raises(ValidationError, match="at most 12 photos"):
        services.story_photos_add(agency=agency, actor=team["matchmaker"], story=story, images=[
            SimpleUploadedFile(f"{n}.png", image_bytes(), content_type="image/png") for n in range(11)
        ])  # fmt: skip
    assert StoryPhoto.unscoped.filter(story=story).count() == 2


def test_a_file_that_is_not_an_image_is_refused(agency, team, couple):
    story = write(agency, team, couple)
    with agency_context(agency), pytest.raises(ValidationError, match="not an image"):
        fake = SimpleUploadedFile("x.jpg", b"<?php echo 1;", content_type="image/jpeg")
        services.story_photos_add(agency=agency, actor=team["matchmaker"], story=story, images=[fake])
    assert not StoryPhoto.unscoped.exists()
