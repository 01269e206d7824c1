"""The member list as an .xlsx workbook (F-C8): visible rows only, contact details masked unless revealed."""

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from apps.core.templatetags.matchcrm import mask_phone

from . import divisions


def members_workbook(queryset, *, reveal: bool) -> tuple[Workbook, int]:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Members"))
    header = [
        _("Member number"), _("Name"), _("Gender"), _("Date of birth"), _("Height (cm)"), _("Education"),
        _("Monthly income"), _("Marital status"), _("City"), _("Mobile phone"), _("WeChat"), _("Email"),
        _("Status"), _("Presale matchmaker"), _("After-sale matchmaker"), _("Follow-ups"), _("Registered at"),
    ]  # fmt: skip
    sheet.append([_bold(sheet, title) for title in header])
    rows = 0
    for member in queryset.iterator(chunk_size=2000):
        sheet.append([
            member.member_no, member.name, member.get_gender_display(), member.birth_date, member.height_cm,
            member.get_education_display() or "", member.get_income_display() or "",
            member.get_marital_status_display(), divisions.name_of(member.residence_city),
            member.phone if reveal else mask_phone(member.phone),
            member.wechat if reveal else ("****" if member.wechat else ""),
            member.email if reveal else ("****" if member.email else ""),
            member.get_status_display(), str(member.presale_owner or ""), str(member.aftersale_owner or ""),
            member.followup_count, timezone.localtime(member.created_at).replace(tzinfo=None),
        ])  # fmt: skip
        rows += 1
    return workbook, rows


def _bold(sheet, value):
    cell = WriteOnlyCell(sheet, value=str(value))
    cell.font = Font(bold=True)
    return cell
