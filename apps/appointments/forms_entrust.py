"""Forms and filters of entrust requests (F-F6): the portal's card gallery and request, the staff's handling."""

import django_filters
from dateutil.relativedelta import relativedelta
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.members import choices, divisions
from apps.members.models import Member

from .entrust import NOTE_MAX_LENGTH, REASON_MAX_LENGTH
from .models import EntrustRequest

AGE_LIMITS = {"min_value": 18, "max_value": 99}


def _years_ago(years: int):
    return timezone.localdate() - relativedelta(years=years)


class CardFilter(django_filters.FilterSet):
    """The portal gallery's filters: age range, city, education at least."""

    age_min = django_filters.NumberFilter(label=_("Age from"), method="filter_age_min", **AGE_LIMITS)
    age_max = django_filters.NumberFilter(label=_("Age to"), method="filter_age_max", **AGE_LIMITS)
    city = django_filters.ChoiceFilter(label=_("City"), field_name="residence_city", empty_label=_("Any city"))
    education = django_filters.ChoiceFilter(label=_("Education at least"), choices=choices.Education.choices,
                                            lookup_expr="gte", empty_label=_("Any"))  # fmt: skip

    class Meta:
        model = Member
        fields = []

    def __init__(self, *args, city_codes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["city"].extra["choices"] = [(code, divisions.name_of(code)) for code in city_codes]

    def filter_age_min(self, queryset, name, value):
        return queryset.filter(birth_date__lte=_years_ago(int(value)))

    def filter_age_max(self, queryset, name, value):
        return queryset.filter(birth_date__gt=_years_ago(int(value) + 1))


class EntrustNoteForm(forms.Form):
    note = forms.CharField(
        label=_("Message to your matchmaker"), required=False, max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional: what you liked, or when you are free. Only your matchmaker reads it."),
    )  # fmt: skip


class EntrustFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=EntrustRequest.Status.choices,
                                         empty_label=_("All"))  # fmt: skip
    mine = django_filters.BooleanFilter(label=_("Assigned to me"), method="filter_mine", widget=forms.CheckboxInput)

    class Meta:
        model = EntrustRequest
        fields = []

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def filter_mine(self, queryset, name, value):
        return queryset.filter(assigned_to=self.user) if value else queryset


class EntrustAssignForm(forms.Form):
    to_user = forms.ModelChoiceField(
        label=_("Matchmaker"), queryset=None,
        help_text=_("Someone who may see this member and handle requests: you or your team."),
    )  # fmt: skip

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = staff


class EntrustRecommendForm(forms.Form):
    candidate = forms.CharField(
        label=_("Candidate's member number"), max_length=20, required=False,
        help_text=_("The member you recommend, e.g. M2026000123; find one in the member's match library."),
    )  # fmt: skip
    reason = forms.CharField(
        label=_("Why they suit each other"), widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The member reads it with the recommendation."),
        error_messages={"required": _("Write why you recommend this candidate; the member reads it.")},
    )  # fmt: skip

    def __init__(self, *args, needs_candidate: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if needs_candidate:
            self.fields["candidate"].required = True
            self.fields["candidate"].error_messages["required"] = _("Name the member you recommend (their "
                                                                       "member number).")  # fmt: skip
        else:
            del self.fields["candidate"]


class EntrustDeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The member reads this in the portal: write it to them, kindly."),
        error_messages={"required": _("Say why, in words for the member: they read it in the portal.")},
    )  # fmt: skip
