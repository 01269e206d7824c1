from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Notification
from .services import SMS_MAX_LENGTH


class ContactForm(forms.Form):
    """The member page's "Contact" card: one message through one channel."""

    channel = forms.ChoiceField(
        label=gettext_lazy("Send as"),
        choices=Notification.Channel.choices,
        help_text=gettext_lazy("In-site messages wait in the member's inbox on the portal."),
    )
    subject = forms.CharField(
        label=gettext_lazy("Subject"), max_length=200, required=False, help_text=gettext_lazy("For emails only.")
    )
    body = forms.CharField(label=gettext_lazy("Message"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Interpolated per request: formatting a lazy string at import would fix its language.
        self.fields["body"].help_text = _("An SMS can have at most %(limit)s characters.") % {"limit": SMS_MAX_LENGTH}


class NotificationTemplateForm(forms.Form):
    """The wording of one kind of automatic message on one channel (F-H3); SMS has no subject."""

    subject = forms.CharField(
        label=gettext_lazy("Subject"), max_length=200, required=False,
        help_text=gettext_lazy("The email's subject, or the title of the in-site message."),
    )  # fmt: skip
    body = forms.CharField(
        label=gettext_lazy("Text"), max_length=2000, widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy("Write {placeholder} where the member's own details go; the list below says which."),
    )  # fmt: skip

    def __init__(self, *args, channel: str, disabled: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if channel == Notification.Channel.SMS:
            del self.fields["subject"]
        for field in self.fields.values():
            field.disabled = disabled
