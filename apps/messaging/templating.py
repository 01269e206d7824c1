"""Per-agency message templates (F-H3): the wording of each kind of automatic message, per channel.

A template is plain text with {placeholders}. Only the names listed for its kind are substituted,
by a plain text replacement (never `str.format`, which would let a template reach attributes of
the values). An agency that has not written its own wording gets the built-in one below, in the
language active when the message is rendered (the agency's visitors' and staff's default, zh-hans).
"""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Kind, Notification, NotificationTemplate

Channel = Notification.Channel
PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")
# Anything written in braces, to refuse what looks like a placeholder but is none ({name.__class__}, {code!r}).
BRACED_RE = re.compile(r"\{([^{}]*)\}")

COMMON_PLACEHOLDERS = {
    "name": gettext_lazy("The member's name"),
    "agency": gettext_lazy("The agency's name"),
}

# kind -> placeholders beyond the common ones, with what they stand for
PLACEHOLDERS = {
    Kind.INVITATION: {
        "link": gettext_lazy("The one-time link to set a password"),
        "days": gettext_lazy("Days the link stays valid"),
    },
    Kind.RESET_CODE: {
        "code": gettext_lazy("The six-digit code"),
        "minutes": gettext_lazy("Minutes the code stays valid"),
    },
    Kind.BIRTHDAY: {},
    Kind.APPOINTMENT_REMINDER: {
        "date": gettext_lazy("Date of the meeting"),
        "time": gettext_lazy("Time of the meeting"),
        "place": gettext_lazy("Where they meet"),
    },
    Kind.CONTRACT_EXPIRY: {
        "package": gettext_lazy("The service package"),
        "end_date": gettext_lazy("Last day of service"),
        "days": gettext_lazy("Days left"),
    },
}

# Kinds staff may word themselves; "manual" messages are written one by one.
TEMPLATE_KINDS = [kind for kind in Kind if kind != Kind.MANUAL]


def _defaults() -> dict[tuple[str, str], tuple[str, str]]:
    """(kind, channel) -> (subject, body), translated now (so per request or task language)."""
    invitation = _(
        "{name}, {agency} invites you to your member portal. Set your password here: {link} "
        "(valid for {days} days, once)."
    )
    reset = _("{agency}: your password reset code is {code}. It is valid for {minutes} minutes. Never share it.")
    birthday = _("Happy birthday, {name}! Best wishes from everyone at {agency}.")
    appointment = _("{name}, a reminder from {agency}: your meeting is on {date} at {time}, at {place}.")
    expiry = _("{name}, your {package} service with {agency} ends on {end_date} ({days} days left).")
    return {
        (Kind.INVITATION, Channel.SMS): ("", invitation),
        (Kind.INVITATION, Channel.EMAIL): (_("Your member portal at {agency}"), invitation),
        (Kind.INVITATION, Channel.IN_SITE): (_("Your member portal"), invitation),
        (Kind.RESET_CODE, Channel.SMS): ("", reset),
        (Kind.RESET_CODE, Channel.EMAIL): (_("Your password reset code"), reset),
        (Kind.RESET_CODE, Channel.IN_SITE): (_("Your password reset code"), reset),
        (Kind.BIRTHDAY, Channel.SMS): ("", birthday),
        (Kind.BIRTHDAY, Channel.EMAIL): (_("Happy birthday from {agency}"), birthday),
        (Kind.BIRTHDAY, Channel.IN_SITE): (_("Happy birthday"), birthday),
        (Kind.APPOINTMENT_REMINDER, Channel.SMS): ("", appointment),
        (Kind.APPOINTMENT_REMINDER, Channel.EMAIL): (_("Your meeting on {date}"), appointment),
        (Kind.APPOINTMENT_REMINDER, Channel.IN_SITE): (_("Your meeting on {date}"), appointment),
        (Kind.CONTRACT_EXPIRY, Channel.SMS): ("", expiry),
        (Kind.CONTRACT_EXPIRY, Channel.EMAIL): (_("Your service ends on {end_date}"), expiry),
        (Kind.CONTRACT_EXPIRY, Channel.IN_SITE): (_("Your service ends on {end_date}"), expiry),
    }


def default_wording(kind: str, channel: str) -> tuple[str, str]:
    return _defaults()[(kind, channel)]


def allowed_placeholders(kind: str) -> dict:
    return {**COMMON_PLACEHOLDERS, **PLACEHOLDERS.get(kind, {})}


def check_placeholders(kind: str, *texts: str) -> None:
    """Refuse a wording that uses a placeholder its kind does not fill (it would reach the member raw)."""
    allowed = allowed_placeholders(kind)
    unknown = sorted({name for text in texts for name in BRACED_RE.findall(text or "")} - set(allowed))
    if unknown:
        raise ValidationError(
            _("Unknown placeholder %(names)s. This message can use: %(allowed)s.")
            % {
                "names": ", ".join(f"{{{name}}}" for name in unknown),
                "allowed": ", ".join(f"{{{name}}}" for name in allowed),
            }
        )


def fill(text: str, values: dict) -> str:
    """Replace each known {placeholder}; anything else in braces stays as written."""
    return PLACEHOLDER_RE.sub(lambda m: str(values[m[1]]) if m[1] in values else m[0], text or "")


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def wording(*, agency, kind: str, channel: str) -> tuple[str, str]:
    """The agency's own (subject, body) for this kind and channel, else the built-in one."""
    own = NotificationTemplate.objects.filter(agency=agency, kind=kind, channel=channel).first()
    if own is not None:
        return own.subject, own.body
    return default_wording(kind, channel)


def render(*, agency, kind: str, channel: str, values: dict, subject: str | None = None,
           body: str | None = None) -> Rendered:  # fmt: skip
    """Fill the wording (the agency's, or `subject`/`body` given for a preview) with `values`.

    `values` need not hold "agency"; it is the agency's name.
    """
    if subject is None or body is None:
        subject, body = wording(agency=agency, kind=kind, channel=channel)
    values = {"agency": agency.name, **values}
    return Rendered(subject=fill(subject, values).strip(), body=fill(body, values).strip())


def sample_values(kind: str) -> dict[str, str]:
    """Values a preview fills the kind's placeholders with, shaped like real ones (for the SMS length)."""
    samples = {
        "name": _("Lin Xiaoyu"),
        "link": "https://example.com/portal/invite/kq3VZ8pX1cWmR7tY0bN4eH2sJ6uA9dLf5gT-oQiE_wM/",
        "days": "7",
        "code": "482913",
        "minutes": "10",
        "date": "2025-06-14",
        "time": "15:00",
        "place": _("West Lake Tea House"),
        "package": _("Gold membership"),
        "end_date": "2025-12-31",
    }
    return {name: samples.get(name, name) for name in allowed_placeholders(kind) if name != "agency"}
