from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.utils.translation import gettext_lazy as _

from apps.appointments.forms import FeedbackForm
from apps.members import choices, divisions
from apps.members.models import Member, PartnerPreference

from .models import MemberInvitation
from .services import PREFERENCE_FIELDS, PROFILE_FIELDS


class LoginForm(forms.Form):
    phone = forms.CharField(label=_("Mobile phone"), max_length=20)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)


class SetPasswordForm(forms.Form):
    password1 = forms.CharField(
        label=_("New password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )  # fmt: skip
    password2 = forms.CharField(
        label=_("New password again"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )  # fmt: skip


class PasswordChangeForm(SetPasswordForm):
    old_password = forms.CharField(label=_("Current password"), strip=False, widget=forms.PasswordInput)
    field_order = ["old_password", "password1", "password2"]


class ResetRequestForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile phone"), max_length=20,
        help_text=_("We text a six-digit code to this number if it has a portal account."),
    )  # fmt: skip


class ResetConfirmForm(SetPasswordForm):
    phone = forms.CharField(label=_("Mobile phone"), max_length=20)
    code = forms.CharField(
        label=_("Code"), max_length=6, min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )  # fmt: skip
    field_order = ["phone", "code", "password1", "password2"]


class InvitationForm(forms.Form):
    channel = forms.ChoiceField(label=_("Send the link by"), choices=MemberInvitation.Channel.choices)


EMPTY = [("", "---------")]


class ProfileForm(forms.ModelForm):
    """What a member may change themselves; saved as a change request, not on the profile.

    The place of residence is one city select (its province follows, as on the registration page);
    the district is kept while it still lies in the chosen city.
    """

    residence_city = forms.ChoiceField(
        label=_("Province and city of residence"), required=False,
        choices=lambda: EMPTY + divisions.city_choices_grouped(),
    )  # fmt: skip

    class Meta:
        model = Member
        fields = [field for field in PROFILE_FIELDS if field not in ("residence_province", "residence_district")]
        widgets = {"self_intro": forms.Textarea(attrs={"rows": 4}), "has_car": forms.NullBooleanSelect}

    def wanted(self) -> dict:
        """The cleaned values as the service compares them with the profile."""
        data = dict(self.cleaned_data)
        city = data.get("residence_city") or ""
        data["residence_province"] = divisions.parent_of(city) if city else ""
        district = self.instance.residence_district
        data["residence_district"] = district if city and district and divisions.parent_of(district) == city else ""
        return data


class PreferenceForm(forms.ModelForm):
    marital_statuses = forms.MultipleChoiceField(
        label=_("Accepted marital statuses"), required=False, choices=choices.MaritalStatus.choices,
        widget=forms.CheckboxSelectMultiple, help_text=_("Leave empty to accept any."),
    )  # fmt: skip

    class Meta:
        model = PartnerPreference
        fields = list(PREFERENCE_FIELDS)
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def add_prefix(self, field_name):
        return f"pref-{field_name}"


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, help_text=_("The member reads this in the portal."))


class MemberFeedbackForm(FeedbackForm):
    """The appointment feedback form without "whose feedback": in the portal it is always the member's."""

    def __init__(self, *args, **kwargs):
        forms.Form.__init__(self, *args, **kwargs)  # skips FeedbackForm's sides, which need an appointment
        del self.fields["side"]
