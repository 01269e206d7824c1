"""The finance lists' filters (F-G2 … F-G4): the search fields of the manual, as query parameters."""

import datetime

import django_filters
from dateutil.relativedelta import relativedelta
from django import forms
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Contract, Payment, Refund

DATE_WIDGET = forms.DateInput(attrs={"type": "date"})


def _midnight(day: datetime.date) -> datetime.datetime:
    """The start of `day` in the current (the agency's) time zone: ranges on it use the datetime indexes."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class LocalDateFilter(django_filters.DateFilter):
    """A date bound on a datetime field, as the agency's calendar day (from its start, or to its end)."""

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if self.lookup_expr == "gte":
            return qs.filter(**{f"{self.field_name}__gte": _midnight(value)})
        return qs.filter(**{f"{self.field_name}__lt": _midnight(value + datetime.timedelta(days=1))})


def _member_or_number(queryset, value: str, *number_fields: str):
    """Quick search: a number field exactly, or the member's number exactly, or the member's name in part."""
    value = value.strip()
    if not value:
        return queryset
    condition = Q(member__member_no__iexact=value) | Q(member__name__icontains=value)
    for field in number_fields:
        condition |= Q(**{f"{field}__iexact": value})
    return queryset.filter(condition)


class ContractFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search",
                                  help_text=_("Contract number, member number or member name."))  # fmt: skip
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Contract.Status.choices)
    salesperson = django_filters.ModelChoiceFilter(label=_("Salesperson"), queryset=None)
    package = django_filters.ModelChoiceFilter(label=_("Service package"), queryset=None)
    payment_type = django_filters.ChoiceFilter(label=_("Payment type"), choices=Contract.PaymentType.choices)
    created_from = LocalDateFilter(label=_("Entered from"), field_name="created_at", lookup_expr="gte",
                                             widget=DATE_WIDGET)  # fmt: skip
    created_to = LocalDateFilter(label=_("Entered to"), field_name="created_at", lookup_expr="lte",
                                           widget=DATE_WIDGET)  # fmt: skip
    unpaid = django_filters.BooleanFilter(label=_("Not fully paid"), method="filter_unpaid",
                                          widget=forms.CheckboxInput)  # fmt: skip

    class Meta:
        model = Contract
        fields = []

    def __init__(self, *args, salespeople, packages, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["salesperson"].queryset = salespeople
        self.filters["package"].queryset = packages

    def search(self, queryset, name, value):
        return _member_or_number(queryset, value, "number")

    def filter_unpaid(self, queryset, name, value):
        return queryset.filter(paid_amount__lt=F("amount")) if value else queryset


PAYMENT_WINDOWS = {"week": _("Last 7 days"), "month": _("Last month"), "all": _("All")}


class PaymentFilter(django_filters.FilterSet):
    window = django_filters.ChoiceFilter(
        label=_("Period"), choices=list(PAYMENT_WINDOWS.items()), method="filter_window", empty_label=None
    )
    q = django_filters.CharFilter(
        label=_("Search"), method="search", help_text=_("Payment or contract number, reference, member number or name.")
    )
    paid_from = LocalDateFilter(label=_("Paid from"), field_name="paid_at", lookup_expr="gte",
                                          widget=DATE_WIDGET)  # fmt: skip
    paid_to = LocalDateFilter(label=_("Paid to"), field_name="paid_at", lookup_expr="lte",
                                        widget=DATE_WIDGET)  # fmt: skip
    method = django_filters.ChoiceFilter(label=_("Method"), choices=Payment.Method.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Payment.Status.choices)

    class Meta:
        model = Payment
        fields = []

    def __init__(self, *args, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def search(self, queryset, name, value):
        return _member_or_number(queryset, value, "number", "contract__number", "reference")

    def filter_window(self, queryset, name, value):
        if value == "week":
            return queryset.filter(paid_at__gte=_midnight(self.today - datetime.timedelta(days=6)))
        if value == "month":
            return queryset.filter(
                paid_at__gte=_midnight(self.today - relativedelta(months=1) + datetime.timedelta(days=1))
            )
        return queryset


class RefundFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="search",
        help_text=_("Refund (order) number, contract number, member number or name."),
    )
    member_name = django_filters.CharFilter(label=_("Member name"), field_name="member__name", lookup_expr="icontains")
    member_no = django_filters.CharFilter(
        label=_("Member number"), field_name="member__member_no", lookup_expr="iexact"
    )
    number = django_filters.CharFilter(label=_("Refund number"), lookup_expr="iexact")
    contract_number = django_filters.CharFilter(label=_("Contract number"), field_name="contract__number",
                                                lookup_expr="iexact")  # fmt: skip
    applied_from = LocalDateFilter(label=_("Applied from"), field_name="applied_at", lookup_expr="gte",
                                             widget=DATE_WIDGET)  # fmt: skip
    applied_to = LocalDateFilter(label=_("Applied to"), field_name="applied_at", lookup_expr="lte",
                                           widget=DATE_WIDGET)  # fmt: skip
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Refund.Status.choices)

    class Meta:
        model = Refund
        fields = []

    def search(self, queryset, name, value):
        return _member_or_number(queryset, value, "number", "contract__number")
