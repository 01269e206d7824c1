"""New-match discovery (001 §2.3) and the silent-members list."""

import datetime

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from apps.matching import engine
from apps.matching.models import MatchProfile
from apps.members.models import Member, PartnerPreference

from . import services
from .models import Reminder
from .registry import job
from .selectors import silent_members

# At most this many changed members are searched per run; the rest wait for the next run, which
# starts from where this one stopped.
DISCOVERY_BATCH = 2000
# How many of the best new candidates a reminder lists.
DISCOVERY_SHOWN = 5
FIRST_RUN_LOOKBACK = datetime.timedelta(hours=24)


def _changed_members(agency, since: datetime.datetime, after_pk: int | None = None):
    """Members with an active after-sale matchmaker who are looking (eligible in the engine) and who
    joined, or changed their profile or partner preferences, after `since`; oldest change first."""
    preference_changed = PartnerPreference.objects.filter(agency=agency, member=OuterRef("pk")).values("updated_at")[:1]
    return (
        Member.objects.filter(agency=agency, aftersale_owner__isnull=False, aftersale_owner__is_active=True)
        .filter(Exists(MatchProfile.objects.filter(agency=agency, member=OuterRef("pk"), eligible=True)))
        # GREATEST skips the NULL of a member without preferences.
        .annotate(changed_at=Greatest("created_at", "updated_at", Subquery(preference_changed)))
        .filter(Q(changed_at__gt=since) | Q(changed_at=since, pk__gt=after_pk or 0))
        .only("pk", "agency_id", "name", "member_no", "aftersale_owner_id")
        .order_by("changed_at", "pk")
    )


@job("new_match_discovery", gettext_lazy("New-match discovery"))
def new_match_discovery(agency, today: datetime.date) -> dict:
    """For members who joined or changed since the last run, tell their after-sale matchmaker about
    candidates at or above the agency's score threshold who were never recommended to them."""
    started = timezone.now()
    settings = services.settings_for(agency)
    since = settings.discovery_ran_at or started - FIRST_RUN_LOOKBACK
    after_pk = settings.discovery_last_member_id if settings.discovery_ran_at else None
    members = list(_changed_members(agency, since, after_pk)[:DISCOVERY_BATCH])
    weights = engine.weights(agency)
    found: dict[int, list[engine.Candidate]] = {}
    for member in members:
        best = engine.top_candidates(agency=agency, member=member, limit=DISCOVERY_SHOWN, today=today, weights_=weights)
        above = [candidate for candidate in best if candidate.score >= settings.discovery_threshold]
        if above:
            found[member.pk] = above
    candidate_ids = {candidate.member_id for above in found.values() for candidate in above}
    rows = Member.objects.filter(agency=agency, pk__in=candidate_ids).values_list("pk", "member_no", "name")
    labels = {pk: f"{number} {name}" for pk, number, name in rows}
    reminders = []
    for member in members:
        if member.pk not in found:
            continue
        lines = [
            _("%(candidate)s — score %(score)s")
            % {"candidate": labels.get(candidate.member_id, ""), "score": candidate.score}
            for candidate in found[member.pk]
        ]
        title = _("New matches for %(name)s (%(number)s) at or above %(threshold)s") % {
            "name": member.name, "number": member.member_no, "threshold": settings.discovery_threshold,
        }  # fmt: skip
        reminders.append(Reminder(
            user_id=member.aftersale_owner_id, kind=Reminder.Kind.NEW_MATCHES, member=member, title=title[:200],
            body="\n".join(lines), due_on=today, key=f"new-matches:{member.pk}:{today.isoformat()}",
        ))  # fmt: skip
    created = services.remind(agency=agency, reminders=reminders)
    # A full batch leaves members behind: the next run starts after the last change searched.
    capped = len(members) == DISCOVERY_BATCH
    settings.discovery_ran_at = members[-1].changed_at if capped else started
    settings.discovery_last_member_id = members[-1].pk if capped else None
    settings.save(update_fields=["discovery_ran_at", "discovery_last_member_id"] if settings.pk else None)
    return {"members_checked": len(members), "with_new_matches": len(found), "reminders": created,
            "capped": int(capped)}  # fmt: skip


@job("silent_members", gettext_lazy("Silent members"))
def silent_members_reminders(agency, today: datetime.date) -> dict:
    """Once a week, tell each matchmaker how many of their members have gone silent."""
    days = services.settings_for(agency).silent_days
    per_owner = (
        silent_members(agency=agency, days=days)
        .annotate(owner_id=Coalesce(F("aftersale_owner"), F("presale_owner")))
        .values("owner_id")
        .annotate(silent=Count("pk"))
        .order_by("owner_id")
    )
    iso_year, iso_week, _weekday = today.isocalendar()
    reminders, silent = [], 0
    for row in per_owner:
        silent += row["silent"]
        if row["owner_id"] is None:
            continue
        title = ngettext(
            "%(count)s of your members has been silent for %(days)s days",
            "%(count)s of your members have been silent for %(days)s days", row["silent"],
        ) % {"count": row["silent"], "days": days}  # fmt: skip
        reminders.append(Reminder(
            user_id=row["owner_id"], kind=Reminder.Kind.SILENT, title=title, due_on=today,
            key=f"silent:{row['owner_id']}:{iso_year}-W{iso_week:02d}",
        ))  # fmt: skip
    return {"silent": silent, "reminders": services.remind(agency=agency, reminders=reminders)}
