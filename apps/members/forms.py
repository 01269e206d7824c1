from django import forms
from django.utils.translation import gettext_lazy as _

from apps.matchmakers.models import User

from .models import Member


class MemberForm(forms.ModelForm):
    class Meta:
        model = Member
        fields = ["name", "gender", "birth_date", "phone", "wechat", "status"]
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"})}


class MemberShareForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.none(), label=_("Colleague"), help_text=_("They will see and edit this member.")
    )

    def __init__(self, *args, agency, exclude_user_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (
            User.objects.filter(agency=agency, is_active=True).exclude(pk__in=exclude_user_ids).order_by("name")
        )
