import datetime

from django import template
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.members.choices import ServiceStatus, Status

from ..models import Contract
from ..selectors import amount_due, member_contracts
from ..services import agency_today

register = template.Library()

# What the contract history calls the values it records (ContractEvent.before/after keys).
FIELD_LABELS = {
    "status": _("Status"), "amount": _("Amount (yuan)"), "package": _("Service package"),
    "payment_type": _("Payment type"), "service_start": _("Service starts"), "service_end": _("Service ends"),
    "salesperson": _("Salesperson"), "notes": _("Notes"), "instalments": _("Payment schedule"),
    "renewal_of": _("Renewal of"), "payment": _("Payment number"), "method": _("Method"), "paid_at": _("Paid at"),
    "paid": _("Paid (confirmed)"), "refund": _("Refund number"), "refunded": _("Refunded"),
    "member_status": _("Member status"), "service_status": _("Service status"),
}  # fmt: skip
VALUE_LABELS = {
    "status": dict(Contract.Status.choices), "payment_type": dict(Contract.PaymentType.choices),
    "member_status": dict(Status.choices), "service_status": dict(ServiceStatus.choices),
}  # fmt: skip


def _show(key, value):
    if key == "instalments" and isinstance(value, list):
        return "; ".join(f"{due} {amount}" for due, amount in value)
    if isinstance(value, str) and len(value) > 10 and value[4:5] == "-" and "T" in value:
        try:  # a moment stored as ISO text: show it in the agency's time like the rest of the page
            return timezone.localtime(datetime.datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    return VALUE_LABELS.get(key, {}).get(value, value)


@register.simple_tag
def event_changes(event):
    """[(label, before or None, after)] for one ContractEvent, in words a matchmaker reads."""
    rows = []
    order = list(FIELD_LABELS)  # jsonb does not keep key order: show them in a fixed, readable one
    for key, value in sorted(event.after.items(), key=lambda item: order.index(item[0]) if item[0] in order else 99):
        before = event.before.get(key)
        rows.append((FIELD_LABELS.get(key, key), None if before is None else _show(key, before), _show(key, value)))
    return rows


@register.inclusion_tag("finance/partials/contracts_panel.html", takes_context=True)
def contracts_panel(context, member):
    """The member page's "Contracts" card: the effective contract's entitlements and every contract."""
    user = context["user"]
    if not user.has_perm("matchmakers.view_contracts"):
        return {"show": False}
    contracts = member_contracts(member=member)
    today = agency_today(context["request"].agency)
    effective = next((c for c in contracts if c.status == Contract.Status.APPROVED
                      and c.service_start <= today <= c.service_end), None)  # fmt: skip
    if effective is not None:
        effective.due_now = amount_due(effective, today=today)
    return {"show": True, "member": member, "contracts": contracts, "contract": effective, "perms": context["perms"]}
