"""Appointments and published success stories on the 360° member page's timeline (one query each)."""

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.members.timeline import TimelineEvent, register

from .models import Appointment, AppointmentEvent, SuccessStory

ICONS = {
    "booked": "bi-calendar-plus", "rescheduled": "bi-calendar-event", "done": "bi-calendar-check",
    "cancelled": "bi-calendar-x", "no_show": "bi-person-x", "feedback": "bi-chat-quote", "outcome": "bi-heart",
}  # fmt: skip


@register
def appointment_events(member, user):
    if not user.has_perm("matchmakers.view_appointments"):
        return
    appointments = Appointment.objects.filter(Q(member_a=member) | Q(member_b=member)).values("pk")
    events = (
        AppointmentEvent.objects.filter(appointment__in=appointments)
        .select_related("appointment__member_a", "appointment__member_b", "actor")
        .order_by("-at", "-id")[:200]
    )
    for event in events:
        appointment = event.appointment
        yield TimelineEvent(
            at=event.at,
            kind="appointment",
            title=_("Appointment with %(name)s on %(when)s: %(what)s") % {
                "name": appointment.other_member(member.pk).name,
                "when": timezone.localtime(appointment.starts_at).strftime("%Y-%m-%d %H:%M"),
                "what": event.get_kind_display(),
            },
            detail=event.note,
            actor=str(event.actor),
            icon=ICONS.get(event.kind, "bi-calendar"),
        )  # fmt: skip


@register
def published_stories(member, user):
    if not user.has_perm("matchmakers.view_stories"):
        return
    stories = SuccessStory.objects.filter(Q(member_a=member) | Q(member_b=member), is_published=True)
    for story in stories.select_related("published_by"):
        yield TimelineEvent(
            at=story.published_at,
            kind="story",
            title=_("Success story published: %(title)s") % {"title": story.title},
            actor=str(story.published_by or ""),
            icon="bi-balloon-heart",
        )
