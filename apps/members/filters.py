"""The member list's filters (F-C1 list, F-E1): every one a query parameter, so views bookmark."""

import datetime

import django_filters
from dateutil.relativedelta import relativedelta
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.validators import normalize_mobile

from . import choices, divisions
from .models import Member

REGISTRATION_WINDOWS = {
    "3d": (_("Last 3 days"), relativedelta(days=3)),
    "1m": (_("Last month"), relativedelta(months=1)),
    "3m": (_("Last 3 months"), relativedelta(months=3)),
    "6m": (_("Last 6 months"), relativedelta(months=6)),
    "1y": (_("Last year"), relativedelta(years=1)),
}
FOLLOWUP_BUCKETS = {
    "0": (_("Never followed up"), {"followup_count": 0}),
    "1": (_("Followed up once"), {"followup_count": 1}),
    "le3": (_("Up to 3 times"), {"followup_count__gte": 1, "followup_count__lte": 3}),
    "le5": (_("Up to 5 times"), {"followup_count__gte": 1, "followup_count__lte": 5}),
    "6plus": (_("6 times or more"), {"followup_count__gte": 6}),
}


def _years_ago(years: int) -> datetime.date:
    return timezone.localdate() - relativedelta(years=years)


class MemberFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Quick search"), method="search", help_text=_("Member number, name, phone or WeChat.")
    )
    member_no = django_filters.CharFilter(label=_("Member number"), lookup_expr="iexact")
    name = django_filters.CharFilter(label=_("Name"), lookup_expr="icontains")
    phone = django_filters.CharFilter(label=_("Mobile phone"), method="filter_phone")
    email = django_filters.CharFilter(label=_("Email"), lookup_expr="icontains")
    gender = django_filters.ChoiceFilter(label=_("Gender"), choices=choices.Gender.choices)
    age_min = django_filters.NumberFilter(label=_("Age from"), method="filter_age_min", min_value=16, max_value=120)
    age_max = django_filters.NumberFilter(label=_("Age to"), method="filter_age_max", min_value=16, max_value=120)
    height_min = django_filters.NumberFilter(label=_("Height from (cm)"), field_name="height_cm", lookup_expr="gte")
    height_max = django_filters.NumberFilter(label=_("Height to (cm)"), field_name="height_cm", lookup_expr="lte")
    education = django_filters.ChoiceFilter(
        label=_("Education at least"), choices=choices.Education.choices, lookup_expr="gte"
    )
    income = django_filters.ChoiceFilter(label=_("Income at least"), choices=choices.Income.choices, lookup_expr="gte")
    marital_status = django_filters.MultipleChoiceFilter(
        label=_("Marital status"), choices=choices.MaritalStatus.choices, widget=forms.SelectMultiple(attrs={"size": 2})
    )
    city = django_filters.ChoiceFilter(
        label=_("City"), field_name="residence_city", choices=divisions.city_choices_grouped
    )
    tag = django_filters.TypedMultipleChoiceFilter(
        label=_("Tags"), method="filter_tags", coerce=int, widget=forms.SelectMultiple(attrs={"size": 2})
    )
    registered = django_filters.ChoiceFilter(
        label=_("Registered"),
        choices=[(key, label) for key, (label, _delta) in REGISTRATION_WINDOWS.items()],
        method="filter_registered",
    )
    followups = django_filters.ChoiceFilter(
        label=_("Follow-ups"),
        choices=[(key, label) for key, (label, _lookup) in FOLLOWUP_BUCKETS.items()],
        method="filter_followups",
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=choices.Status.choices)
    sort = django_filters.OrderingFilter(
        label=_("Sort by"),
        fields=(
            ("created_at", "registered"),
            ("birth_date", "birth"),
            ("height_cm", "height"),
            ("followup_count", "followups"),
            ("member_no", "number"),
        ),
        field_labels={
            "created_at": _("Registration time"),
            "birth_date": _("Date of birth"),
            "height_cm": _("Height"),
            "followup_count": _("Follow-ups"),
            "member_no": _("Member number"),
        },
    )

    class Meta:
        model = Member
        fields = []

    def __init__(self, *args, tag_choices=(), reveal_contacts=False, **kwargs):
        super().__init__(*args, **kwargs)
        # Without the reveal permission a phone matches only in full: partial matches would let a
        # user read the masked digits off the results one query at a time.
        self.reveal_contacts = reveal_contacts
        self.filters["tag"].extra["choices"] = tag_choices

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(member_no__iexact=value) | Q(name__icontains=value) | self._phone_match(value) | Q(wechat__iexact=value)
        )

    def _phone_match(self, value) -> Q:
        return Q(phone__contains=value) if self.reveal_contacts else Q(phone=normalize_mobile(value))

    def filter_phone(self, queryset, name, value):
        return queryset.filter(self._phone_match(value.strip())) if value.strip() else queryset

    def filter_age_min(self, queryset, name, value):
        return queryset.filter(birth_date__lte=_years_ago(int(value)))

    def filter_age_max(self, queryset, name, value):
        return queryset.filter(birth_date__gt=_years_ago(int(value) + 1))

    def filter_tags(self, queryset, name, value):
        return queryset.filter(tag_ids__contains=list(value)) if value else queryset

    def filter_registered(self, queryset, name, value):
        _label, delta = REGISTRATION_WINDOWS[value]
        return queryset.filter(created_at__gte=timezone.now() - delta)

    def filter_followups(self, queryset, name, value):
        _label, lookup = FOLLOWUP_BUCKETS[value]
        return queryset.filter(**lookup)
