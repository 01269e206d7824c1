from django import forms
from django.utils.translation import gettext_lazy as _

from .models import REGISTRATION_FIELD_CHOICES, SiteImage, SiteSettings


class SiteSettingsForm(forms.ModelForm):
    registration_fields = forms.MultipleChoiceField(
        label=_("Fields of the registration page"), required=False, choices=REGISTRATION_FIELD_CHOICES,
        widget=forms.CheckboxSelectMultiple, help_text=_("Name, gender and mobile phone are always asked."),
    )  # fmt: skip
    registration_required = forms.MultipleChoiceField(
        label=_("Required fields of the registration page"), required=False, choices=REGISTRATION_FIELD_CHOICES,
        widget=forms.CheckboxSelectMultiple, help_text=_("A required field is always shown."),
    )  # fmt: skip

    class Meta:
        model = SiteSettings
        fields = [
            "site_name", "logo", "phone", "address", "about",
            "showcase_phone", "showcase_wechat", "showcase_qq", "showcase_email",
            "registration_fields", "registration_required",
        ]  # fmt: skip
        widgets = {"about": forms.Textarea(attrs={"rows": 8})}
        help_texts = {"address": _("Street address visitors can find you at.")}


class SiteImageForm(forms.ModelForm):
    class Meta:
        model = SiteImage
        fields = ["kind", "image", "caption", "link_url", "position"]
