"""Follow-ups and assignments on the 360° member page's timeline (one query each)."""

from django.utils.translation import gettext as _

from apps.members.timeline import TimelineEvent, register

from .models import Assignment, FollowUp


@register
def followups(member, user):
    for followup in FollowUp.objects.filter(member=member).select_related("author")[:200]:
        detail = followup.result
        if followup.next_followup_at:
            detail = _("%(result)s Next: %(when)s") % {
                "result": f"{detail}." if detail else "",
                "when": followup.next_followup_at.strftime("%Y-%m-%d %H:%M"),
            }
        yield TimelineEvent(
            at=followup.created_at,
            kind="followup",
            title=f"{followup.get_channel_display()}: {followup.content}",
            detail=detail.strip(),
            actor=str(followup.author or ""),
            icon="bi-chat-left-text",
        )


@register
def assignments(member, user):
    for assignment in Assignment.objects.filter(member=member).select_related("from_user", "to_user", "assigned_by"):
        yield TimelineEvent(
            at=assignment.created_at,
            kind="assignment",
            title=_("%(role)s: %(from)s → %(to)s")
            % {
                "role": assignment.get_role_display(),
                "from": assignment.from_user or _("nobody"),
                "to": assignment.to_user or _("nobody"),
            },
            detail=assignment.reason,
            actor=str(assignment.assigned_by),
            icon="bi-arrow-left-right",
        )
