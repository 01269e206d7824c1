"""Per-agency counters for human-readable numbers (member numbers, contract numbers, …)."""

from django.db import connection, transaction

from .models import Agency, AgencySequence


def sequence_block(*, agency: Agency, name: str, count: int) -> int:
    """Take `count` consecutive values of the agency's counter `name` at once (imports, seeds, the
    OElove sync); returns the first. Gap-free only within one transaction's success."""
    with transaction.atomic():
        AgencySequence.unscoped.get_or_create(agency=agency, name=name)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE agencies_agencysequence SET last_value = last_value + %s"
                " WHERE agency_id = %s AND name = %s RETURNING last_value",
                [count, agency.pk, name],
            )
            return cursor.fetchone()[0] - count + 1


def sequence_next(*, agency: Agency, name: str) -> int:
    """The next value of the agency's counter `name`."""
    return sequence_block(agency=agency, name=name, count=1)
