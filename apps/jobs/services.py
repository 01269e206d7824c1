"""State changes of the jobs app: reminders for staff, once-only marks, settings, reminder done."""

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.matchmakers.models import User

from .models import JobMark, JobSettings, Reminder


def settings_for(agency) -> JobSettings:
    """The agency's job settings; unsaved defaults when it has none (reading writes nothing)."""
    return JobSettings.objects.filter(agency=agency).first() or JobSettings(agency=agency)


@transaction.atomic
def settings_save(*, agency, actor: User, settings: JobSettings) -> JobSettings:
    if not actor.has_perm("matchmakers.edit_settings"):
        raise PermissionDenied(_("Your role does not allow changing settings."))
    settings.agency = agency
    settings.full_clean(exclude=["agency"])
    settings.save()
    return settings


def remind(*, agency, reminders: list[Reminder]) -> int:
    """Store the reminders whose key is new; returns how many were added (0 on a second run)."""
    if not reminders:
        return 0
    existing = set(
        Reminder.objects.filter(agency=agency, key__in=[reminder.key for reminder in reminders]).values_list(
            "key", flat=True
        )
    )
    fresh = {reminder.key: reminder for reminder in reminders if reminder.key not in existing}
    for reminder in fresh.values():
        reminder.agency = agency
    # A concurrent run of the same job may have added some meanwhile: the unique key keeps one.
    Reminder.objects.bulk_create(fresh.values(), ignore_conflicts=True)
    return len(fresh)


def mark_once(*, agency, key: str) -> bool:
    """True the first time `key` is marked for the agency (then do the once-only thing), else False.

    Call it inside the transaction that does the thing, so a failure un-marks it too.
    """
    try:
        with transaction.atomic():
            JobMark.objects.create(agency=agency, key=key[:200])
    except IntegrityError:
        return False
    return True


@transaction.atomic
def reminder_done(*, agency, actor: User, reminder_id: int, done: bool = True) -> Reminder:
    """Tick a reminder off (or back on); only its own user may."""
    reminder = Reminder.objects.select_for_update().filter(agency=agency, pk=reminder_id, user=actor).first()
    if reminder is None:
        raise Http404
    reminder.done_at = timezone.now() if done else None
    reminder.save(update_fields=["done_at"])
    return reminder
