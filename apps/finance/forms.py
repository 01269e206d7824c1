from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.matchmakers.models import User

from .models import Contract, FinanceSettings, Payment, ServicePackage

MONEY_FIELD = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0.01")}
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PackageForm(forms.ModelForm):
    class Meta:
        model = ServicePackage
        fields = ["name", "price", "duration_months", "recommendations", "appointments", "dedicated_matchmaker",
                  "priority_recommendation", "is_active", "description"]  # fmt: skip
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class FinanceSettingsForm(forms.ModelForm):
    class Meta:
        model = FinanceSettings
        fields = ["contract_number_pattern", "payment_number_pattern", "refund_number_pattern", "expiry_reminder_days"]
        help_texts = {
            "contract_number_pattern": _("{YYYY} {YY} {MM} {DD} stand for the date, {SEQ:4} for the running number "
                                         "with four digits. Example: HT{YYYY}{MM}{SEQ:4} gives HT2026110007."),
        }  # fmt: skip


class ContractForm(forms.Form):
    """The terms sales enter; the schedule comes from InstalmentFormSet (or the default one)."""

    member_no = forms.CharField(label=_("Member number"), max_length=20)
    package = forms.ModelChoiceField(queryset=ServicePackage.objects.none(), label=_("Service package"))
    amount = forms.DecimalField(label=_("Amount (yuan)"), required=False, **MONEY_FIELD,
                                help_text=_("Leave empty for the package price."))  # fmt: skip
    payment_type = forms.ChoiceField(label=_("Payment type"), choices=Contract.PaymentType.choices)
    service_start = forms.DateField(label=_("Service starts"), widget=DATE_WIDGET)
    service_end = forms.DateField(label=_("Service ends"), widget=DATE_WIDGET, required=False,
                                  help_text=_("Leave empty for the package's duration."))  # fmt: skip
    salesperson = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Salesperson"))
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, packages, salespeople, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["package"].queryset = packages
        self.fields["salesperson"].queryset = salespeople


class InstalmentForm(forms.Form):
    due_date = forms.DateField(
        label=_("Due on"), required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}, format="%Y-%m-%d"),
    )  # fmt: skip
    amount = forms.DecimalField(
        label=_("Amount (yuan)"), required=False, **MONEY_FIELD,
        widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "step": "0.01"}),
    )  # fmt: skip

    def clean(self):
        data = super().clean()
        if bool(data.get("due_date")) != bool(data.get("amount")):
            raise forms.ValidationError(_("Give both the date and the amount of an instalment, or neither."))
        return data


InstalmentFormSet = forms.formset_factory(InstalmentForm, extra=0, max_num=24, absolute_max=24)


def schedule_from(formset) -> list | None:
    """The filled rows of a valid instalment formset, or None (the service then proposes a schedule)."""
    rows = [(form.cleaned_data["due_date"], form.cleaned_data["amount"]) for form in formset.forms
            if form.cleaned_data.get("due_date")]  # fmt: skip
    return rows or None


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class PaymentForm(forms.ModelForm):
    amount = forms.DecimalField(label=_("Amount (yuan)"), **MONEY_FIELD)

    class Meta:
        model = Payment
        fields = ["amount", "method", "paid_at", "reference", "note"]
        widgets = {"paid_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")}


class RefundForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount (yuan)"), **MONEY_FIELD)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)
