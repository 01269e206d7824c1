"""Forms of the conversations (F-F7): field parsing only; the services check content and images."""

from django import forms
from django.utils.translation import gettext_lazy

from .threads import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH

IMAGE_HELP = gettext_lazy("Optional. JPEG, PNG, GIF or WebP, at most 5 MB.")


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Message"), required=False, max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}), help_text=gettext_lazy("Write a message, attach an image, or both."),
    )  # fmt: skip
    # A plain file field: the service reads the content and answers with a clear message.
    image = forms.FileField(
        label=gettext_lazy("Image"), required=False, help_text=IMAGE_HELP,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )  # fmt: skip


class ThreadStartForm(ReplyForm):
    subject = forms.CharField(
        label=gettext_lazy("Subject"), max_length=SUBJECT_MAX_LENGTH,
        help_text=gettext_lazy("A few words on what the conversation is about."),
    )  # fmt: skip

    field_order = ["subject", "body", "image"]


class MemberThreadStartForm(ThreadStartForm):
    """The portal's "new message to my matchmaker": subject and text."""

    image = None
    body = forms.CharField(
        label=gettext_lazy("Message"), max_length=BODY_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("Your matchmaker answers here; you will see the reply under Messages."),
    )  # fmt: skip


class InboxFilterForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Member"), required=False, max_length=50, help_text=gettext_lazy("Member number or name.")
    )
    unread = forms.BooleanField(label=gettext_lazy("Unread only"), required=False)
