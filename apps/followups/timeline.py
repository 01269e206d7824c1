"""Follow-ups, service notes, assignments and service stage changes on the 360° member page's
timeline (one query each)."""

from django.utils.translation import gettext as _

from apps.members.timeline import TimelineEvent, register

from .models import Assignment, FollowUp, ServiceStageChange


@register
def followups(member, user):
    for followup in FollowUp.objects.filter(member=member).select_related("author")[:200]:
        detail = followup.result
        if followup.next_followup_at:
            detail = _("%(result)s Next: %(when)s") % {
                "result": f"{detail}." if detail else "",
                "when": followup.next_followup_at.strftime("%Y-%m-%d %H:%M"),
            }
        if followup.kind == FollowUp.Kind.SERVICE_NOTE:
            kind, icon = "service_note", "bi-journal-text"
            title = _("Service note (%(channel)s): %(content)s") % {
                "channel": followup.get_channel_display(),
                "content": followup.content,
            }
        else:
            kind, icon = "followup", "bi-chat-left-text"
            title = f"{followup.get_channel_display()}: {followup.content}"
        yield TimelineEvent(
            at=followup.created_at,
            kind=kind,
            title=title,
            detail=detail.strip(),
            actor=str(followup.author or ""),
            icon=icon,
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


@register
def service_stages(member, user):
    changes = ServiceStageChange.objects.filter(member=member).select_related("changed_by")[:100]
    for change in changes:
        yield TimelineEvent(
            at=change.changed_at,
            kind="service_stage",
            title=_("Service stage: %(stage)s") % {"stage": change.get_to_stage_display()},
            detail=change.note,
            actor=str(change.changed_by or ""),
            icon="bi-signpost-split",
        )
