"""State changes of the OElove integration (F-H2): the site's settings, sync runs, conflict decisions."""

import logging
import zlib

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.agencies.context import agency_context
from apps.members.models import Member

from . import oelove
from .models import OeloveLink, OeloveSource, SyncConflict, SyncRun, Watermark
from .sync import SyncPass

logger = logging.getLogger(__name__)

SETTINGS_PERM = "matchmakers.edit_settings"
_LOCK_CLASS = zlib.crc32(b"integrations.oelove_sync") & 0x7FFFFFFF


def _require_settings(actor) -> None:
    if not actor.has_perm(SETTINGS_PERM):
        raise PermissionDenied(_("Your role does not allow changing settings."))


@transaction.atomic
def oelove_source_save(*, agency, actor, source: OeloveSource, password: str = "") -> OeloveSource:
    """Save the site's connection settings; an empty password keeps the stored one."""
    _require_settings(actor)
    source.agency = agency
    source.password = _password_for(agency=agency, source=source, password=password)
    source.full_clean(exclude=["agency"])
    source.save()
    return source


def _password_for(*, agency, source: OeloveSource, password: str) -> str:
    """The password to use: the one typed, else the stored one, but only for the server, database and
    user it was given for. Otherwise anyone editing the settings could send the stored password to a
    server of their own choosing (and read it there)."""
    if password:
        return password
    stored = OeloveSource.objects.filter(agency=agency, pk=source.pk).first() if source.pk else None
    if stored is None:
        return "" if source.pk else source.password or ""
    if (stored.host, stored.port, stored.database, stored.user) != (source.host, source.port, source.database,
                                                                    source.user):  # fmt: skip
        raise ValidationError({"password": _("Type the password again: the stored one is only used with the "
                                             "server, database and user it was saved for.")})  # fmt: skip
    return stored.password


def oelove_connection_test(*, source: OeloveSource, agency=None, password: str = "") -> tuple[bool, str]:
    """(usable?, a sentence for the person setting it up). Never raises for a connection problem."""
    try:
        source.password = _password_for(agency=agency, source=source, password=password)
    except ValidationError as error:
        return False, " ".join(error.messages)
    try:
        return True, oelove.check_connection(source)
    except oelove.SourceError as error:
        return False, str(error)


def oelove_sync_queue(*, agency, actor) -> None:
    """Queue a sync of the agency's site now (the Celery task), once the request's transaction commits."""
    _require_settings(actor)
    if not OeloveSource.objects.filter(agency=agency).exists():
        raise ValidationError(_("Save the OElove site's settings first."))
    from .tasks import oelove_sync  # noqa: PLC0415 - tasks import this module

    transaction.on_commit(lambda: oelove_sync.delay(agency_id=agency.pk, requested_by=actor.pk))


def _try_lock(source: OeloveSource) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_CLASS, source.pk])
        return cursor.fetchone()[0]


def _unlock(source: OeloveSource) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_CLASS, source.pk])


def _start_run(source: OeloveSource, requested_by) -> SyncRun:
    """A new run; it resumes where the last run stopped when that one failed part-way."""
    with transaction.atomic():
        # Whoever holds the lock is the only pass: a run still marked running died with its worker.
        SyncRun.objects.filter(agency=source.agency, source=source, status=SyncRun.Status.RUNNING).update(
            status=SyncRun.Status.FAILED, finished_at=timezone.now(), error=_("Interrupted (the worker stopped).")
        )
        previous = SyncRun.objects.filter(agency=source.agency, source=source).order_by("-started_at", "-id").first()
        resume = previous is not None and previous.status == SyncRun.Status.FAILED and previous.checkpoint.get(
            "phase") not in (None, "", "done")  # fmt: skip
        return SyncRun.objects.create(
            agency=source.agency, source=source, requested_by_id=requested_by,
            resumed_from=previous if resume else None, checkpoint=dict(previous.checkpoint) if resume else {},
            phase=previous.checkpoint.get("phase", "") if resume else "",
        )  # fmt: skip


def oelove_sync_run(*, agency, requested_by: int | None = None) -> SyncRun | None:
    """One sync pass of the agency's OElove site; None when no site is set up or a pass is already running.

    Problems with the site (unreachable, refused) and crashes end the run as failed with the reason;
    the next run resumes from the last committed batch.
    """
    with agency_context(agency):
        source = OeloveSource.objects.filter(agency=agency).first()
        if source is None:
            return None
        if not _try_lock(source):
            logger.info("OElove sync of %s is already running", agency.slug)
            return None
        try:
            run = _start_run(source, requested_by)
            _execute(agency, source, run)
            OeloveSource.objects.filter(pk=source.pk).update(last_run_at=run.started_at, last_run_status=run.status)
            return run
        finally:
            _unlock(source)


def _execute(agency, source: OeloveSource, run: SyncRun) -> None:
    site = None
    try:
        site = oelove.connect(source)
        SyncPass(agency=agency, source=source, run=run, site=site).execute()
        run.status = SyncRun.Status.SUCCEEDED
    except oelove.SourceError as error:
        run.status, run.error = SyncRun.Status.FAILED, str(error)
    except Exception as error:
        logger.exception("OElove sync of %s failed", agency.slug)
        run.status, run.error = SyncRun.Status.FAILED, f"{type(error).__name__}: {error}"[:2000]
    finally:
        if site is not None:
            site.close()
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])


@transaction.atomic
def sync_conflict_resolve(*, agency, actor, conflict: SyncConflict, member_id: int | None) -> SyncConflict:
    """Link the OElove user to one of the matching members (member_id), or ignore it for good (None).

    A link is made with an empty hash, so the next run writes the site's profile into the member.
    """
    _require_settings(actor)
    conflict = SyncConflict.objects.select_for_update().get(agency=agency, pk=conflict.pk)
    if conflict.status != SyncConflict.Status.OPEN:
        raise ValidationError(_("Someone has already decided this conflict."))
    if member_id is None:
        conflict.status = SyncConflict.Status.IGNORED
    else:
        if member_id not in conflict.candidate_ids:
            raise ValidationError(_("Choose one of the matching members."))
        member = Member.objects.filter(agency=agency, pk=member_id).first()
        if member is None:
            raise ValidationError(_("That member no longer exists; choose another or ignore this user."))
        if OeloveLink.objects.filter(agency=agency, member=member).exists():
            raise ValidationError(_("That member is already linked to another OElove user."))
        OeloveLink.objects.create(
            agency=agency,
            oelove_userid=conflict.oelove_userid,
            member=member,
            username=conflict.username,
            merged=True,
            last_seen_on=timezone.localdate(),
        )
        conflict.status, conflict.member = SyncConflict.Status.LINKED, member
        # Re-read the activity tables from the start: the linked user's history comes in too (upserts
        # make the already imported rows cost nothing).
        Watermark.objects.filter(agency=agency, source_id=conflict.source_id).update(last_time=0, last_id="")
    conflict.resolved_by, conflict.resolved_at = actor, timezone.now()
    conflict.save()
    return conflict
