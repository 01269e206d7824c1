from django import forms
from django.utils.translation import gettext_lazy as _

from apps.matchmakers.models import User

from .models import FollowUp, ServiceStage, ServiceWorkflowSettings


class FollowUpForm(forms.ModelForm):
    """A follow-up; for a member in after-sale service it may be a service note (F-F2)."""

    class Meta:
        model = FollowUp
        fields = ["kind", "channel", "content", "result", "next_followup_at"]
        widgets = {
            "content": forms.Textarea(attrs={"rows": 3}),
            "next_followup_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }
        help_texts = {
            "next_followup_at": _("When to contact the member again; it then shows in the due list."),
            "kind": _("A service note records after-sale service of a signed member."),
        }

    def __init__(self, *args, service_notes: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [c for c in FollowUp.Channel.choices if c[0] != FollowUp.Channel.SITE]
        # Offered only for members in after-sale service; the service refuses a note for anyone else.
        kind = self.fields["kind"]
        kind.required = False
        kind.widget = forms.RadioSelect(choices=FollowUp.Kind.choices) if service_notes else forms.HiddenInput()

    def clean_kind(self):
        return self.cleaned_data["kind"] or FollowUp.Kind.FOLLOWUP


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


class StageMoveForm(forms.Form):
    """Move a member's service stage; only the stages the user may move to are offered."""

    stage = forms.ChoiceField(label=_("Move to"), help_text=_("The due time follows from the agency's deadline."))
    note = forms.CharField(label=_("Note"), max_length=200, required=False,
                           help_text=_("What happened, e.g. the feedback in a sentence."))  # fmt: skip

    def __init__(self, *args, stages, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(ServiceStage.Stage.choices)
        self.fields["stage"].choices = [(stage, labels[stage]) for stage in stages]


class WorkflowSettingsForm(forms.ModelForm):
    class Meta:
        model = ServiceWorkflowSettings
        fields = ["consulted_hours", "first_recommendation_hours", "meeting_arranged_hours", "feedback_hours",
                  "continuing_hours"]  # fmt: skip
