"""EncryptedCharField: ciphertext at rest, key rotation, blank values and refused lookups."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import FieldError, ImproperlyConfigured, ValidationError
from django.db import connection, models
from django.test.utils import isolate_apps

from apps.core.fields import DecryptionError, EncryptedCharField, key_from_secret

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
TABLE = "core_test_encrypted_secret"


@pytest.fixture
def keys(settings):
    """Sets FIELD_ENCRYPTION_KEYS for the rest of the test."""

    def use(*keys):
        settings.FIELD_ENCRYPTION_KEYS = list(keys)

    use(OLD_KEY)
    return use


@pytest.fixture
def secret_model(db, keys):
    """A model with an encrypted column, kept out of the app registry so no migration ever sees it.

    PostgreSQL rolls DDL back with the test's transaction, so the table needs no explicit drop.
    """
    with isolate_apps("apps.core"):

        class Secret(models.Model):
            id_number = EncryptedCharField(max_length=18, blank=True, null=True)

            class Meta:
                app_label = "core"
                db_table = TABLE

            def __str__(self):
                return f"secret {self.pk}"

    with connection.schema_editor() as editor:
        editor.create_model(Secret)
    return Secret


def stored(pk) -> str | None:
    """The column as the database holds it, bypassing the field."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM core_test_encrypted_secret WHERE id = %s", [pk])
        return cursor.fetchone()[0]


# --- round trip ------------------------------------------------------------------------------------


def test_round_trip_through_the_database(secret_model):
    row = secret_model.objects.create(id_number="11010519491231002X")
    assert secret_model.objects.get(pk=row.pk).id_number == "11010519491231002X"


def test_the_column_holds_ciphertext_of_the_first_key(secret_model):
    row = secret_model.objects.create(id_number="11010519491231002X")
    raw = stored(row.pk)
    assert "11010519491231002X" not in raw
    assert Fernet(OLD_KEY).decrypt(raw.encode()) == b"11010519491231002X"


def test_each_save_writes_fresh_ciphertext(secret_model):
    first = secret_model.objects.create(id_number="330106199001011234")
    second = secret_model.objects.create(id_number="330106199001011234")
    assert stored(first.pk) != stored(second.pk)


def test_non_ascii_text_round_trips(secret_model):
    row = secret_model.objects.create(id_number="护照E12345678")
    assert secret_model.objects.get(pk=row.pk).id_number == "护照E12345678"


def test_queryset_update_encrypts_too(secret_model):
    row = secret_model.objects.create(id_number="1")
    secret_model.objects.filter(pk=row.pk).update(id_number="330106199001011234")
    assert Fernet(OLD_KEY).decrypt(stored(row.pk).encode()) == b"330106199001011234"
    assert secret_model.objects.values_list("id_number", flat=True).get(pk=row.pk) == "330106199001011234"


def test_blank_and_none_are_stored_as_they_are(secret_model):
    blank = secret_model.objects.create(id_number="")
    missing = secret_model.objects.create(id_number=None)
    assert (stored(blank.pk), stored(missing.pk)) == ("", None)
    assert secret_model.objects.get(pk=blank.pk).id_number == ""
    assert secret_model.objects.get(pk=missing.pk).id_number is None


def test_isnull_lookup_works(secret_model):
    secret_model.objects.create(id_number="x")
    missing = secret_model.objects.create(id_number=None)
    assert list(secret_model.objects.filter(id_number__isnull=True)) == [missing]


# --- keys ------------------------------------------------------------------------------------------


def test_rotation_reads_old_rows_and_writes_with_the_newest_key(secret_model, keys):
    row = secret_model.objects.create(id_number="330106199001011234")
    keys(NEW_KEY, OLD_KEY)
    row = secret_model.objects.get(pk=row.pk)
    assert row.id_number == "330106199001011234"
    row.save()
    assert Fernet(NEW_KEY).decrypt(stored(row.pk).encode()) == b"330106199001011234"
    with pytest.raises(InvalidToken):
        Fernet(OLD_KEY).decrypt(stored(row.pk).encode())


def test_a_wrong_key_raises_instead_of_returning_ciphertext(secret_model, keys):
    row = secret_model.objects.create(id_number="330106199001011234")
    keys(NEW_KEY)
    with pytest.raises(DecryptionError, match=r"core\.Secret\.id_number.*FIELD_ENCRYPTION_KEYS"):
        secret_model.objects.get(pk=row.pk)


def test_plaintext_in_the_column_raises(secret_model):
    row = secret_model.objects.create(id_number="")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_test_encrypted_secret SET id_number = 'plain' WHERE id = %s", [row.pk])
    with pytest.raises(DecryptionError):
        secret_model.objects.get(pk=row.pk)


def test_empty_setting_derives_the_key_from_secret_key(secret_model, keys, settings):
    keys()
    row = secret_model.objects.create(id_number="330106199001011234")
    derived = Fernet(key_from_secret(settings.SECRET_KEY))
    assert derived.decrypt(stored(row.pk).encode()) == b"330106199001011234"
    assert secret_model.objects.get(pk=row.pk).id_number == "330106199001011234"


def test_derived_key_is_stable_and_depends_on_the_secret():
    assert key_from_secret("a") == key_from_secret("a") != key_from_secret("b")
    Fernet(key_from_secret("a"))  # a valid Fernet key


def test_a_malformed_key_is_a_configuration_error(keys):
    keys("not-a-fernet-key")
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        EncryptedCharField().get_prep_value("x")


# --- lookups ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lookup",
    [{"id_number": "x"}, {"id_number__iexact": "x"}, {"id_number__startswith": "1"}, {"id_number__in": ["x"]}],
)
def test_lookups_on_ciphertext_are_refused(secret_model, lookup):
    with pytest.raises(FieldError, match=r"core\.Secret\.id_number is encrypted"):
        secret_model.objects.filter(**lookup)


# --- plaintext validation, column and migrations ---------------------------------------------------


def test_max_length_limits_the_plaintext(secret_model):
    secret_model(id_number="1" * 18).full_clean()
    with pytest.raises(ValidationError) as caught:
        secret_model(id_number="1" * 19).full_clean()
    assert list(caught.value.message_dict) == ["id_number"]


def test_column_is_text_without_length(secret_model):
    assert secret_model._meta.get_field("id_number").db_type(connection) == "text"


def test_form_field_limits_the_plaintext(secret_model):
    form_field = secret_model._meta.get_field("id_number").formfield()
    assert form_field.max_length == 18
    assert not form_field.required


def test_to_python_and_prep_value(keys):
    field = EncryptedCharField(max_length=18)
    assert field.to_python(123) == "123"
    assert field.to_python(None) is None
    assert field.get_prep_value("") == ""
    assert field.get_prep_value(None) is None
    ciphertext = field.get_prep_value("abc")
    assert ciphertext != "abc"
    assert field.from_db_value(ciphertext, None, connection) == "abc"


def test_deconstruct_rebuilds_the_same_field():
    field = EncryptedCharField("ID number", max_length=18, blank=True)
    _name, path, args, kwargs = field.deconstruct()
    assert path == "apps.core.fields.EncryptedCharField"
    assert kwargs == {"verbose_name": "ID number", "max_length": 18, "blank": True}
    rebuilt = EncryptedCharField(*args, **kwargs)
    assert (rebuilt.max_length, rebuilt.blank) == (18, True)
