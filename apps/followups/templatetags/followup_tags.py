from django import template
from django.utils import timezone

from apps.followups.forms import AbandonForm, FollowUpForm, StageMoveForm
from apps.followups.models import AFTERSALE_STATUSES, FollowUp
from apps.followups.selectors import member_stage, member_stage_history
from apps.followups.services import member_in_aftersale, stages_allowed

register = template.Library()

SERVICE_NOTES_SHOWN = 10


@register.inclusion_tag("followups/partials/followup_panel.html", takes_context=True)
def followup_panel(context, member):
    """The member page's "record a follow-up" and "abandon" forms; for a member in after-sale service
    also the service notes (F-F2): the form offers them and the panel lists the latest."""
    in_service = member.status in AFTERSALE_STATUSES
    notes = []
    if in_service and context["user"].has_perm("matchmakers.view_followups"):
        notes = list(
            FollowUp.objects.filter(member=member, kind=FollowUp.Kind.SERVICE_NOTE).select_related("author")[
                :SERVICE_NOTES_SHOWN
            ]
        )
    return {
        "member": member,
        "perms": context["perms"],
        "csrf_token": context.get("csrf_token"),
        "followup_form": FollowUpForm(service_notes=in_service),
        "abandon_form": AbandonForm(),
        "in_service": in_service,
        "service_notes": notes,
    }


@register.inclusion_tag("followups/partials/service_stage_panel.html", takes_context=True)
def service_stage_panel(context, member, form=None):
    """The member's service workflow card (F-F9): stage, due time (red when overdue), the form to
    move it on and the history. `form` is a bound StageMoveForm to show its errors again."""
    user = context["user"]
    if not user.has_perm("matchmakers.view_followups"):
        return {"show": False}
    stage = member_stage(member=member)
    return {
        "show": True,
        "member": member,
        "stage": stage,
        "overdue": bool(stage and stage.due_at and stage.due_at < timezone.now()),
        "in_aftersale": member_in_aftersale(member),
        "may_move": user.has_perm("matchmakers.edit_followups"),
        "form": form or StageMoveForm(stages=stages_allowed(user, stage.stage if stage else None)),
        "history": member_stage_history(member=member),
        "csrf_token": context.get("csrf_token"),
    }
