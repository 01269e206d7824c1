import datetime

from dateutil.relativedelta import relativedelta
from django import forms
from django.utils.translation import gettext_lazy as _

from apps.finance.services import agency_today

from . import dashboards


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")  # what <input type="date"> reads and sends


class DashboardFilterForm(forms.Form):
    """The date range (local days, inclusive) and branch of the dashboards; empty fields take the defaults."""

    start = forms.DateField(label=_("From"), required=False, widget=DateInput)
    end = forms.DateField(label=_("To"), required=False, widget=DateInput)
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=None, required=False,
                                    empty_label=_("Everything I may see"))  # fmt: skip

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = user.agency
        self.fields["branch"].queryset = dashboards.branch_choices(user)
        self.fields["branch"].label_from_instance = lambda role: f"{'— ' * role.level}{role.name}"
        for name, field in self.fields.items():
            small = "form-select form-select-sm" if name == "branch" else "form-control form-control-sm"
            field.widget.attrs["class"] = small

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] += " is-invalid"

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        default_start, default_end = dashboards.default_range(self.agency)
        end = cleaned.get("end") or default_end
        start = cleaned.get("start") or (end - (default_end - default_start))
        today = agency_today(self.agency)
        if end > today:
            self.add_error("end", _("The range cannot end after today."))
        elif start > end:
            self.add_error("start", _("The start must not be after the end."))
        elif (end - start).days + 1 > dashboards.MAX_DAYS:
            self.add_error("start", _("Choose at most %(days)s days.") % {"days": dashboards.MAX_DAYS})
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    @staticmethod
    def presets(today: datetime.date) -> list[tuple[str, datetime.date, datetime.date]]:
        """Quick ranges offered above the form."""
        return [
            (str(_("Last 7 days")), today - datetime.timedelta(days=6), today),
            (str(_("Last 30 days")), today - datetime.timedelta(days=29), today),
            (str(_("This month")), today.replace(day=1), today),
            (str(_("This year")), today.replace(month=1, day=1), today),
            (str(_("Last 12 months")), today - relativedelta(years=1) + datetime.timedelta(days=1), today),
        ]
