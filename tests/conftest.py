import io
import uuid

import pytest
from django.test import Client
from PIL import Image

from tests.agencies.factories import AgencyFactory
from tests.matchmakers.factories import UserFactory

SITE_PERM = "matchmakers.edit_settings"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded files of a test, public and private, go to its own folders."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture(autouse=True)
def _own_cache_namespace(settings):
    """Each test gets its own Redis key prefix: cached data never leaks between tests or test runs."""
    default = settings.CACHES["default"]
    settings.CACHES = {**settings.CACHES, "default": {**default, "KEY_PREFIX": f"t-{uuid.uuid4().hex}"}}


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Passwords are still checked for real, just with a cheap hash; the factories' hash is too."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _eager_tasks(settings):
    """Tasks queued by services run inline in tests, unless a test uses the real worker."""
    from matchcrm.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def agency(db):
    return AgencyFactory(slug="anhe", name="安和婚恋")


@pytest.fixture
def other_agency(db):
    return AgencyFactory(slug="yuelao", name="月老婚介")


def agency_client(agency, user=None) -> Client:
    """A browser on the agency's own host (<slug>.localhost), logged in as `user` if given."""
    client = Client(HTTP_HOST=f"{agency.slug}.localhost")
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def site_admin(agency):
    return UserFactory(agency=agency, username="admin", perms=[SITE_PERM])


@pytest.fixture
def plain_staff(agency):
    """A matchmaker of the same agency whose role does not include the site settings."""
    return UserFactory(agency=agency, username="presale")


@pytest.fixture
def other_admin(other_agency):
    return UserFactory(agency=other_agency, username="admin", perms=[SITE_PERM])


def image_bytes(fmt="PNG", size=(64, 48), color=(200, 30, 90), **save_kwargs) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, color).save(output, fmt, **save_kwargs)
    return output.getvalue()
