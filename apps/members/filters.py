import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Member


class MemberFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"), method="search", help_text=_("Member number, name, phone or WeChat.")
    )
    gender = django_filters.ChoiceFilter(label=_("Gender"), choices=Member.Gender.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Member.Status.choices)
    sort = django_filters.OrderingFilter(
        label=_("Sort by"),
        fields=(("created_at", "registered"), ("name", "name"), ("member_no", "number")),
        field_labels={"created_at": _("Registration time"), "name": _("Name"), "member_no": _("Member number")},
    )

    class Meta:
        model = Member
        fields = ["q", "gender", "status"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(member_no__iexact=value) | Q(name__icontains=value) | Q(phone__contains=value) | Q(wechat__iexact=value)
        )
