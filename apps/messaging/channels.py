"""Channel backends: how one stored Notification reaches the member.

Each channel implements `ChannelBackend.deliver(notification) -> str`: it sends the message (for
in-site messages: posts it into the member's portal inbox), returns the provider's id of the
message or "", and raises on failure; the caller records the outcome on the row.
"""

from email.utils import formataddr, parseaddr
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage

from . import sms
from .models import Notification
from .threads import post_notice


class ChannelBackend(Protocol):
    def deliver(self, notification: Notification) -> str: ...


class InSiteChannel:
    """A message from the agency in a thread of the member's portal inbox (F-F7), linked to the row."""

    def deliver(self, notification: Notification) -> str:
        post_notice(notification)
        return ""


class EmailChannel:
    """Email through Django's configured email backend, from the agency's name, replies to the sender."""

    def deliver(self, notification: Notification) -> str:
        address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
        sender = notification.sender
        subject, body = notification.deliverable()
        message = EmailMessage(
            subject=subject,
            body=body,
            from_email=formataddr((notification.agency.name, address)),
            to=[notification.recipient],
            reply_to=[sender.email] if sender is not None and sender.email else None,
        )
        message.send(fail_silently=False)
        return ""


class SmsChannel:
    """SMS through the provider named by the SMS_BACKEND setting."""

    def deliver(self, notification: Notification) -> str:
        return sms.get_sms_backend().send(phone=notification.recipient, text=notification.deliverable()[1])


CHANNELS: dict[str, ChannelBackend] = {
    Notification.Channel.IN_SITE: InSiteChannel(),
    Notification.Channel.EMAIL: EmailChannel(),
    Notification.Channel.SMS: SmsChannel(),
}


def get_channel(channel: str) -> ChannelBackend:
    return CHANNELS[channel]
