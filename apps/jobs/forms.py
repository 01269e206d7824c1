from django import forms

from .models import JobSettings


class JobSettingsForm(forms.ModelForm):
    class Meta:
        model = JobSettings
        fields = ["birthday_greeting_channel", "contract_expiry_channel", "discovery_threshold", "silent_days"]
