"""The appointment and success-story lists' filters, as query parameters."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.finance.filters import DATE_WIDGET, LocalDateFilter

from .models import Appointment, SuccessStory
from .selectors import IN_SERVICE_STATUSES


def _either_member(queryset, value: str):
    """Member number exactly, or name in part, of either member."""
    value = value.strip()
    if not value:
        return queryset
    condition = Q()
    for side in ("member_a", "member_b"):
        condition |= Q(**{f"{side}__member_no__iexact": value}) | Q(**{f"{side}__name__icontains": value})
    return queryset.filter(condition)


class AppointmentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search",
                                  help_text=_("Member number or name, of either member."))  # fmt: skip
    date_from = LocalDateFilter(label=_("From"), field_name="starts_at", lookup_expr="gte", widget=DATE_WIDGET)
    date_to = LocalDateFilter(label=_("To"), field_name="starts_at", lookup_expr="lte", widget=DATE_WIDGET)

    class Meta:
        model = Appointment
        fields = []

    def search(self, queryset, name, value):
        return _either_member(queryset, value)


class NotArrangedFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search", help_text=_("Member number or name."))
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=[(status.value, status.label) for status in IN_SERVICE_STATUSES]
    )

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(member_no__iexact=value) | Q(name__icontains=value)) if value else queryset


STORY_STATUSES = [("draft", _("Draft")), ("published", _("Published"))]


class StoryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search",
                                  help_text=_("Member number or name, of either member."))  # fmt: skip
    status = django_filters.ChoiceFilter(label=_("Status"), choices=STORY_STATUSES, method="filter_status")
    year = django_filters.TypedChoiceFilter(label=_("Year"), field_name="story_date__year", coerce=int)

    class Meta:
        model = SuccessStory
        fields = []

    def __init__(self, *args, years, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["year"].extra["choices"] = [(year, str(year)) for year in years]

    def search(self, queryset, name, value):
        return _either_member(queryset, value)

    def filter_status(self, queryset, name, value):
        return queryset.filter(is_published=value == "published") if value else queryset
