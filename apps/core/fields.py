"""A model field whose text is encrypted at rest (Fernet), for data such as ID numbers.

Keys come from the FIELD_ENCRYPTION_KEYS setting, newest first: values are encrypted with the first
key and decrypted with whichever key works, so a new key can be put in front and old rows keep
reading until they are re-saved. When the setting is empty, one key is derived from SECRET_KEY: a
checkout then works with no extra setup and still never stores plaintext. Production sets its own
keys, because the derived key changes with SECRET_KEY; before rotating SECRET_KEY, put the current
derived key (`key_from_secret(settings.SECRET_KEY)`) into FIELD_ENCRYPTION_KEYS or the rows are lost.
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core import validators
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext_lazy as _

KEY_DERIVATION_INFO = b"matchcrm-field-encryption"


class DecryptionError(ValueError):
    """A stored value could not be decrypted with any configured key."""


def key_from_secret(secret: str) -> str:
    """The Fernet key used when FIELD_ENCRYPTION_KEYS is empty, derived from `secret` (SECRET_KEY)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_DERIVATION_INFO).derive(secret.encode())
    return base64.urlsafe_b64encode(derived).decode("ascii")


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...], secret: str) -> MultiFernet:
    # Cached per configuration rather than once, so settings overridden in tests take effect.
    try:
        return MultiFernet([Fernet(key) for key in keys or (key_from_secret(secret),)])
    except ValueError:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes), "
            "e.g. from cryptography.fernet.Fernet.generate_key()."
        ) from None


def _current_fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)


class EncryptedCharField(models.Field):
    """Short text stored as Fernet ciphertext in a text column.

    `max_length` limits the plaintext (forms and full_clean); the column has no length because the
    ciphertext is much longer. The empty string is stored as is, so blank=True needs no ciphertext.
    The database only sees ciphertext, which differs on every save, so it cannot filter on the value:
    every lookup except isnull is refused rather than silently matching nothing.
    """

    description = _("Text stored encrypted")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(validators.MaxLengthValidator(self.max_length))

    def get_internal_type(self) -> str:
        return "TextField"

    def to_python(self, value):
        if value is None or isinstance(value, str):
            return value
        return str(value)

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        try:
            return _current_fernet().decrypt(value.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise DecryptionError(
                f"Cannot decrypt a value of {self._label()}: it was encrypted with a key that is not in "
                "FIELD_ENCRYPTION_KEYS (or SECRET_KEY changed while that setting was empty), or it is not ciphertext."
            ) from None

    def get_prep_value(self, value):
        value = self.to_python(super().get_prep_value(value))
        if not value:
            return value
        return _current_fernet().encrypt(value.encode("utf-8")).decode("ascii")

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise FieldError(
            f"{self._label()} is encrypted: the database holds only ciphertext, so it cannot be filtered "
            f"with '{lookup_name}'. Only 'isnull' is supported; compare decrypted values in Python instead."
        )

    def formfield(self, **kwargs):
        return super().formfield(**{"max_length": self.max_length, **kwargs})

    def _label(self) -> str:
        model = getattr(self, "model", None)
        return f"{model._meta.label}.{self.name}" if model else self.__class__.__name__


def user_field(verbose_name, **kwargs) -> models.ForeignKey:
    """A foreign key to a staff user who did something (entered, approved, recorded …).

    PROTECT keeps the record of who acted; no reverse accessor and no index of its own (tables put
    the agency first in the indexes they need).
    """
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False,
        verbose_name=verbose_name, **kwargs,
    )  # fmt: skip
