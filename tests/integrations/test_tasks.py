"""The sync as a Celery task: in the agency's scope, through a real worker, and the fan-out."""

import pytest

from apps.integrations.models import OeloveSource, SyncRun
from apps.integrations.tasks import oelove_sync, oelove_sync_all
from apps.members.models import Member
from tests.agencies.test_tasks import celery_worker_process  # noqa: F401 - the real worker fixture

from .oelove_data import generate


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_imports_the_agencys_site(agency, other_agency, source, oelove_db, celery_worker_process):  # noqa: F811
    generate(oelove_db, users=12, activity=50)

    result = oelove_sync.apply_async(kwargs={"agency_id": agency.pk}, queue=celery_worker_process).get(timeout=120)

    assert result["status"] == "succeeded"
    assert result["counts"]["user"]["created"] == 12
    assert Member.unscoped.filter(agency=agency).count() == 12
    assert Member.unscoped.filter(agency=other_agency).count() == 0


@pytest.mark.django_db
def test_the_task_without_a_site_does_nothing(agency):
    assert oelove_sync.apply(kwargs={"agency_id": agency.pk}).get() is None
    assert not SyncRun.unscoped.exists()


@pytest.mark.django_db
def test_the_fan_out_queues_only_enabled_sites(agency, other_agency, source, oelove_db, monkeypatch):
    OeloveSource.unscoped.filter(pk=source.pk).update(enabled=True)
    OeloveSource.unscoped.create(agency=other_agency, host="h", database="d", user="u", enabled=False)
    queued = []
    monkeypatch.setattr(oelove_sync, "delay", lambda **kwargs: queued.append(kwargs))
    assert oelove_sync_all() == 1
    assert queued == [{"agency_id": agency.pk}]
