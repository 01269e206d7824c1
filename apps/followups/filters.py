"""The after-sale list's filters: the member list's, plus the state of the member's service."""

import django_filters
from django.utils.translation import gettext_lazy as _

from apps.members import choices
from apps.members.filters import MemberFilter


class AftersaleFilter(MemberFilter):
    service_status = django_filters.ChoiceFilter(label=_("Service status"), choices=choices.ServiceStatus.choices)
