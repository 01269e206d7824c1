"""Human-readable numbers for contracts, payments and refunds, from the agency's patterns."""

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from apps.agencies.sequences import sequence_next

TOKEN = re.compile(r"\{(YYYY|YY|MM|DD|SEQ(?::([1-9]))?)\}")
MAX_LENGTH = 40  # the number columns of contracts, payments and refunds
ALLOWED_TEXT = re.compile(r"^[A-Za-z0-9\-_/]*$")


def validate_pattern(pattern: str) -> None:
    """A pattern needs the running number ({SEQ} or {SEQ:n}, n 1-9) and only plain characters around tokens."""
    tokens = TOKEN.findall(pattern)
    if not any(token.startswith("SEQ") for token, _width in tokens):
        raise ValidationError(_("The pattern needs the running number {SEQ} (or {SEQ:4} for four digits)."))
    longest = render(pattern, sequence=10**9 - 1, on=datetime.date(2099, 12, 31))
    if len(longest) > MAX_LENGTH:
        raise ValidationError(_("Numbers from this pattern can reach %(length)s characters; keep them within %(max)s.")
                              % {"length": len(longest), "max": MAX_LENGTH})  # fmt: skip
    if not ALLOWED_TEXT.match(TOKEN.sub("", pattern)):
        raise ValidationError(
            _("Apart from {YYYY} {YY} {MM} {DD} {SEQ}, use only letters, digits and - _ / in the pattern.")
        )


def render(pattern: str, *, sequence: int, on: datetime.date) -> str:
    dates = {"YYYY": f"{on.year:04d}", "YY": f"{on.year % 100:02d}", "MM": f"{on.month:02d}", "DD": f"{on.day:02d}"}

    def replace(match):
        name, width = match.group(1), match.group(2)
        return dates[name] if name in dates else str(sequence).zfill(int(width or 1))

    return TOKEN.sub(replace, pattern)


def next_number(*, agency, model, pattern: str, sequence_name: str, on: datetime.date) -> str:
    """The next free number; skips numbers an earlier pattern already produced.

    The unique constraint on (agency, number) stays the guard against a concurrent writer.
    """
    while True:
        number = render(pattern, sequence=sequence_next(agency=agency, name=sequence_name), on=on)
        if not model.objects.filter(agency=agency, number=number).exists():
            return number
