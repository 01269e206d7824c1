from django import template

from apps.members import choices, divisions

register = template.Library()

_CHOICES = {"marital": choices.MaritalStatus}


@register.filter
def choice_labels(values, vocabulary: str) -> str:
    """ "Never married, Widowed" from ["never_married", "widowed"]."""
    labels = dict(_CHOICES[vocabulary].choices)
    return "、".join(str(labels.get(value, value)) for value in values or [])


@register.filter
def division_names(codes) -> str:
    return "、".join(divisions.name_of(code) for code in codes or [])
