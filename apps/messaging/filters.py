"""The notification log's filters (F-H3), as query parameters."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.finance.filters import DATE_WIDGET, LocalDateFilter

from .models import Kind, Notification

# "Retrying" is a queued row with a failed attempt behind it; staff look for it apart from new ones.
STATUS_CHOICES = [
    ("queued", _("Queued")),
    ("retrying", _("Retrying")),
    (Notification.Status.SENT.value, Notification.Status.SENT.label),
    (Notification.Status.FAILED.value, Notification.Status.FAILED.label),
]


class NotificationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Member"), method="search", help_text=_("Member number or name."))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=STATUS_CHOICES, method="filter_status")
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=Notification.Channel.choices)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Kind.choices)
    created_from = LocalDateFilter(label=_("From"), field_name="created_at", lookup_expr="gte",
                                   widget=DATE_WIDGET)  # fmt: skip
    created_to = LocalDateFilter(label=_("To"), field_name="created_at", lookup_expr="lte",
                                 widget=DATE_WIDGET)  # fmt: skip

    class Meta:
        model = Notification
        fields = []

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(member__member_no__iexact=value) | Q(member__name__icontains=value))

    def filter_status(self, queryset, name, value):
        if value == "queued":
            return queryset.filter(status=Notification.Status.QUEUED, attempts=0)
        if value == "retrying":
            return queryset.filter(status=Notification.Status.QUEUED, attempts__gt=0)
        return queryset.filter(status=value) if value else queryset
