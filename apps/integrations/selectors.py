"""Reads of the OElove integration, always within one agency."""

from django.db.models import QuerySet

from apps.members.models import Member

from .models import OeloveSource, SyncConflict, SyncRun, SyncSkip


def oelove_source_get(*, agency) -> OeloveSource | None:
    return OeloveSource.objects.filter(agency=agency).first()


def sync_run_list(*, agency) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(agency=agency).select_related("requested_by").order_by("-started_at", "-id")


def sync_skip_list(*, agency, run: SyncRun) -> QuerySet[SyncSkip]:
    return SyncSkip.objects.filter(agency=agency, run=run).order_by("id")


def sync_conflict_list(*, agency, status: str = SyncConflict.Status.OPEN) -> QuerySet[SyncConflict]:
    return SyncConflict.objects.filter(agency=agency, status=status).order_by("-created_at", "-id")


def conflict_candidates(*, agency, conflicts) -> dict[int, Member]:
    """The members the listed conflicts point at, in one query: {member id → member}."""
    ids = {member_id for conflict in conflicts for member_id in conflict.candidate_ids}
    return Member.objects.filter(agency=agency, pk__in=ids).in_bulk() if ids else {}
