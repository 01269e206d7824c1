from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.uploads import validate_image_upload

from .models import Appointment

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
YES_NO = [("yes", _("Yes")), ("no", _("No"))]


def _yes(value: str) -> bool:
    return value == "yes"


class _MemberPairForm(forms.Form):
    member_a_no = forms.CharField(
        label=_("Member number"), max_length=20, help_text=_("The number of the first member, e.g. M2026000123.")
    )
    member_b_no = forms.CharField(
        label=_("Number of the other member"),
        max_length=20,
        help_text=_("The member they meet; may be served by another matchmaker."),
    )


class _AppointmentFields(forms.Form):
    starts_at = forms.DateTimeField(
        label=_("Date and time"),
        widget=DATETIME_WIDGET,
        help_text=_("A member's appointments must be at least two hours apart."),
    )
    place = forms.CharField(
        label=_("Place"), max_length=200, help_text=_("Where they meet, e.g. the café's name and address.")
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For the matchmakers; members do not see it."),
    )


class AppointmentBookForm(_MemberPairForm, _AppointmentFields):
    recommendation = forms.IntegerField(required=False, widget=forms.HiddenInput)

    field_order = ["member_a_no", "member_b_no", "starts_at", "place", "note", "recommendation"]


class AppointmentEditForm(_AppointmentFields):
    pass


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        required=False,
        help_text=_("Why it was called off. Both members get the appointment back."),
    )


def _sides(appointment: Appointment) -> list[tuple[str, str]]:
    return [("a", appointment.member_a.name), ("b", appointment.member_b.name)]


class NoShowForm(forms.Form):
    absent = forms.ChoiceField(
        label=_("Who did not come"), help_text=_("The appointment still counts against both contracts.")
    )
    reason = forms.CharField(
        label=_("Note"), max_length=200, required=False, help_text=_("Anything the matchmakers should know.")
    )

    def __init__(self, *args, appointment: Appointment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["absent"].choices = [
            (Appointment.Absent.MEMBER_A, appointment.member_a.name),
            (Appointment.Absent.MEMBER_B, appointment.member_b.name),
            (Appointment.Absent.BOTH, Appointment.Absent.BOTH.label),
        ]


class FeedbackForm(forms.Form):
    side = forms.ChoiceField(label=_("Whose feedback"), help_text=_("Recording it again replaces it."))
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        coerce=int,
        choices=[(n, str(n)) for n in range(1, 6)],
        help_text=_("1 (poor) to 5 (very good)."),
    )
    wants_to_continue = forms.TypedChoiceField(
        label=_("Wants to continue"),
        choices=YES_NO,
        coerce=_yes,
        widget=forms.RadioSelect,
        help_text=_("Would they like to meet again?"),
    )
    text = forms.CharField(
        label=_("What they said"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("In their words, as far as possible."),
    )

    def __init__(self, *args, appointment: Appointment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["side"].choices = _sides(appointment)


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[("", "---------"), *Appointment.Outcome.choices],
        help_text=_("Where the two stand now."),
    )


# --- success stories -------------------------------------------------------------------------------


class _StoryFields(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100, help_text=_("Shown on the public site."))
    story_date = forms.DateField(
        label=_("Date"), widget=DATE_WIDGET, help_text=_("The day they got engaged or married.")
    )
    text = forms.CharField(
        label=_("Story"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Shown on the public site. Do not write contact details here."),
    )
    consent_a = forms.BooleanField(
        label=_("The first member agreed to publication"),
        required=False,
        help_text=_("Tick only with the member's consent; who recorded it is kept."),
    )
    consent_b = forms.BooleanField(
        label=_("The second member agreed to publication"),
        required=False,
        help_text=_("Both must agree before the story can be published."),
    )


class StoryCreateForm(_MemberPairForm, _StoryFields):
    field_order = ["member_a_no", "member_b_no", "title", "story_date", "text", "consent_a", "consent_b"]


class StoryEditForm(_StoryFields):
    pass


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several images in one upload, each checked like every other image upload."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleImageInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        if not files:
            super().clean(None, initial)  # "This field is required." when it is
            return []
        cleaned = []
        for item in files:
            upload = super().clean(item, initial)
            validate_image_upload(upload)
            cleaned.append(upload)
        return cleaned


class StoryPhotoForm(forms.Form):
    images = MultipleImageField(
        label=_("Photos"), help_text=_("JPEG, PNG, GIF or WebP, at most 5 MB each; several at once.")
    )
    caption = forms.CharField(
        label=_("Caption"),
        max_length=100,
        required=False,
        help_text=_("Optional; used for every photo of this upload."),
    )
