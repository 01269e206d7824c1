from django import forms
from django.utils.translation import gettext_lazy as _

from apps.matchmakers.models import User

from .models import FollowUp


class FollowUpForm(forms.ModelForm):
    class Meta:
        model = FollowUp
        fields = ["channel", "content", "result", "next_followup_at"]
        widgets = {
            "content": forms.Textarea(attrs={"rows": 3}),
            "next_followup_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }
        help_texts = {"next_followup_at": _("When to contact the member again; it then shows in the due list.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [c for c in FollowUp.Channel.choices if c[0] != FollowUp.Channel.SITE]


class AbandonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, help_text=_("Why the member is given up."))


class AssignForm(forms.Form):
    members = forms.TypedMultipleChoiceField(
        coerce=int, required=True, error_messages={"required": _("Tick at least one member.")}
    )
    to_user = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Assign to"))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, targets, member_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = targets
        self.fields["members"].choices = [(pk, pk) for pk in member_ids]
