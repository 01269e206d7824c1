"""Why a pair suits each other, in words a matchmaker can pass on (F-F4: the match score's reasons)."""

import datetime

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.members import divisions
from apps.members.models import Tag

from .engine import age_on


def _subject(profile: dict) -> str:
    return pgettext("subject pronoun", "she") if profile["gender"] == "female" else pgettext("subject pronoun", "he")


def _possessive(profile: dict) -> str:
    return pgettext("possessive", "her") if profile["gender"] == "female" else pgettext("possessive", "his")


def pair_reasons(me: dict, them: dict, *, today: datetime.date, tag_names: dict[int, str]) -> list[str]:
    """Reasons in both directions, most telling first; `me` and `them` are profile dicts."""
    reasons = []

    def same(key):
        return me[key] is not None and me[key] == them[key]

    if same("residence_city"):
        reasons.append(_("Both live in %(city)s") % {"city": divisions.name_of(str(me["residence_city"]))})
    elif same("native_city"):
        reasons.append(_("Both come from %(city)s") % {"city": divisions.name_of(str(me["native_city"]))})
    elif same("residence_province"):
        reasons.append(_("Both live in %(province)s") % {"province": divisions.name_of(str(me["residence_province"]))})
    shared = [tag_names[t] for t in me["tag_ids"] if t in set(them["tag_ids"]) and t in tag_names]
    if shared:
        reasons.append(_("Both: %(tags)s") % {"tags": "、".join(shared[:4])})
    for wisher, other in ((me, them), (them, me)):
        wanted = [tag_names[t] for t in wisher["pref_nice_tag_ids"] if t in set(other["tag_ids"]) and t in tag_names]
        if wanted:
            reasons.append(_("Has what %(who)s would like: %(tags)s") % {"who": _subject(wisher),
                                                                         "tags": "、".join(wanted[:3])})  # fmt: skip
        if wisher["pref_education_min"] is not None and other["education"] is not None:
            reasons.append(_("Meets %(whose)s education requirement") % {"whose": _possessive(wisher)})
        if wisher["pref_income_min"] is not None and other["income"] is not None:
            reasons.append(_("Meets %(whose)s income requirement") % {"whose": _possessive(wisher)})
        age = age_on(other["birth_date"], today)
        if wisher["pref_age_min"] is not None and wisher["pref_age_max"] is not None and age is not None:
            reasons.append(_("Age %(age)s, within %(whose)s wish of %(low)s-%(high)s") % {
                "age": age, "whose": _possessive(wisher), "low": wisher["pref_age_min"],
                "high": wisher["pref_age_max"]})  # fmt: skip
        if wisher["pref_height_min"] is not None and other["height_cm"] is not None:
            reasons.append(_("%(height)s cm, within %(whose)s height wish") % {
                "height": other["height_cm"], "whose": _possessive(wisher)})  # fmt: skip
    return reasons


def tag_names_for(*, agency, profiles) -> dict[int, str]:
    ids = set()
    for profile in profiles:
        ids |= set(profile["tag_ids"]) | set(profile["pref_nice_tag_ids"])
    return dict(Tag.objects.filter(agency=agency, pk__in=ids).values_list("pk", "name")) if ids else {}
