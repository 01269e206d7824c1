"""A profile change request as rows a person reads: field, before, requested, and the value now."""

from django.utils.translation import gettext as _

from apps.members import divisions
from apps.members.models import Member, PartnerPreference

from .models import ProfileChangeRequest

LOCATION_FIELDS = {"residence_province", "residence_city", "residence_district"}


def _display(model, field_name: str, value) -> str:
    field = model._meta.get_field(field_name)
    if value in (None, "", []):
        return "—"
    if field_name in LOCATION_FIELDS:
        return divisions.name_of(value) or str(value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    choices = dict(getattr(field, "flatchoices", None) or [])
    base = getattr(field, "base_field", None)
    if isinstance(value, list):
        labels = dict(base.flatchoices) if base is not None and base.choices else {}
        return ", ".join(str(labels.get(item, item)) for item in value)
    return str(choices.get(value, value))


def change_rows(change: ProfileChangeRequest) -> list[dict]:
    member = Member.objects.filter(agency=change.agency_id, pk=change.member_id).first()
    preference = PartnerPreference.objects.filter(agency=change.agency_id, member_id=change.member_id).first()
    rows = []
    for section, model, current in (("profile", Member, member), ("preference", PartnerPreference, preference)):
        for field_name, values in change.changes.get(section, {}).items():
            now = getattr(current, field_name, None) if current is not None else None
            if isinstance(now, list):
                now = sorted(now)
            rows.append({
                "section": section,
                "label": str(model._meta.get_field(field_name).verbose_name),
                "old": _display(model, field_name, values["old"]),
                "new": _display(model, field_name, values["new"]),
                "now": _display(model, field_name, now),
                "moved_on": change.status == ProfileChangeRequest.Status.PENDING and now != values["old"],
            })  # fmt: skip
    return rows
