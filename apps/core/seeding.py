"""Shared by the seed commands (seed_members, seed_finance, seed_activity): streaming rows into PostgreSQL.

Rows are tuples in the order of the `provided` columns; every other stored column of the model is
added with its default, so a column a later migration adds is never left out, and a NOT NULL column
without a default stops the command with a clear message instead of a half-seeded database.
"""

import random

from django.core.management.base import CommandError
from django.db import connection


def pick(rng: random.Random, weighted):
    """One value of `weighted` ((value, weight) pairs)."""
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights)[0]


def columns(model, provided: tuple[str, ...]) -> tuple[tuple[str, ...], tuple]:
    """(`provided` plus every other stored column of `model`, the defaults of those others)."""
    extra_columns, extra_values = [], []
    for model_field in model._meta.concrete_fields:
        if model_field.column in provided or model_field.generated or model_field.primary_key:
            continue
        value = model_field.get_default()
        if value is None and not model_field.null:
            raise CommandError(f"the seed does not know what to put in {model.__name__}.{model_field.name}")
        extra_columns.append(model_field.column)
        extra_values.append(model_field.get_db_prep_save(value, connection))
    return (*provided, *extra_columns), tuple(extra_values)


def copy_sql(model, names) -> str:
    quote = connection.ops.quote_name
    return f"COPY {quote(model._meta.db_table)} ({', '.join(quote(name) for name in names)}) FROM STDIN"


def copy_rows(cursor, model, provided: tuple[str, ...], rows) -> int:
    """COPY `rows` into `model`'s table; the number of rows."""
    names, extra = columns(model, provided)
    count = 0
    with cursor.copy(copy_sql(model, names)) as copy:
        for row in rows:
            copy.write_row(row + extra)
            count += 1
    return count


def analyze(*models) -> None:
    """Fresh planner statistics after a bulk load (and, outside a transaction, the visibility map too)."""
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
