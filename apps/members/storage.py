"""Where members' private documents live: outside MEDIA_ROOT, with no URL of their own."""

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible


@deconstructible(path="apps.members.storage.PrivateStorage")
class PrivateStorage(FileSystemStorage):
    """Files under PRIVATE_MEDIA_ROOT, read at use time (so settings and tests can move it, and no
    machine's path is written into migrations). Only permission-checked views stream them."""

    def __init__(self):
        super().__init__()

    @property
    def base_location(self):
        return settings.PRIVATE_MEDIA_ROOT

    @property
    def location(self):
        return str(settings.PRIVATE_MEDIA_ROOT)

    def url(self, name):
        raise ValueError("private documents have no URL; stream them through a checked view")


private_storage = PrivateStorage()
