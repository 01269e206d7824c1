"""The 360° member page's timeline (F-C5): one stream, fed by every app that records member events.

An app registers a provider in its AppConfig.ready(): a function `(member, user) -> iterable of
TimelineEvent` that runs a fixed number of queries (never one per event), so the page's query count
stays constant however long the member's history grows. Follow-ups, assignments, matches,
appointments, contracts, payments and messages plug in here as their apps arrive.
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .models import ContactReveal, Member, MemberShare


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime.datetime
    kind: str  # a stable key for styling and filtering: "registration", "share", "followup", …
    title: str
    detail: str = ""
    actor: str = ""
    icon: str = "bi-dot"


Provider = Callable[[Member, object], Iterable[TimelineEvent]]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def member_timeline(*, member: Member, user, limit: int = 100) -> list[TimelineEvent]:
    events = [event for provider in _providers for event in provider(member, user)]
    events.sort(key=lambda event: event.at, reverse=True)
    return events[:limit]


@register
def _registration(member, user):
    yield TimelineEvent(
        at=member.created_at,
        kind="registration",
        title=_("Registered (%(source)s)") % {"source": member.get_source_display()},
        actor=str(member.created_by or ""),
        icon="bi-person-plus",
    )


@register
def _shares(member, user):
    shares = MemberShare.objects.filter(content_object=member, permission__codename="view_member").select_related(
        "user", "granted_by"
    )
    for share in shares:
        yield TimelineEvent(
            at=share.granted_at,
            kind="share",
            title=_("Shared with %(name)s") % {"name": share.user},
            actor=str(share.granted_by or ""),
            icon="bi-share",
        )


@register
def _reveals(member, user):
    reveals = ContactReveal.objects.filter(member=member).select_related("user")[:20]
    for reveal in reveals:
        yield TimelineEvent(
            at=reveal.revealed_at,
            kind="reveal",
            title=_("%(field)s revealed") % {"field": reveal.get_field_display()},
            actor=str(reveal.user),
            icon="bi-eye",
        )
