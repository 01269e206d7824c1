from django import forms
from django.utils.translation import gettext_lazy as _

from .models import OeloveSource


class OeloveSourceForm(forms.ModelForm):
    """The OElove site's connection; the password is never shown back, and empty keeps the stored one."""

    password = forms.CharField(
        label=_("password"), required=False, max_length=128, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Stored encrypted. Leave empty to keep the saved password."),
    )  # fmt: skip

    class Meta:
        model = OeloveSource
        fields = ["host", "port", "database", "user", "table_prefix", "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(["host", "port", "database", "user", "password", "table_prefix", "enabled"])


class ConflictResolveForm(forms.Form):
    member = forms.IntegerField(required=False, widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=[("link", "link"), ("ignore", "ignore")], widget=forms.HiddenInput)
