from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

# Mainland China mobile numbers: 11 digits starting with 1 and a second digit of 3-9.
mobile_phone_validator = RegexValidator(
    r"^1[3-9]\d{9}$", _("A mobile number is 11 digits starting with 1, e.g. 13800138000."), code="invalid_phone"
)
