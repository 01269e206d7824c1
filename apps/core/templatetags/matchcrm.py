from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def mask_phone(value: str) -> str:
    """138****8000: enough to recognise a number, not enough to call it (F-C7)."""
    value = value or ""
    if len(value) < 7:
        return "*" * len(value)
    return f"{value[:3]}****{value[-4:]}"


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with some parameters replaced (pagination keeps the filters)."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def mask_id(value: str) -> str:
    """330106********1234: region and last four only (F-C7)."""
    value = value or ""
    if len(value) < 10:
        return "*" * len(value)
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


@register.filter
def age(birth_date) -> int | str:
    """Age today in the agency's time zone, from a date of birth."""
    if not birth_date:
        return ""
    today = timezone.localdate()
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


@register.filter
def mask_name(value: str) -> str:
    """王** : the first character and two stars whatever the length (which would say something too),
    for people the viewer may not identify: match results, public success stories."""
    value = (value or "").strip()
    return f"{value[0]}**" if value else "**"
