from django import forms
from django.utils.translation import gettext_lazy as _

from .models import MatchSettings


class RecommendForm(forms.Form):
    reason = forms.CharField(label=_("Why they suit each other"), widget=forms.Textarea(attrs={"rows": 3}),
                             max_length=2000)  # fmt: skip


class AnswerForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class MatchSettingsForm(forms.ModelForm):
    class Meta:
        model = MatchSettings
        fields = list(MatchSettings.WEIGHTS)
        help_texts = {name: _("0 leaves it out; 10 counts most.") for name in MatchSettings.WEIGHTS}
