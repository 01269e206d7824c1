from django import forms
from django.utils.translation import gettext_lazy as _

from .models import SiteImage, SiteSettings


class SiteSettingsForm(forms.ModelForm):
    class Meta:
        model = SiteSettings
        fields = ["site_name", "logo", "phone", "address", "about"]
        widgets = {"about": forms.Textarea(attrs={"rows": 8})}
        help_texts = {"address": _("Street address visitors can find you at.")}


class SiteImageForm(forms.ModelForm):
    class Meta:
        model = SiteImage
        fields = ["kind", "image", "caption", "link_url", "position"]
