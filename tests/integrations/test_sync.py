"""The OElove import engine (F-H2): mapping by label, hashing, watermarks, skips, resume, duplicates."""

import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from apps.integrations.models import MemberActivity, OeloveLink, SyncConflict, SyncRun, SyncSkip, VipRecord, Watermark
from apps.matching.models import MatchProfile
from apps.members.models import Member, PartnerPreference

from .conftest import in_agency, sync
from .oelove_data import NOW, add_activity, generate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Skip reasons are written in the language active during the run; these tests read them in English."""
    with translation.override("en"):
        yield


def test_first_import_creates_members_links_and_activity(agency, source, oelove_db):
    data = generate(oelove_db, users=60, activity=600)

    run = sync(agency)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    users = run.counts["user"]
    assert users["read"] == 60
    assert users["created"] == 60
    assert users.get("skipped", 0) == 0
    with in_agency(agency):
        assert Member.objects.filter(source=Member.Source.OELOVE).count() == 60
        assert OeloveLink.objects.count() == 60
        assert MatchProfile.objects.count() == 60  # the statement-level triggers fired for the bulk insert
        assert MemberActivity.objects.filter(kind="message_sent").count() == data.activity["message"]
        assert MemberActivity.objects.filter(kind="message_received").count() == data.activity["message"]
        assert MemberActivity.objects.filter(kind="payment").count() == data.activity["payment_log"]
        assert VipRecord.objects.count() == data.activity["user_viprecord"]
        assert MemberActivity.objects.filter(kind="login").count() == 60
    assert run.counts["message"]["read"] == data.activity["message"]


def _user_row(oelove_db, userid):
    with oelove_db.cursor(__import__("pymysql").cursors.DictCursor) as cursor:
        cursor.execute(
            "SELECT * FROM oepre_user u JOIN oepre_user_profile p USING (userid) JOIN oepre_user_cond c USING (userid)"
            " JOIN oepre_user_validate v USING (userid) WHERE userid = %s",
            [userid],
        )
        return cursor.fetchone()


def test_codes_are_mapped_by_label_not_by_number(agency, source, oelove_db):
    data = generate(oelove_db, users=5, activity=0)
    userid = data.userids[0]
    with oelove_db.cursor() as cursor:
        # The agency renumbered its education list: 4 now means 硕士 (master's), not 本科.
        cursor.execute(
            "UPDATE oepre_love_paramter SET ptvalue = '1#初中|2#高中|3#大专|4#硕士|5#本科|6#博士'"
            " WHERE ptname = 'education'"
        )
        cursor.execute(
            "UPDATE oepre_user_profile SET education = 4, marrystatus = 3, childrenstatus = 2, salary = 3,"
            " housing = 5, caring = 1, provinceid = 1, cityid = 101, distid = 10101, height = 172,"
            " birthday = '1990-05-01' WHERE userid = %s",
            [userid],
        )
        cursor.execute(
            "UPDATE oepre_user_cond SET startage = 25, endage = 32, startheight = 160, endheight = 175,"
            " marry = '1,3', startedu = 3, areas = '101,202' WHERE userid = %s",
            [userid],
        )
        cursor.execute(
            "UPDATE oepre_user_validate SET viplevel = 2, vipstartdate = %s, vipenddate = %s WHERE userid = %s",
            [NOW - 86400, NOW + 86400 * 30, userid],
        )

    sync(agency)

    with in_agency(agency):
        link = OeloveLink.objects.select_related("member").get(oelove_userid=userid)
        member = link.member
        assert member.education == 5  # master's
        assert member.marital_status == "divorced_children"
        assert member.children == "with_me"
        assert member.income == 3  # 5000～10000元 → 5,000-8,000
        assert member.housing == "own_mortgage"
        assert member.has_car is True
        assert (member.residence_province, member.residence_city, member.residence_district) == ("33", "3301", "330106")
        assert member.height_cm == 172
        assert member.birth_date == datetime.date(1990, 5, 1)
        assert member.phone == link.username
        assert member.source == "oelove"
        preference = PartnerPreference.objects.get(member=member)
        assert (preference.age_min, preference.age_max, preference.height_min, preference.height_max) == (
            25,
            32,
            160,
            175,
        )
        assert sorted(preference.marital_statuses) == ["divorced", "divorced_children", "never_married"]
        assert preference.education_min == 3
        assert preference.city_codes == ["3301", "4403"]
        assert link.vip_level == 2
        assert link.vip_end == datetime.datetime.fromtimestamp(NOW + 86400 * 30, tz=datetime.UTC)


def test_a_rerun_with_nothing_changed_writes_nothing_but_the_run(agency, source, oelove_db):
    generate(oelove_db, users=45, activity=400)
    sync(agency)
    with in_agency(agency):
        before = Member.objects.order_by("pk").values_list("pk", "updated_at")
        before = list(before)
        activity_before = MemberActivity.objects.count()

    written = []

    def spy(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "WITH")):
            written.append(sql)
        return execute(sql, params, many, context)

    from django.db import connection

    with connection.execute_wrapper(spy):
        run = sync(agency)

    assert run.status == "succeeded"
    assert run.counts["user"]["unchanged"] == 45
    assert run.counts["user"].get("created", 0) == run.counts["user"].get("updated", 0) == 0
    assert all(values.get("created", 0) == values.get("updated", 0) == 0 for values in run.counts.values())
    # Only the run record (the run, its source's "last run") and upserts that matched nothing.
    run_record = (
        "integrations_syncrun",
        "integrations_oelovesource",
        "INSERT INTO integrations_memberactivity",
        "INSERT INTO integrations_viprecord",
    )
    assert [sql for sql in written if not any(part in sql for part in run_record)] == []
    with in_agency(agency):
        assert list(Member.objects.order_by("pk").values_list("pk", "updated_at")) == before
        assert MemberActivity.objects.count() == activity_before
        assert SyncSkip.objects.filter(run=run).count() == 0


def test_a_changed_profile_updates_only_that_member(agency, source, oelove_db):
    data = generate(oelove_db, users=30, activity=0)
    sync(agency)
    userid = data.userids[7]
    with oelove_db.cursor() as cursor:
        cursor.execute("UPDATE oepre_user_profile SET height = 181, monolog = '换了新工作' WHERE userid = %s", [userid])
    with in_agency(agency):
        stamps = dict(Member.objects.values_list("pk", "updated_at"))

    run = sync(agency)

    assert run.counts["user"]["updated"] == 1
    assert run.counts["user"]["unchanged"] == 29
    with in_agency(agency):
        member = OeloveLink.objects.select_related("member").get(oelove_userid=userid).member
        assert (member.height_cm, member.self_intro) == (181, "换了新工作")
        changed = [pk for pk, stamp in Member.objects.values_list("pk", "updated_at") if stamps[pk] != stamp]
        assert changed == [member.pk]
        assert MatchProfile.objects.get(member=member).height_cm == 181


def test_new_activity_is_picked_up_and_the_overlap_does_not_duplicate(agency, source, oelove_db, settings):
    settings.OELOVE_SYNC_OVERLAP_SECONDS = 10 * 86400
    data = generate(oelove_db, users=20, activity=300, end_time=NOW)
    sync(agency)
    with in_agency(agency):
        first_count = MemberActivity.objects.exclude(kind="login").count()
    # New rows, some inside the overlap window (older than the watermark) and some after it.
    added = add_activity(
        oelove_db, data, activity=100, start_time=NOW - 5 * 86400, end_time=NOW + 3600, id_base=10_000_000
    )

    run = sync(agency)

    expected_new = 2 * (added["message"] + added["home_viewer"] + added["hibox"]) + added["payment_log"]
    with in_agency(agency):
        assert MemberActivity.objects.exclude(kind="login").count() == first_count + expected_new
        assert VipRecord.objects.count() == data.activity["user_viprecord"] + added["user_viprecord"]
        assert Watermark.objects.get(table="message").last_time <= NOW + 3600
    assert run.counts["message"]["created"] == 2 * added["message"]
    assert run.counts["message"]["read"] > added["message"]  # the overlap was read again …
    again = sync(agency)
    assert again.counts["message"].get("created", 0) == 0  # … and re-reading it changes nothing
    assert again.counts["message"].get("updated", 0) == 0


def test_dirty_rows_are_skipped_with_reasons(agency, source, oelove_db):
    data = generate(oelove_db, users=120, activity=0, dirty=0.5, seed=3)

    run = sync(agency)

    assert run.status == "succeeded"
    reasons = {(skip.source_id, skip.severity): skip.reason for skip in SyncSkip.unscoped.filter(run=run)}
    for userid in data.dirty["zero_date"]:
        assert "birthday" in reasons[(str(userid), "value")]
    for userid in data.dirty["unknown_code"]:
        assert "code 9" in reasons[(str(userid), "value")]
    for userid in data.dirty["bad_username"]:
        assert "mobile" in reasons[(str(userid), "row")]
    for userid in data.dirty["blocked"]:
        assert "blocked" in reasons[(str(userid), "row")]
    for userid in data.dirty["duplicate_phone"] | data.dirty["duplicate_email"]:
        assert (str(userid), "row") in reasons
    row_skipped = set().union(*(data.dirty[kind] for kind in ("bad_username", "blocked", "duplicate_phone",
                                                              "duplicate_email")))  # fmt: skip
    assert run.counts["user"]["skipped"] == len(row_skipped)
    assert run.counts["user"]["created"] == 120 - len(row_skipped)
    with in_agency(agency):
        for userid in data.dirty["zero_date"]:
            assert OeloveLink.objects.get(oelove_userid=userid).member.birth_date is None
        for userid in data.dirty["unknown_code"]:
            assert OeloveLink.objects.get(oelove_userid=userid).member.education is None


def test_a_crash_mid_run_resumes_from_the_checkpoint(agency, source, oelove_db, settings):
    generate(oelove_db, users=100, activity=200)  # 5 batches of 20 users
    settings.OELOVE_SYNC_FAIL_AFTER_BATCHES = 2

    crashed = sync(agency)

    assert crashed.status == "failed"
    assert "simulated crash" in crashed.error
    assert crashed.checkpoint["phase"] == "profiles"
    assert crashed.counts["user"]["created"] == 40
    settings.OELOVE_SYNC_FAIL_AFTER_BATCHES = None

    resumed = sync(agency)

    assert resumed.status == "succeeded"
    assert resumed.resumed_from_id == crashed.pk
    assert resumed.counts["user"]["read"] == 60  # the two committed batches were not read again
    assert resumed.counts["user"]["created"] == 60
    with in_agency(agency):
        assert Member.objects.count() == 100
        assert len(set(Member.objects.values_list("member_no", flat=True))) == 100


def test_a_crash_in_an_activity_table_resumes_there(agency, source, oelove_db, settings):
    generate(oelove_db, users=10, activity=1000)
    settings.OELOVE_SYNC_FAIL_AFTER_BATCHES = 3  # 1 profile batch, then 2 of the 4 message batches
    crashed = sync(agency)
    assert (crashed.status, crashed.checkpoint["phase"]) == ("failed", "message")
    settings.OELOVE_SYNC_FAIL_AFTER_BATCHES = None

    resumed = sync(agency)

    assert "user" not in resumed.counts  # profiles were done: not read again
    assert resumed.counts["message"]["read"] < 400
    with in_agency(agency):
        assert MemberActivity.objects.filter(kind="message_sent").count() == 400


def test_an_unambiguous_duplicate_is_merged_into_the_existing_member(agency, source, oelove_db):
    data = generate(oelove_db, users=3, activity=0)
    userid = data.userids[1]
    with oelove_db.cursor() as cursor:
        cursor.execute("SELECT username FROM oepre_user WHERE userid = %s", [userid])
        phone = cursor.fetchone()[0]
    existing = Member.unscoped.create(agency=agency, member_no="M900001", name="王芳", gender="female", phone=phone,
                                      height_cm=160)  # fmt: skip

    run = sync(agency)

    assert run.counts["user"]["merged"] == 1
    assert run.counts["user"]["created"] == 2
    with in_agency(agency):
        link = OeloveLink.objects.get(oelove_userid=userid)
        assert link.member_id == existing.pk and link.merged
        existing.refresh_from_db()
        assert existing.name == "王芳"  # the agency's own name is kept
        assert existing.height_cm != 160  # the site's value came in
        assert Member.objects.count() == 3


def test_an_ambiguous_duplicate_becomes_a_conflict(agency, source, oelove_db):
    data = generate(oelove_db, users=3, activity=0)
    userid = data.userids[2]
    with oelove_db.cursor() as cursor:
        cursor.execute("SELECT username FROM oepre_user WHERE userid = %s", [userid])
        phone = cursor.fetchone()[0]
        cursor.execute("UPDATE oepre_user SET email = 'shared@example.com' WHERE userid = %s", [userid])
    by_phone = Member.unscoped.create(agency=agency, member_no="M900001", name="甲", gender="male", phone=phone)
    by_email = Member.unscoped.create(agency=agency, member_no="M900002", name="乙", gender="male",
                                      phone="13900000000", email="Shared@example.com")  # fmt: skip

    run = sync(agency)

    assert run.counts["user"]["conflicts"] == 1
    conflict = SyncConflict.unscoped.get(agency=agency, oelove_userid=userid)
    assert sorted(conflict.candidate_ids) == sorted([by_phone.pk, by_email.pk])
    assert SyncSkip.unscoped.get(run=run, source_id=str(userid)).reason.startswith("matches 2 members")
    assert not OeloveLink.unscoped.filter(oelove_userid=userid).exists()
    again = sync(agency)
    assert SyncConflict.unscoped.filter(agency=agency).count() == 1
    assert "waiting for a decision" in SyncSkip.unscoped.get(run=again, source_id=str(userid)).reason


def test_payments_keep_their_amounts(agency, source, oelove_db):
    data = generate(oelove_db, users=5, activity=100)
    sync(agency)
    with in_agency(agency):
        amounts = set(MemberActivity.objects.filter(kind="payment").values_list("amount", flat=True))
    assert data.activity["payment_log"] > 0
    assert amounts <= {Decimal("99.00"), Decimal("199.00"), Decimal("365.00"), Decimal("999.00")}


def test_an_unreachable_site_fails_the_run_with_the_reason(agency, source):
    source.port = 1
    source.save()
    run = sync(agency)
    assert run.status == "failed"
    assert "Cannot reach" in run.error


def test_activity_of_earlier_members_is_kept_in_a_run_that_imports_someone_new(agency, source, oelove_db):
    """A run that creates a member must still file the activity of members synced on earlier runs."""
    data = generate(oelove_db, users=20, activity=0, end_time=NOW - 86400)
    sync(agency)
    generate(oelove_db, users=1, activity=0, first_userid=900_000, code_lists=False, seed=9)
    added = add_activity(oelove_db, data, activity=200, start_time=NOW - 3600, end_time=NOW, id_base=20_000_000)

    run = sync(agency)

    assert run.counts["user"]["created"] == 1
    assert run.counts["message"]["created"] == 2 * added["message"]
    assert run.counts["message"].get("skipped", 0) == 0


def test_a_nul_character_in_a_site_text_does_not_stop_the_sync(agency, source, oelove_db):
    data = generate(oelove_db, users=5, activity=0)
    userid = data.userids[0]
    with oelove_db.cursor() as cursor:
        cursor.execute("UPDATE oepre_user_profile SET monolog = CONCAT('喜欢', CHAR(0), '旅行') WHERE userid = %s",
                       [userid])  # fmt: skip

    run = sync(agency)

    assert run.status == SyncRun.Status.SUCCEEDED
    with in_agency(agency):
        member = OeloveLink.objects.get(oelove_userid=userid).member
        assert member.self_intro == "喜欢旅行"
