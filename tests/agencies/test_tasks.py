"""Agency tasks through a real Celery worker process on Redis, in the agency's scope."""

import io
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection
from django_scopes import ScopeError
from PIL import Image

from apps.agencies.context import agency_context
from apps.agencies.models import SiteImage
from apps.agencies.tasks import site_images_optimize
from matchcrm.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def _jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (120.0, 10.0, 0.0)}  # GPS IFD
    output = io.BytesIO()
    Image.new("RGB", (2400, 1200), (220, 80, 120)).save(output, "JPEG", exif=exif)
    return output.getvalue()


def _database_url_of_test_db() -> str:
    db = connection.settings_dict
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{host}{port}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(settings, tmp_path):
    """A real `celery worker` process on its own queue, using the test database and media folder."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url_of_test_db(),
        "REDIS_URL": settings.REDIS_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    log = tmp_path / "worker.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "matchcrm",
                "worker",
                "--pool=solo",
                "-Q",
                queue,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the Celery worker did not start:\n{log.read_text()}")
        time.sleep(0.2)
    celery_app.conf.task_always_eager = False
    yield queue
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_image_task_runs_in_a_real_worker_inside_the_agencys_scope(agency, other_agency, celery_worker_process):
    mine = SiteImage.unscoped.create(
        agency=agency, kind=SiteImage.Kind.BANNER, image=ContentFile(_jpeg_with_gps(), name="agencies/x/mine.jpg")
    )
    theirs = SiteImage.unscoped.create(
        agency=other_agency, kind=SiteImage.Kind.BANNER, image=ContentFile(_jpeg_with_gps(), name="agencies/y/t.jpg")
    )

    result = site_images_optimize.apply_async(kwargs={"agency_id": agency.pk}, queue=celery_worker_process)

    assert result.get(timeout=60) == {"agency": "anhe", "processed": 1}
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.optimized is True
    assert theirs.optimized is False  # the worker saw only the agency it was given
    with Image.open(Path(settings.MEDIA_ROOT) / mine.image.name) as cleaned:
        assert dict(cleaned.getexif()) == {}
        assert max(cleaned.size) == 1920
    with Image.open(Path(settings.MEDIA_ROOT) / theirs.image.name) as untouched:
        assert untouched.getexif().get(0x010F) == "PhoneMaker"


@pytest.mark.django_db
def test_tenant_task_requires_an_agency():
    with pytest.raises(TypeError, match="agency_id"):
        site_images_optimize.apply().get()


@pytest.mark.django_db
def test_tenant_task_skips_a_suspended_agency(agency):
    agency.status = agency.Status.SUSPENDED
    agency.save()
    assert site_images_optimize.apply(kwargs={"agency_id": agency.pk}).get() is None


@pytest.mark.django_db
def test_tenant_task_leaves_no_scope_behind(agency):
    assert site_images_optimize.apply(kwargs={"agency_id": agency.pk}).get() == {"agency": "anhe", "processed": 0}
    with agency_context(agency):
        assert SiteImage.objects.count() == 0
    with pytest.raises(ScopeError):
        SiteImage.objects.count()


@pytest.mark.django_db
def test_uploaded_member_photo_loses_its_gps_position(agency, settings, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.members.models import Member, MemberPhoto
    from apps.members.services import member_photo_add
    from tests.matchmakers.factories import UserFactory

    user = UserFactory(agency=agency, perms=["matchmakers.view_members", "matchmakers.edit_members"])
    member = Member.unscoped.create(agency=agency, member_no="M1", name="甲", gender="female", phone="13800000001",
                                    presale_owner=user)  # fmt: skip
    with agency_context(agency), django_capture_on_commit_callbacks(execute=True):
        member_photo_add(
            agency=agency, actor=user, member=member,
            image=SimpleUploadedFile("me.jpg", _jpeg_with_gps(), "image/jpeg"),
        )  # fmt: skip
    photo = MemberPhoto.unscoped.get(member=member)
    with Image.open(photo.image.path) as stored:
        assert dict(stored.getexif()) == {}
