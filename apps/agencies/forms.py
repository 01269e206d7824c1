from django import forms
from django.utils.translation import gettext_lazy as _

from .models import SiteImage, SiteSettings


class SiteSettingsForm(forms.ModelForm):
    class Meta:
        model = SiteSettings
        fields = [
            "site_name", "logo", "phone", "address", "about",
            "showcase_phone", "showcase_wechat", "showcase_qq", "showcase_email",
        ]  # fmt: skip
        widgets = {"about": forms.Textarea(attrs={"rows": 8})}
        help_texts = {"address": _("Street address visitors can find you at.")}


class SiteImageForm(forms.ModelForm):
    class Meta:
        model = SiteImage
        fields = ["kind", "image", "caption", "link_url", "position"]
