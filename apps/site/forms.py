"""The public forms of an agency's site: consultation (F-E5) and member registration (F-E6, F-A3).

Both take anything a browser or a robot can send and answer with a message per bad field: every
text has a maximum length, NUL characters are refused, the phone is normalised and checked.
"""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.agencies.models import REGISTRATION_FIELD_CHOICES
from apps.core.validators import mobile_phone_validator, normalize_mobile
from apps.members import choices, divisions

# A field people never see (hidden by a CSS class) and robots fill in.
HONEYPOT_FIELD = "website"
EMPTY_CHOICE = [("", _("Please choose"))]
MIN_AGE = 18
MAX_AGE = 100
MESSAGE_MAX_LENGTH = 1000
SELF_INTRO_MAX_LENGTH = 1000


class MobilePhoneField(forms.CharField):
    """A mainland mobile number as people type it ("138 0013 8000", "+86 138…"), stored as 11 digits."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Mobile phone"))
        kwargs.setdefault("help_text", _("11-digit mobile number."))
        super().__init__(max_length=30, **kwargs)
        self.validators.append(mobile_phone_validator)
        self.widget.attrs.update({"inputmode": "tel", "autocomplete": "tel"})

    def to_python(self, value):
        value = super().to_python(value)
        return normalize_mobile(value) if value else value


class PublicForm(forms.Form):
    website = forms.CharField(
        label=_("Leave this field empty"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )  # fmt: skip

    def visible_fields(self):
        return [field for field in super().visible_fields() if field.name != HONEYPOT_FIELD]

    @staticmethod
    def is_honeypot_filled(data) -> bool:
        return bool(data.get(HONEYPOT_FIELD))


class ConsultationForm(PublicForm):
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=50)
    phone = MobilePhoneField()
    message = forms.CharField(
        label=_("Your question"), max_length=MESSAGE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What would you like to know? At most 1000 characters."),
    )  # fmt: skip

    field_order = ["name", "phone", "message"]


class RegistrationForm(PublicForm):
    """Name, gender and phone always; the other fields as the agency chose in its site settings."""

    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=50)
    gender = forms.ChoiceField(label=_("Gender"), choices=choices.Gender.choices, widget=forms.RadioSelect)
    phone = MobilePhoneField()
    birth_date = forms.DateField(
        label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    height_cm = forms.IntegerField(label=_("Height (cm)"), min_value=120, max_value=230)
    education = forms.TypedChoiceField(
        label=_("Education"), choices=EMPTY_CHOICE + choices.Education.choices, coerce=int, empty_value=None
    )
    income = forms.TypedChoiceField(
        label=_("Monthly income"), choices=EMPTY_CHOICE + choices.Income.choices, coerce=int, empty_value=None
    )
    marital_status = forms.ChoiceField(label=_("Marital status"), choices=EMPTY_CHOICE + choices.MaritalStatus.choices)
    residence_city = forms.ChoiceField(
        label=_("Province and city of residence"), choices=lambda: EMPTY_CHOICE + divisions.city_choices_grouped()
    )
    occupation = forms.CharField(label=_("Occupation"), max_length=50)
    wechat = forms.CharField(label=_("WeChat"), max_length=50)
    email = forms.EmailField(label=_("Email"), max_length=254)
    self_intro = forms.CharField(
        label=_("About yourself"), max_length=SELF_INTRO_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("At most 1000 characters."),
    )  # fmt: skip

    OPTIONAL = tuple(name for name, _label in REGISTRATION_FIELD_CHOICES)

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, **kwargs)
        required = set(site.registration_required)
        shown = set(site.registration_fields) | required
        for name in self.OPTIONAL:
            if name in shown:
                self.fields[name].required = name in required
            else:
                del self.fields[name]

    def clean_birth_date(self):
        birth_date = self.cleaned_data.get("birth_date")
        if birth_date is None:
            return None
        today = timezone.localdate()
        if birth_date > today:
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        try:
            adult_on = birth_date.replace(year=birth_date.year + MIN_AGE)
        except ValueError:  # born on 29 February
            adult_on = birth_date.replace(year=birth_date.year + MIN_AGE, day=28) + datetime.timedelta(days=1)
        if adult_on > today:
            raise forms.ValidationError(_("You must be at least 18 years old to register."))
        if birth_date.year < today.year - MAX_AGE:
            raise forms.ValidationError(_("Please check the year of birth."))
        return birth_date
