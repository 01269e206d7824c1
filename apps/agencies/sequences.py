"""Per-agency counters for human-readable numbers (member numbers, contract numbers, …)."""

from django.db import connection, transaction

from .models import Agency, AgencySequence


def sequence_next(*, agency: Agency, name: str) -> int:
    """The next value of the agency's counter `name`; gap-free only within one transaction's success."""
    with transaction.atomic():
        AgencySequence.unscoped.get_or_create(agency=agency, name=name)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE agencies_agencysequence SET last_value = last_value + 1"
                " WHERE agency_id = %s AND name = %s RETURNING last_value",
                [agency.pk, name],
            )
            return cursor.fetchone()[0]
