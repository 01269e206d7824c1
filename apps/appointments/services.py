"""Every change to appointments (F-F5) and success stories (F-F8).

Each service checks the actor's permission and that the actor may see at least one of the two
members, runs in one transaction and records who did what. Appointment services take both members'
row locks first, in id order: two bookings of one member queue there, so the two-hour rule and the
entitlement counts hold under concurrency, and writers never wait on each other crosswise.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.finance.models import Contract
from apps.finance.services import agency_today, effective_contract, entitlement_consume, local_day
from apps.followups.services import stage_enter
from apps.matching.models import Recommendation
from apps.matchmakers.models import User
from apps.members.models import Member
from apps.members.selectors import member_visible_list
from apps.reports import rollups as dashboard_rollups

from .models import Appointment, AppointmentEvent, AppointmentFeedback, StoryPhoto, SuccessStory
from .selectors import appointment_overlapping, appointment_visible_list, story_visible_list
from .tasks import story_photos_optimize

Status = Appointment.Status
# A member's planned appointments must start at least this far apart.
MIN_GAP = datetime.timedelta(hours=2)
MAX_STORY_PHOTOS = 12


def _require(actor: User, perm: str, *, message: str) -> None:
    if not actor.has_perm(f"matchmakers.{perm}"):
        raise PermissionDenied(message)


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _check_pair(agency, actor: User, member_a: Member, member_b: Member) -> None:
    if member_a.agency_id != agency.pk or member_b.agency_id != agency.pk:
        raise PermissionDenied(_("These members belong to another agency."))
    if member_a.pk == member_b.pk:
        raise ValidationError({"member_b": _("Choose two different members.")})
    if not member_visible_list(user=actor).filter(pk__in=[member_a.pk, member_b.pk]).exists():
        raise PermissionDenied(_("You can see neither of these members."))


def _lock_members(*member_ids: int) -> dict[int, Member]:
    return {member.pk: member for member in
            Member.objects.filter(pk__in=member_ids).order_by("pk").select_for_update()}  # fmt: skip


def _locked(agency, actor: User, appointment: Appointment) -> Appointment:
    """The appointment's row, locked (after its members' rows) and read again."""
    _lock_members(appointment.member_a_id, appointment.member_b_id)
    locked = (
        appointment_visible_list(user=actor)
        .filter(pk=appointment.pk, agency=agency)
        .select_related("member_a", "member_b")
        .select_for_update(of=("self",))
        .first()
    )
    if locked is None:
        raise PermissionDenied(_("You cannot see this appointment."))
    return locked


def _event(agency, appointment: Appointment, kind: str, actor: User, note: str = "") -> AppointmentEvent:
    return AppointmentEvent.objects.create(agency=agency, appointment=appointment, kind=kind, actor=actor,
                                           note=note[:300])  # fmt: skip


def _check_time(starts_at: datetime.datetime) -> None:
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be aware")
    if starts_at <= timezone.now():
        raise ValidationError({"starts_at": _("Choose a time in the future.")})


def _check_gap(member_ids, starts_at: datetime.datetime, exclude_pk=None) -> None:
    clash = appointment_overlapping(member_ids=member_ids, starts_at=starts_at, window=MIN_GAP, exclude_pk=exclude_pk)
    if clash is not None:
        member = clash.member_a if clash.member_a_id in member_ids else clash.member_b
        raise ValidationError({"starts_at": _(
            "%(member)s already has an appointment at %(when)s; a member's appointments must be at least two hours "
            "apart."
        ) % {"member": member, "when": _local(clash.starts_at)}})  # fmt: skip


def _check_entitlements(agency, members) -> None:
    """Both members need an appointment left on an effective contract; say what is missing for each."""
    today = agency_today(agency)
    problems = []
    for member in members:
        contract = effective_contract(member=member, on=today)
        if contract is None:
            problems.append(_("%(member)s has no effective contract.") % {"member": member})
        elif contract.appointments_left < 1:
            problems.append(_("%(member)s has used all %(total)s appointments of contract %(number)s.") % {
                "member": member, "total": contract.appointments_total, "number": contract.number})  # fmt: skip
    if problems:
        raise ValidationError(problems)


def _link_recommendation(agency, recommendation: Recommendation, member_ids: set[int]) -> None:
    locked = Recommendation.objects.filter(pk=recommendation.pk, agency=agency).select_for_update().first()
    if locked is None or {locked.member_id, locked.candidate_id} != member_ids:
        raise ValidationError(_("The recommendation is about other members."))
    if locked.status != Recommendation.Status.ACCEPTED:
        raise ValidationError(_(
            "Only a recommendation both sides accepted can be booked; this one is “%(status)s”."
        ) % {"status": locked.get_status_display()})  # fmt: skip
    Recommendation.objects.filter(pk=locked.pk).update(status=Recommendation.Status.APPOINTMENT,
                                                      updated_at=timezone.now())  # fmt: skip


# --- appointments ----------------------------------------------------------------------------------


@transaction.atomic
def appointment_book(
    *, agency, actor: User, member_a: Member, member_b: Member, starts_at: datetime.datetime, place: str,
    note: str = "", recommendation: Recommendation | None = None,
) -> Appointment:  # fmt: skip
    """Book a meeting of two members (F-F5).

    Counts one appointment against each member's effective contract, in this transaction: both
    must have one left, or nothing is booked. A recommendation both sides accepted may be the
    origin; it then moves on to "appointment".
    """
    _require(actor, "add_appointments", message=_("Your role does not allow booking appointments."))
    _check_pair(agency, actor, member_a, member_b)
    place = (place or "").strip()
    if not place:
        raise ValidationError({"place": _("Say where they meet.")})
    _check_time(starts_at)
    locked = _lock_members(member_a.pk, member_b.pk)
    member_a, member_b = locked[member_a.pk], locked[member_b.pk]
    _check_gap([member_a.pk, member_b.pk], starts_at)
    _check_entitlements(agency, (member_a, member_b))
    if recommendation is not None:
        _link_recommendation(agency, recommendation, {member_a.pk, member_b.pk})
    contract_a = entitlement_consume(agency=agency, member=member_a, kind="appointment")
    contract_b = entitlement_consume(agency=agency, member=member_b, kind="appointment")
    appointment = Appointment.objects.create(
        agency=agency, member_a=member_a, member_b=member_b, recommendation=recommendation, starts_at=starts_at,
        place=place, note=(note or "").strip(), matchmaker_a_id=member_a.aftersale_owner_id,
        matchmaker_b_id=member_b.aftersale_owner_id, arranged_by=actor, contract_a=contract_a, contract_b=contract_b,
    )  # fmt: skip
    _event(agency, appointment, AppointmentEvent.Kind.BOOKED, actor, f"{_local(starts_at)} · {place}")
    _stage(agency, (member_a, member_b), "meeting_arranged", actor)
    return appointment


def _stage(agency, members, stage: str, actor) -> None:
    """Move both members on in the service workflow (F-F9); members not in service are left alone."""
    for member in sorted(members, key=lambda m: m.pk):
        stage_enter(agency=agency, member=member, stage=stage, actor=actor)


@transaction.atomic
def appointment_reschedule(
    *, agency, actor: User, appointment: Appointment, starts_at: datetime.datetime, place: str, note: str = ""
) -> Appointment:
    """Change the time, place or note of a planned appointment; the two-hour rule applies again."""
    _require(actor, "edit_appointments", message=_("Your role does not allow changing appointments."))
    locked = _locked(agency, actor, appointment)
    if locked.status != Status.PLANNED:
        raise ValidationError(_("Only planned appointments can be changed; this one is %(status)s.")
                              % {"status": locked.get_status_display()})  # fmt: skip
    place = (place or "").strip()
    if not place:
        raise ValidationError({"place": _("Say where they meet.")})
    changes = []
    if starts_at != locked.starts_at:
        _check_time(starts_at)
        _check_gap([locked.member_a_id, locked.member_b_id], starts_at, exclude_pk=locked.pk)
        changes.append(f"{_local(locked.starts_at)} → {_local(starts_at)}")
    if place != locked.place:
        changes.append(f"{locked.place} → {place}")
    locked.starts_at, locked.place, locked.note = starts_at, place, (note or "").strip()
    locked.save(update_fields=["starts_at", "place", "note"])
    _event(agency, locked, AppointmentEvent.Kind.RESCHEDULED, actor, "; ".join(changes))
    return locked


def _close(agency, actor: User, appointment: Appointment, *, to: str, kind: str, note: str = "",
           absent: str = "") -> Appointment:  # fmt: skip
    _require(actor, "edit_appointments", message=_("Your role does not allow changing appointments."))
    locked = _locked(agency, actor, appointment)
    if locked.status != Status.PLANNED:
        raise ValidationError(_("This appointment is %(status)s already.") % {"status": locked.get_status_display()})
    if to == Status.CANCELLED and locked.starts_at <= timezone.now():
        # Cancelling gives the appointments back; once the time has come it is done or a no-show.
        raise ValidationError(_("The appointment time has passed: record it as held or as a no-show."))
    if to != Status.CANCELLED and locked.starts_at > timezone.now():
        raise ValidationError(_("The appointment has not started yet (%(when)s); record how it went afterwards.")
                              % {"when": _local(locked.starts_at)})  # fmt: skip
    locked.status, locked.absent, locked.closed_by, locked.closed_at = to, absent, actor, timezone.now()
    locked.save(update_fields=["status", "absent", "closed_by", "closed_at"])
    _event(agency, locked, kind, actor, note)
    return locked


@transaction.atomic
def appointment_complete(*, agency, actor: User, appointment: Appointment) -> Appointment:
    """They met: feedback and the outcome can be recorded now (the workflow's "feedback" stage)."""
    done = _close(agency, actor, appointment, to=Status.DONE, kind=AppointmentEvent.Kind.DONE)
    _stage(agency, (done.member_a, done.member_b), "feedback", actor)
    return done


@transaction.atomic
def appointment_no_show(*, agency, actor: User, appointment: Appointment, absent: str, note: str = "") -> Appointment:
    """Someone did not come. The appointments stay counted: the agency arranged them."""
    if absent not in Appointment.Absent.values:
        raise ValidationError({"absent": _("Say who did not come.")})
    label = Appointment.Absent(absent).label
    return _close(agency, actor, appointment, to=Status.NO_SHOW, kind=AppointmentEvent.Kind.NO_SHOW, absent=absent,
                  note=f"{label}. {note.strip()}".strip())  # fmt: skip


@transaction.atomic
def appointment_cancel(*, agency, actor: User, appointment: Appointment, reason: str = "") -> Appointment:
    """Called off before it took place: each member gets the appointment back on the contract it was
    counted against (a no-show does not), and a recommendation it came from can be booked again."""
    locked = _close(agency, actor, appointment, to=Status.CANCELLED, kind=AppointmentEvent.Kind.CANCELLED,
                    note=(reason or "").strip())  # fmt: skip
    Contract.objects.filter(pk__in=[locked.contract_a_id, locked.contract_b_id], appointments_used__gt=0).update(
        appointments_used=F("appointments_used") - 1
    )
    if locked.recommendation_id is not None:
        still_booked = Appointment.objects.filter(recommendation_id=locked.recommendation_id).exclude(
            status=Status.CANCELLED).exists()  # fmt: skip
        if not still_booked:
            Recommendation.objects.filter(pk=locked.recommendation_id, status=Recommendation.Status.APPOINTMENT).update(
                status=Recommendation.Status.ACCEPTED, updated_at=timezone.now()
            )
    return locked


@transaction.atomic
def feedback_record(
    *, agency, actor: User, appointment: Appointment, member: Member, rating: int, text: str = "",
    wants_to_continue: bool,
) -> AppointmentFeedback:  # fmt: skip
    """What one member said after they met; recording it again replaces it."""
    _require(actor, "edit_appointments", message=_("Your role does not allow changing appointments."))
    locked = _locked(agency, actor, appointment)
    if locked.status != Status.DONE:
        raise ValidationError(_("Feedback is recorded once the appointment has taken place."))
    if member.pk not in (locked.member_a_id, locked.member_b_id):
        raise ValidationError({"side": _("Choose one of the two members of this appointment.")})
    if rating not in range(1, 6):
        raise ValidationError({"rating": _("Give a rating from 1 to 5.")})
    feedback, _created = AppointmentFeedback.objects.update_or_create(
        agency=agency, appointment=locked, member=member,
        defaults={"rating": rating, "text": (text or "").strip(), "wants_to_continue": wants_to_continue,
                  "recorded_by": actor},
    )  # fmt: skip
    wish = _("wants to continue") if wants_to_continue else _("does not want to continue")
    _event(agency, locked, AppointmentEvent.Kind.FEEDBACK, actor, f"{member}: {rating}/5, {wish}")
    return feedback


def _member_locked(agency, member: Member, appointment: Appointment) -> Appointment:
    locked = (
        Appointment.objects.select_for_update()
        .filter(agency=agency, pk=appointment.pk)
        .filter(Q(member_a=member) | Q(member_b=member))
        .first()
    )
    if locked is None:
        raise Http404
    return locked


@transaction.atomic
def appointment_confirm_by_member(*, agency, member: Member, appointment: Appointment) -> Appointment:
    """The member says in the portal that they will come; their matchmaker sees it on the appointment."""
    locked = _member_locked(agency, member, appointment)
    if locked.status != Status.PLANNED or locked.starts_at <= timezone.now():
        raise ValidationError(_("Only a planned appointment that has not started yet can be confirmed."))
    field = f"confirmed_{locked.side_of(member.pk)}_at"
    if getattr(locked, field) is None:
        setattr(locked, field, timezone.now())
        locked.save(update_fields=[field])
        AppointmentEvent.objects.create(
            agency=agency, appointment=locked, kind=AppointmentEvent.Kind.CONFIRMED, actor=None,
            note=_("%(name)s confirmed in the portal") % {"name": member.name},
        )  # fmt: skip
    return locked


@transaction.atomic
def feedback_by_member(*, agency, member: Member, appointment: Appointment, rating: int, text: str = "",
                       wants_to_continue: bool) -> AppointmentFeedback:  # fmt: skip
    """The member's own feedback after the meeting (portal); it replaces what was recorded for them."""
    locked = _member_locked(agency, member, appointment)
    if locked.status != Status.DONE:
        raise ValidationError(_("Feedback is given once the appointment has taken place."))
    if rating not in range(1, 6):
        raise ValidationError({"rating": _("Give a rating from 1 to 5.")})
    feedback, _created = AppointmentFeedback.objects.update_or_create(
        agency=agency, appointment=locked, member=member,
        defaults={"rating": rating, "text": (text or "").strip(), "wants_to_continue": wants_to_continue,
                  "recorded_by": None, "by_member": True},
    )  # fmt: skip
    wish = _("wants to continue") if wants_to_continue else _("does not want to continue")
    AppointmentEvent.objects.create(
        agency=agency, appointment=locked, kind=AppointmentEvent.Kind.FEEDBACK, actor=None,
        note=f"{member} ({_('portal')}): {rating}/5, {wish}",
    )  # fmt: skip
    return feedback


@transaction.atomic
def outcome_record(*, agency, actor: User, appointment: Appointment, outcome: str) -> Appointment:
    """Where the two stand after meeting: dating on, stopped, a couple, engaged, married."""
    _require(actor, "edit_appointments", message=_("Your role does not allow changing appointments."))
    if outcome not in Appointment.Outcome.values:
        raise ValidationError({"outcome": _("Choose an outcome.")})
    locked = _locked(agency, actor, appointment)
    if locked.status != Status.DONE:
        raise ValidationError(_("The outcome is recorded once the appointment has taken place."))
    before = locked.get_outcome_display()
    locked.outcome = outcome
    locked.save(update_fields=["outcome"])
    # The match success rate counts the outcome on the day the appointment closed: that day's
    # dashboard roll-up no longer holds (it is counted live until the nightly job rolls it up again).
    dashboard_rollups.mark_stale(agency, {local_day(agency, locked.closed_at)} if locked.closed_at else set())
    after = locked.get_outcome_display()
    _event(agency, locked, AppointmentEvent.Kind.OUTCOME, actor, f"{before} → {after}" if before else after)
    return locked


# --- success stories -------------------------------------------------------------------------------


def _record_consent(story: SuccessStory, side: str, given: bool, actor: User) -> None:
    """Who recorded a member's consent and when; withdrawing it clears both."""
    if getattr(story, f"consent_{side}") == given and story.pk is not None:
        return
    setattr(story, f"consent_{side}", given)
    setattr(story, f"consent_{side}_by", actor if given else None)
    setattr(story, f"consent_{side}_at", timezone.now() if given else None)


def _locked_story(agency, actor: User, story: SuccessStory) -> SuccessStory:
    locked = story_visible_list(user=actor).filter(pk=story.pk, agency=agency).select_for_update().first()
    if locked is None:
        raise PermissionDenied(_("You cannot see this success story."))
    return locked


def _check_story_text(title: str, text: str) -> tuple[str, str]:
    title, text = (title or "").strip(), (text or "").strip()
    if not title:
        raise ValidationError({"title": _("Give the story a title.")})
    if not text:
        raise ValidationError({"text": _("Tell the story.")})
    return title, text


@transaction.atomic
def story_create(
    *, agency, actor: User, member_a: Member, member_b: Member, title: str, text: str, story_date: datetime.date,
    consent_a: bool = False, consent_b: bool = False,
) -> SuccessStory:  # fmt: skip
    """Write a success story (F-F8) as a draft; publishing it is a separate, audited step."""
    _require(actor, "add_stories", message=_("Your role does not allow writing success stories."))
    _check_pair(agency, actor, member_a, member_b)
    title, text = _check_story_text(title, text)
    if story_date > agency_today(agency):
        raise ValidationError({"story_date": _("The date cannot be in the future.")})
    story = SuccessStory(agency=agency, member_a=member_a, member_b=member_b, title=title, text=text,
                         story_date=story_date, created_by=actor)  # fmt: skip
    _record_consent(story, "a", consent_a, actor)
    _record_consent(story, "b", consent_b, actor)
    story.save()
    return story


@transaction.atomic
def story_update(
    *, agency, actor: User, story: SuccessStory, title: str, text: str, story_date: datetime.date, consent_a: bool,
    consent_b: bool,
) -> SuccessStory:  # fmt: skip
    """Change a story. A member withdrawing consent takes a published story off the site at once."""
    _require(actor, "edit_stories", message=_("Your role does not allow changing success stories."))
    locked = _locked_story(agency, actor, story)
    locked.title, locked.text = _check_story_text(title, text)
    if story_date > agency_today(agency):
        raise ValidationError({"story_date": _("The date cannot be in the future.")})
    locked.story_date = story_date
    _record_consent(locked, "a", consent_a, actor)
    _record_consent(locked, "b", consent_b, actor)
    # A consent withdrawn, or a change by someone who may not publish, takes it off the site until
    # a publisher looks again: what is public is always what a publisher approved.
    if locked.is_published and (not locked.may_publish or not actor.has_perm("matchmakers.audit_stories")):
        locked.is_published, locked.published_at, locked.published_by = False, None, None
    locked.save()
    return locked


@transaction.atomic
def story_publish(*, agency, actor: User, story: SuccessStory) -> SuccessStory:
    """Show the story on the agency's public site; both members become a success (F-C4)."""
    _require(actor, "audit_stories", message=_("Your role does not allow publishing success stories."))
    locked = _locked_story(agency, actor, story)
    if locked.is_published:
        raise ValidationError(_("This story is published already."))
    if not locked.may_publish:
        raise ValidationError(_("Both members must agree to publication first; record their consent on the story."))
    locked.is_published, locked.published_at, locked.published_by = True, timezone.now(), actor
    locked.save(update_fields=["is_published", "published_at", "published_by", "updated_at"])
    Member.objects.filter(pk__in=[locked.member_a_id, locked.member_b_id]).update(status=Member.Status.SUCCESS)
    return locked


@transaction.atomic
def story_unpublish(*, agency, actor: User, story: SuccessStory) -> SuccessStory:
    """Take the story off the public site. The members stay a success: they still found each other."""
    _require(actor, "audit_stories", message=_("Your role does not allow publishing success stories."))
    locked = _locked_story(agency, actor, story)
    if not locked.is_published:
        raise ValidationError(_("This story is not published."))
    locked.is_published, locked.published_at, locked.published_by = False, None, None
    locked.save(update_fields=["is_published", "published_at", "published_by", "updated_at"])
    return locked


@transaction.atomic
def story_photos_add(*, agency, actor: User, story: SuccessStory, images, caption: str = "") -> list[StoryPhoto]:
    """Add photos to a story. They are public once published, so each is re-encoded (EXIF/GPS
    stripped, downsized) by a task, and the public pages show only photos that were."""
    _require(actor, "edit_stories", message=_("Your role does not allow changing success stories."))
    locked = _locked_story(agency, actor, story)
    images = list(images)
    if not images:
        raise ValidationError({"images": _("Choose at least one photo.")})
    existing = StoryPhoto.objects.filter(story=locked).count()
    if existing + len(images) > MAX_STORY_PHOTOS:
        raise ValidationError({"images": _("A story has at most %(max)s photos; it has %(count)s already.")
                               % {"max": MAX_STORY_PHOTOS, "count": existing}})  # fmt: skip
    if locked.is_published and not actor.has_perm("matchmakers.audit_stories"):
        # New photos need a publisher's look before they are public: the story goes back to draft.
        locked.is_published, locked.published_at, locked.published_by = False, None, None
        locked.save(update_fields=["is_published", "published_at", "published_by"])
    photos = []
    for image in images:
        photo = StoryPhoto(agency=agency, story=locked, image=image, caption=(caption or "").strip())
        photo.full_clean(exclude=["agency", "story"])
        photo.save()
        photos.append(photo)
    transaction.on_commit(lambda: story_photos_optimize.delay(agency_id=agency.pk))
    return photos


@transaction.atomic
def story_photo_delete(*, agency, actor: User, photo: StoryPhoto) -> None:
    _require(actor, "edit_stories", message=_("Your role does not allow changing success stories."))
    _locked_story(agency, actor, photo.story)
    name, storage = photo.image.name, photo.image.storage
    StoryPhoto.objects.filter(pk=photo.pk, agency=agency).delete()
    transaction.on_commit(lambda: storage.delete(name))
