"""The OElove sync engine: one pass over an agency's OElove site (F-H2).

Profiles: the user tables are read in user-id batches; each user is mapped (codes and places by
label), hashed, and compared with the hash stored on its OeloveLink. New users are created with
bulk statements (the MatchProfile triggers on members_member are statement-level, so a bulk INSERT
keeps the match engine current); changed ones are updated; unchanged ones cost nothing. Every batch
commits together with the run's checkpoint, so a crashed pass resumes after the last good batch.

Activity: append-only tables are read from their (time, id) watermark minus an overlap window and
upserted on their source ids (COPY into a temporary table, then one INSERT … ON CONFLICT that only
touches rows whose values differ). Re-reading the overlap therefore writes nothing.

Dirty rows never stop a pass: they become SyncSkip rows with the reason.
"""

import logging
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.agencies.sequences import sequence_block
from apps.members.models import Member, PartnerPreference

from . import oelove
from .models import MemberActivity, OeloveLink, SyncConflict, SyncRun, SyncSkip, Watermark

logger = logging.getLogger(__name__)

MAX_SKIPS_PER_RUN = 5_000
OVERLAP_SECONDS = 3_600
MEMBER_SEQUENCE = "member"
Kind = MemberActivity.Kind


class SimulatedCrash(RuntimeError):
    """Raised by the OELOVE_SYNC_FAIL_AFTER_BATCHES test hook."""


def _setting(name: str, default):
    return getattr(settings, name, default)


class SyncPass:
    def __init__(self, *, agency, source, run: SyncRun, site):
        self.agency, self.source, self.run, self.site = agency, source, run, site
        self.prefix = source.table_prefix
        self.counts: dict[str, Counter] = defaultdict(Counter)
        for table_name, values in (run.counts or {}).items():
            self.counts[table_name].update(values)
        self.skips: list[SyncSkip] = []
        self.batches = 0
        self.user_batch = _setting("OELOVE_SYNC_BATCH_SIZE", 5_000)
        self.activity_batch = _setting("OELOVE_SYNC_ACTIVITY_BATCH_SIZE", 20_000)
        self.fail_after = _setting("OELOVE_SYNC_FAIL_AFTER_BATCHES", None)
        self.today = timezone.localdate()
        self.member_ids: dict[int, int] = {}

    # --- bookkeeping ---------------------------------------------------------------------------

    def skip(self, table_name: str, source_id, reason: str, *, severity=SyncSkip.Severity.ROW) -> None:
        if severity == SyncSkip.Severity.ROW:
            self.counts[table_name]["skipped"] += 1
        else:
            self.counts[table_name]["values_dropped"] += 1
        self.run.skip_count += 1
        if self.run.skip_count <= MAX_SKIPS_PER_RUN:
            self.skips.append(
                SyncSkip(
                    agency=self.agency,
                    run=self.run,
                    table=table_name,
                    source_id=str(source_id)[:64],
                    severity=severity,
                    reason=str(reason)[:300],
                )
            )

    def commit_batch(self, checkpoint: dict) -> None:
        """Inside the batch's transaction: the skips, counts and checkpoint go with the batch's writes."""
        if self.skips:
            SyncSkip.objects.bulk_create(self.skips)
            self.skips = []
        self.run.counts = {name: dict(values) for name, values in self.counts.items()}
        self.run.checkpoint = checkpoint
        self.run.phase = checkpoint["phase"]
        self.run.save(update_fields=["counts", "checkpoint", "phase", "skip_count"])

    def after_batch(self) -> None:
        self.batches += 1
        if self.fail_after is not None and self.batches >= self.fail_after:
            raise SimulatedCrash(f"simulated crash after {self.batches} batches")

    # --- the pass ------------------------------------------------------------------------------

    def execute(self) -> None:
        checkpoint = self.run.checkpoint or {}
        phases = ["profiles", *(spec.name for spec in oelove.ACTIVITY_TABLES)]
        start = phases.index(checkpoint["phase"]) if checkpoint.get("phase") in phases else 0
        activity_started = False
        for phase in phases[start:]:
            if phase == "profiles":
                self.sync_profiles(after=checkpoint.get("after_userid", 0) if start == 0 else None)
            else:
                if not activity_started:
                    # Every link, not only those this run made: the activity of members synced on
                    # earlier runs must not be skipped as "not imported".
                    self.member_ids = dict(OeloveLink.objects.filter(agency=self.agency)
                                           .values_list("oelove_userid", "member_id"))  # fmt: skip
                    activity_started = True
                spec = next(spec for spec in oelove.ACTIVITY_TABLES if spec.name == phase)
                self.sync_activity(spec)
        with transaction.atomic():
            self.commit_batch({"phase": "done"})

    # --- profiles ------------------------------------------------------------------------------

    def sync_profiles(self, *, after) -> None:
        if after is None:
            return
        mapper = oelove.ProfileMapper(oelove.read_code_lists(self.site, self.prefix),
                                      oelove.read_areas(self.site, self.prefix))  # fmt: skip
        for rows in _prefetched(lambda key: oelove.read_users(self.site, self.prefix, after=key, limit=self.user_batch),
                                after, lambda rows: int(rows[-1][0])):  # fmt: skip
            after = int(rows[-1][0])
            with transaction.atomic():
                self.profile_batch([mapper.map(row) for row in rows])
                self.commit_batch({"phase": "profiles", "after_userid": after})
            self.after_batch()

    def profile_batch(self, users: list[oelove.MappedUser]) -> None:  # noqa: PLR0912 - one pass, one place
        counts = self.counts["user"]
        counts["read"] += len(users)
        userids = [user.userid for user in users]
        links = {link.oelove_userid: link for link in OeloveLink.objects.filter(agency=self.agency,
                                                                              oelove_userid__in=userids)}  # fmt: skip
        decided = dict(SyncConflict.objects.filter(agency=self.agency, oelove_userid__in=userids)
                       .exclude(status=SyncConflict.Status.LINKED).values_list("oelove_userid", "status"))  # fmt: skip
        new, changed, touched, logins = [], [], [], []
        for user in users:
            link = links.get(user.userid)
            if user.skip_reason:
                self.skip("user", user.userid, user.skip_reason)
                continue
            if link is None:
                if user.userid in decided:
                    if decided[user.userid] == SyncConflict.Status.OPEN:
                        self.skip("user", user.userid, _("matches several members: waiting for a decision"))
                    else:
                        counts["ignored"] += 1
                    continue
                new.append(user)
            elif link.row_hash == user.row_hash and link.status_hash == user.status_hash:
                counts["unchanged"] += 1
                if link.last_seen_on < self.today:
                    touched.append(link.pk)
            else:
                changed.append((user, link))
        if new:
            logins += self.create_or_merge(new)
        if changed:
            logins += self.update_changed(changed)
        if touched:
            OeloveLink.objects.filter(agency=self.agency, pk__in=touched).update(last_seen_on=self.today)
        if logins:
            self.upsert_activity("logins", logins)

    def _record_problems(self, user: oelove.MappedUser) -> None:
        for problem in user.problems:
            self.skip("user", user.userid, problem, severity=SyncSkip.Severity.VALUE)

    def create_or_merge(self, users: list[oelove.MappedUser]) -> list[tuple]:
        counts = self.counts["user"]
        phones = {user.phone for user in users}
        emails = {user.email for user in users if user.email}
        existing = list(
            Member.objects.filter(agency=self.agency)
            .annotate(email_key=Lower("email"))
            .filter(Q(phone__in=phones) | Q(email_key__in=emails))
            .values_list("id", "phone", "email_key")
        )
        by_phone, by_email = defaultdict(set), defaultdict(set)
        for member_id, phone, email in existing:
            by_phone[phone].add(member_id)
            if email:
                by_email[email].add(member_id)
        owners = dict(OeloveLink.objects.filter(agency=self.agency, member_id__in=[row[0] for row in existing])
                      .values_list("member_id", "oelove_userid"))  # fmt: skip
        batch_phones, batch_emails = {}, {}
        to_create, to_merge = [], []
        for user in users:
            if user.phone in batch_phones:
                self.skip("user", user.userid, _("same mobile number as OElove user %(other)s") % {
                    "other": batch_phones[user.phone]})  # fmt: skip
                continue
            if user.email and user.email in batch_emails:
                self.skip("user", user.userid, _("same email as OElove user %(other)s") % {
                    "other": batch_emails[user.email]})  # fmt: skip
                continue
            candidates = by_phone.get(user.phone, set()) | by_email.get(user.email, set())
            taken = sorted(owners[member_id] for member_id in candidates if member_id in owners)
            if taken:
                self.skip("user", user.userid, _("mobile number or email already imported from OElove user "
                                                 "%(other)s") % {"other": taken[0]})  # fmt: skip
                continue
            batch_phones[user.phone] = user.userid
            if user.email:
                batch_emails[user.email] = user.userid
            if not candidates:
                to_create.append(user)
            elif len(candidates) == 1:
                to_merge.append((user, next(iter(candidates))))
            else:
                SyncConflict.objects.get_or_create(
                    agency=self.agency, oelove_userid=user.userid,
                    defaults={"source": self.source, "username": user.status["username"], "phone": user.phone,
                              "email": user.email, "candidate_ids": sorted(candidates)},
                )  # fmt: skip
                counts["conflicts"] += 1
                self.skip("user", user.userid, _("matches %(count)s members by mobile number or email: waiting "
                                                 "for a decision") % {"count": len(candidates)})  # fmt: skip
        logins = []
        if to_create:
            logins += self.create_members(to_create)
        if to_merge:
            logins += self.merge_members(to_merge)
        return logins

    def create_members(self, users: list[oelove.MappedUser]) -> list[tuple]:
        first = sequence_block(agency=self.agency, name=MEMBER_SEQUENCE, count=len(users))
        members = []
        for offset, user in enumerate(users):
            name = user.status["username"] if not oelove.MOBILE_RE.match(user.status["username"]) else ""
            members.append({**user.member, "member_no": f"M{first + offset:06d}", "source": Member.Source.OELOVE,
                            "name": (name or f"OElove {user.userid}")[:50]})  # fmt: skip
        # COPY rather than bulk_create: building a 200,000-parameter INSERT costs more than the insert
        # itself. It is still an INSERT to PostgreSQL, so the MatchProfile triggers fire.
        _copy_insert(Member, self.agency, members)
        ids = dict(Member.objects.filter(agency=self.agency, member_no__in=[row["member_no"] for row in members])
                   .values_list("member_no", "id"))  # fmt: skip
        member_ids = [ids[row["member_no"]] for row in members]
        _copy_insert(PartnerPreference, self.agency, [
            {**user.preference, "member_id": member_id}
            for user, member_id in zip(users, member_ids, strict=True) if user.preference
        ])  # fmt: skip
        _copy_insert(
            OeloveLink,
            self.agency,
            [self._link_row(user, member_id) for user, member_id in zip(users, member_ids, strict=True)],
        )
        logins = []
        for user, member_id in zip(users, member_ids, strict=True):
            self._record_problems(user)
            self.member_ids[user.userid] = member_id
            logins += self._login(user, member_id)
        self.counts["user"]["created"] += len(users)
        return logins

    def _link_row(self, user, member_id: int, *, merged: bool = False) -> dict:
        return {
            "oelove_userid": user.userid,
            "member_id": member_id,
            "row_hash": user.row_hash,
            "status_hash": user.status_hash,
            "merged": merged,
            "last_seen_on": self.today,
            **user.status,
        }

    def _login(self, user, member_id: int) -> list[tuple]:
        at = user.status["last_login_at"]
        return [(member_id, Kind.LOGIN, at, None, None, None, f"{user.userid}:{user.login_time}")] if at else []

    def merge_members(self, pairs: list[tuple]) -> list[tuple]:
        members = Member.objects.filter(agency=self.agency).in_bulk([member_id for _user, member_id in pairs])
        self._apply_profiles([(user, members[member_id]) for user, member_id in pairs], merging=True)
        _copy_insert(
            OeloveLink, self.agency, [self._link_row(user, member_id, merged=True) for user, member_id in pairs]
        )
        logins = []
        for user, member_id in pairs:
            self.member_ids[user.userid] = member_id
            logins += self._login(user, member_id)
        self.counts["user"]["merged"] += len(pairs)
        return logins

    def update_changed(self, changed: list[tuple]) -> list[tuple]:
        profile_changed = [(user, link) for user, link in changed if user.row_hash != link.row_hash]
        if profile_changed:
            wanted = [link.member_id for _user, link in profile_changed]
            members = Member.objects.filter(agency=self.agency).in_bulk(wanted)
            self._apply_profiles([(user, members[link.member_id]) for user, link in profile_changed
                                  if link.member_id in members], merging=False)  # fmt: skip
        logins = []
        for user, link in changed:
            if user.status["last_login_at"] != link.last_login_at:
                logins += self._login(user, link.member_id)
            link.row_hash, link.status_hash, link.last_seen_on = user.row_hash, user.status_hash, self.today
            for name, value in user.status.items():
                setattr(link, name, value)
        OeloveLink.objects.bulk_update(
            [link for _user, link in changed], ["row_hash", "status_hash", "last_seen_on", *oelove.STATUS_FIELDS]
        )
        self.counts["user"]["updated"] += len(changed)
        return logins

    def _phone_may_change(self, user, member, value: str, *, taken: dict, claimed: set, merging: bool) -> bool:
        """Whether the site's mobile number may replace the member's: not on a merge (the member keeps
        theirs), not when another member has it, not when another user of this batch claimed it first."""
        if value == member.phone:
            return False
        owner = taken.get(value) or ("—" if value in claimed else None)
        if merging or owner:
            if owner:
                self.skip("user", user.userid, _("mobile number %(phone)s already belongs to member %(member)s")
                          % {"phone": value, "member": owner}, severity=SyncSkip.Severity.VALUE)  # fmt: skip
            return False
        claimed.add(value)
        return True

    def _apply_profiles(self, pairs: list[tuple], *, merging: bool) -> None:
        """The site's non-empty values overwrite the member's; a merge keeps the member's own mobile number."""
        wanted_phones = {user.phone: member.pk for user, member in pairs if not merging and user.phone != member.phone}
        # Two site users of this batch whose user names normalise to one mobile number: the first
        # keeps it, the others are skipped for that value (the unique phone would fail the batch).
        claimed: set[str] = set()
        taken = dict(Member.objects.filter(agency=self.agency, phone__in=wanted_phones)
                     .values_list("phone", "member_no")) if wanted_phones else {}  # fmt: skip
        now = timezone.now()
        for user, member in pairs:
            self._record_problems(user)
            for name, value in user.member.items():
                if value in (None, "", []):
                    continue
                if name == "phone" and not self._phone_may_change(user, member, value, taken=taken, claimed=claimed,
                                                                  merging=merging):  # fmt: skip
                    continue
                setattr(member, name, value)
            member.updated_at = now
        Member.objects.bulk_update(
            [member for _user, member in pairs], [*oelove.MEMBER_FIELDS, "updated_at"], batch_size=1000
        )
        with_preference = [(user, member) for user, member in pairs if user.preference]
        if not with_preference:
            return
        existing = {pref.member_id: pref for pref in PartnerPreference.objects.filter(
            agency=self.agency, member_id__in=[member.pk for _user, member in with_preference])}  # fmt: skip
        new_prefs, changed_prefs = [], []
        for user, member in with_preference:
            pref = existing.get(member.pk)
            if pref is None:
                new_prefs.append(PartnerPreference(agency=self.agency, member=member, **user.preference))
                continue
            for name, value in user.preference.items():
                if value not in (None, "", []):
                    setattr(pref, name, value)
            pref.updated_at = now
            changed_prefs.append(pref)
        PartnerPreference.objects.bulk_create(new_prefs)
        if changed_prefs:
            PartnerPreference.objects.bulk_update(changed_prefs, [*oelove.PREFERENCE_FIELDS, "updated_at"])

    # --- activity ------------------------------------------------------------------------------

    def sync_activity(self, spec: oelove.ActivityTable) -> None:
        watermark, _created = Watermark.objects.get_or_create(agency=self.agency, source=self.source, table=spec.name)
        since = max(0, watermark.last_time - _setting("OELOVE_SYNC_OVERLAP_SECONDS", OVERLAP_SECONDS))

        def fetch(key):
            return oelove.read_activity(self.site, self.prefix, spec, since=since, after=key, limit=self.activity_batch)

        for rows in _prefetched(fetch, None, lambda rows: (rows[-1][0], rows[-1][1])):
            after = (rows[-1][0], rows[-1][1])
            with transaction.atomic():
                self.counts[spec.name]["read"] += len(rows)
                if spec.name == "user_viprecord":
                    self.upsert_vip(rows)
                else:
                    self.upsert_activity(spec.name, self.activity_rows(spec.name, rows))
                last_time, last_id = int(after[0] or 0), str(after[1])[:64]
                moved = (last_time, last_id) != (watermark.last_time, watermark.last_id)
                if moved and last_time >= watermark.last_time:
                    watermark.last_time, watermark.last_id = last_time, last_id
                    watermark.save(update_fields=["last_time", "last_id", "updated_at"])
                self.commit_batch({"phase": spec.name})
            self.after_batch()

    def activity_rows(self, table_name: str, rows: list[tuple]) -> list[tuple]:
        members, result = self.member_ids, []
        pairs = {"message": (Kind.MESSAGE_SENT, Kind.MESSAGE_RECEIVED), "hibox": (Kind.GREETING_SENT,
                 Kind.GREETING_RECEIVED), "home_viewer": (Kind.VIEW_RECEIVED, Kind.VIEW_GIVEN)}  # fmt: skip
        for row in rows:
            at, source_id = oelove.epoch(row[0]), str(row[1])
            if at is None:
                self.skip(table_name, source_id, _("time %(value)s is not a valid time") % {"value": row[0]})
                continue
            if table_name == "payment_log":
                userid = int(row[2] or 0)
                amount = oelove.money(row[3]) or oelove.money(row[4])
                if userid not in members:
                    self.skip(table_name, source_id, _("user %(userid)s was not imported") % {"userid": userid})
                elif amount is None:
                    self.skip(table_name, source_id, _("amount “%(value)s” is not a number") % {"value": row[3]})
                else:
                    result.append((members[userid], Kind.PAYMENT, at, None, None, amount, source_id))
                continue
            first, second = int(row[2] or 0), int(row[3] or 0)
            first_kind, second_kind = pairs[table_name]
            if first not in members and second not in members:
                self.skip(table_name, source_id, _("neither user %(first)s nor user %(second)s was imported") % {
                    "first": first, "second": second})  # fmt: skip
                continue
            if first in members:
                result.append((members[first], first_kind, at, members.get(second), second, None, source_id))
            if second in members:
                result.append((members[second], second_kind, at, members.get(first), first, None, source_id))
        return result

    def upsert_activity(self, table_name: str, rows: list[tuple]) -> None:
        if not rows:
            return
        columns = "member_id, kind, at, counterpart_member_id, counterpart_oelove_id, amount, source_id"
        inserted, updated = _copy_upsert(
            load_table="oelove_activity_load",
            load_columns="member_id bigint, kind text, at timestamptz, counterpart_member_id bigint, "
                         "counterpart_oelove_id bigint, amount numeric(12, 2), source_id text",
            columns=columns, target="integrations_memberactivity", conflict="agency_id, kind, source_id",
            agency_id=self.agency.pk, rows=rows,
        )  # fmt: skip
        self.counts[table_name]["created"] += inserted
        self.counts[table_name]["updated"] += updated
        self.counts[table_name]["unchanged"] += len(rows) - inserted - updated

    def upsert_vip(self, rows: list[tuple]) -> None:
        records = []
        for _at, source_id, raw_userid, level, start, end, amount in rows:
            userid = int(raw_userid or 0)
            if userid not in self.member_ids:
                self.skip("user_viprecord", source_id, _("user %(userid)s was not imported") % {"userid": userid})
                continue
            records.append((self.member_ids[userid], oelove._in_range(level, 0, 255) or 0, oelove.epoch(start),
                            oelove.epoch(end), oelove.money(amount) or 0, str(source_id)))  # fmt: skip
        if not records:
            return
        inserted, updated = _copy_upsert(
            load_table="oelove_vip_load",
            load_columns="member_id bigint, level smallint, start timestamptz, \"end\" timestamptz, "
                         "amount numeric(12, 2), source_id text",
            columns='member_id, level, start, "end", amount, source_id', target="integrations_viprecord",
            conflict="agency_id, source_id", agency_id=self.agency.pk, rows=records,
        )  # fmt: skip
        self.counts["user_viprecord"]["created"] += inserted
        self.counts["user_viprecord"]["updated"] += updated
        self.counts["user_viprecord"]["unchanged"] += len(records) - inserted - updated


def _copy_upsert(*, load_table, load_columns, columns, target, conflict, agency_id, rows) -> tuple[int, int]:
    """COPY `rows` into a temporary table, then insert new rows and update only rows that differ.

    Returns (inserted, updated); rows equal to what is stored are not written at all.
    """
    names = [name.strip() for name in columns.split(",")]
    deduplicated = list({tuple(row[names.index(key.strip())] for key in conflict.split(",")[1:]): row
                         for row in rows}.values())  # fmt: skip
    assignments = ", ".join(f"{name} = EXCLUDED.{name}" for name in names)
    current = ", ".join(f"t.{name}" for name in names)
    incoming = ", ".join(f"EXCLUDED.{name}" for name in names)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {load_table} ({load_columns})")
        cursor.execute(f"TRUNCATE {load_table}")
        with cursor.cursor.copy(f"COPY {load_table} ({columns}) FROM STDIN") as copy:
            for row in deduplicated:
                copy.write_row(row)
        cursor.execute(
            f"WITH written AS (INSERT INTO {target} AS t (agency_id, {columns})"  # noqa: S608 - fixed names
            f" SELECT %s, {columns} FROM {load_table}"
            f" ON CONFLICT ({conflict}) DO UPDATE SET {assignments}"
            f" WHERE ({current}) IS DISTINCT FROM ({incoming})"
            " RETURNING (xmax = 0) AS inserted)"
            " SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written",
            [agency_id],
        )
        inserted, updated = cursor.fetchone()
    return inserted, updated


def _prefetched(fetch, key, next_key):
    """Batches fetch(key), fetch(next_key(batch)), … until an empty one, each read while the previous
    one is written: the site's network and MySQL time overlaps with PostgreSQL's."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="oelove-read") as pool:
        future = pool.submit(fetch, key)
        while True:
            rows = future.result()
            if not rows:
                return
            future = pool.submit(fetch, next_key(rows))
            yield rows


@cache
def _column_defaults(model) -> tuple[tuple[str, ...], tuple[str, ...], tuple]:
    """(field names, column names, prepared default values) of a model's inserted columns."""
    template = model()
    fields = [field for field in model._meta.concrete_fields
              if not field.primary_key and not getattr(field, "generated", False)]  # fmt: skip
    defaults = tuple(field.get_db_prep_save(field.pre_save(template, add=True), connection) for field in fields)
    return tuple(field.attname for field in fields), tuple(field.column for field in fields), defaults


def _copy_insert(model, agency, rows: list[dict]) -> None:
    """INSERT rows ({attname: value}, the rest defaulted as Django would) with COPY.

    Values must already be what the database stores (no encrypted or otherwise converted fields)."""
    if not rows:
        return
    names, columns, defaults = _column_defaults(model)
    base = dict(zip(names, defaults, strict=True))
    base["agency_id"] = agency.pk
    now = timezone.now()
    for name in ("created_at", "updated_at"):
        if name in base:
            base[name] = now
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {model._meta.db_table} ({quoted}) FROM STDIN") as copy,
    ):
        for row in rows:
            values = {**base, **row}
            copy.write_row(tuple(values[name] for name in names))
