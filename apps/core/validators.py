from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

# Mainland China mobile numbers: 11 digits starting with 1 and a second digit of 3-9.
mobile_phone_validator = RegexValidator(
    r"^1[3-9]\d{9}$", _("A mobile number is 11 digits starting with 1, e.g. 13800138000."), code="invalid_phone"
)


def normalize_mobile(value: str) -> str:
    """13800138000 from '138 0013 8000', '138-0013-8000', '+86 138…' or '0086138…'."""
    raw = (value or "").strip()
    digits = "".join(ch for ch in raw if ch.isdigit())
    if raw.startswith(("+", "00")) and not digits.startswith(("86", "0086")):
        return raw  # a foreign number: leave it for the validator to refuse, never read it as mainland
    for prefix in ("0086", "86"):
        if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
            return digits[len(prefix) :]
    return digits if digits else raw
