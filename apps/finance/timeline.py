"""Contract events on the 360° member page's timeline (one query)."""

from django.utils.translation import gettext as _

from apps.members.timeline import TimelineEvent, register

from .models import ContractEvent

ICONS = {
    "approved": "bi-check2-circle", "rejected": "bi-x-circle", "paid": "bi-cash-coin", "confirmed": "bi-cash-stack",
    "refund_applied": "bi-arrow-return-left", "refund_approved": "bi-arrow-return-left",
}  # fmt: skip


@register
def contract_events(member, user):
    if not user.has_perm("matchmakers.view_contracts"):
        return
    for event in ContractEvent.objects.filter(member=member).select_related("actor").order_by("-at")[:200]:
        yield TimelineEvent(
            at=event.at,
            kind="contract",
            title=_("Contract %(number)s: %(what)s")
            % {"number": event.contract_number, "what": event.get_kind_display()},
            detail=event.note,
            actor=str(event.actor or _("System")),
            icon=ICONS.get(event.kind, "bi-file-earmark-text"),
        )
