"""Conversations between a member and the staff serving them (F-F7): start, post, read.

Every write takes the thread's row lock (SELECT … FOR UPDATE) before it touches the unread
counters, so a message posted while the other side opens the thread, or two messages posted at
once, leave the counters exact: a post adds one to the other side's counter, opening a thread
sets the reader's counter to zero and stamps `read_at` on the messages it covered.

Staff write only to members they may see (`member_visible_list`) with the messages "add"
permission; a member writes only to their own threads. Ids from the browser are always looked up
together with the agency and the member (or the staff user's view), so a wrong id is a 404.

An uploaded image is checked by its content (never its name), re-encoded without EXIF/GPS before
it is stored, and stored under a name whose extension matches what it really is.
"""

import io

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image

from apps.core.images import reencode_image
from apps.core.uploads import ALLOWED_IMAGE_FORMATS, validate_image_upload
from apps.matchmakers.models import User
from apps.members.models import Member
from apps.members.selectors import member_get_or_404, member_visible_list

from .models import Message, Notification, Thread

SUBJECT_MAX_LENGTH = 200
BODY_MAX_LENGTH = 5000


# --- checks ------------------------------------------------------------------------------------------


def _staff_writer(actor: User, agency) -> None:
    if not actor.has_perm("matchmakers.add_messages"):
        raise PermissionDenied(_("Your role does not allow sending messages."))
    if actor.agency_id != agency.pk:
        raise Http404


def _staff_reader(actor: User, agency) -> None:
    if not actor.has_perm("matchmakers.view_messages"):
        raise PermissionDenied(_("Your role does not allow reading messages."))
    if actor.agency_id != agency.pk:
        raise Http404


def _clean_subject(subject: str) -> str:
    subject = (subject or "").strip()
    if not subject:
        raise ValidationError({"subject": _("Give the conversation a subject.")})
    if len(subject) > SUBJECT_MAX_LENGTH:
        raise ValidationError(
            {"subject": _("The subject can have at most %(limit)s characters.") % {"limit": SUBJECT_MAX_LENGTH}}
        )
    return subject


def _clean_image(image):
    """The upload as a re-encoded file named after its real type; ValidationError on the "image" field."""
    try:
        validate_image_upload(image)
    except ValidationError as error:
        raise ValidationError({"image": error.messages}) from error
    image.seek(0)
    data = image.read()
    with Image.open(io.BytesIO(data)) as opened:
        extension = ALLOWED_IMAGE_FORMATS[opened.format]
    cleaned = reencode_image(data)
    return ContentFile(cleaned if cleaned is not None else data, name=f"image.{extension}")


def _clean_content(body: str, image) -> tuple[str, object]:
    """A message needs words or an image (or both); checked before anything is stored."""
    body = (body or "").strip()
    if len(body) > BODY_MAX_LENGTH:
        raise ValidationError(
            {"body": _("A message can have at most %(limit)s characters; this one has %(count)s.")
             % {"limit": BODY_MAX_LENGTH, "count": len(body)}}
        )  # fmt: skip
    if not body and not image:
        raise ValidationError({"body": _("Write a message or attach an image.")})
    return body, (_clean_image(image) if image else None)


# --- writing -----------------------------------------------------------------------------------------


def _append(thread: Thread, *, from_member: bool, body: str, image=None, author: User | None = None,
            on_behalf_by: User | None = None, notification: Notification | None = None) -> Message:  # fmt: skip
    """Add a message to a thread the caller has locked, and count it as unread by the other side."""
    message = Message(
        agency_id=thread.agency_id, thread=thread, from_member=from_member, author=author, on_behalf_by=on_behalf_by,
        body=body, notification=notification,
    )  # fmt: skip
    if image is not None:
        message.image.save(image.name, image, save=False)
    message.save()
    if from_member:
        thread.unread_by_staff += 1
    else:
        thread.unread_by_member += 1
    thread.last_message_at = message.created_at
    thread.save(update_fields=["unread_by_staff", "unread_by_member", "last_message_at"])
    return message


def _staff_thread_locked(actor: User, agency, thread_id: int) -> Thread:
    thread = (
        Thread.objects.select_for_update(of=("self",))
        .filter(agency=agency, pk=thread_id, member__in=member_visible_list(user=actor))
        .first()
    )
    if thread is None:
        raise Http404
    return thread


def _member_thread_locked(member: Member, thread_id: int) -> Thread:
    thread = Thread.objects.select_for_update().filter(agency=member.agency_id, member=member, pk=thread_id).first()
    if thread is None:
        raise Http404
    return thread


@transaction.atomic
def thread_start_by_staff(*, agency, actor: User, member: Member, subject: str, body: str, image=None) -> Thread:
    """Start a conversation with a member the actor may see, with its first message.

    Raises PermissionDenied without the messages "add" permission, Http404 for a member of another
    agency or outside the actor's branch, ValidationError (nothing stored) for bad input.
    """
    _staff_writer(actor, agency)
    member = member_get_or_404(user=actor, pk=member.pk)
    subject = _clean_subject(subject)
    body, image = _clean_content(body, image)
    thread = Thread.objects.create(
        agency=agency, member=member, subject=subject, started_by=actor, last_message_at=timezone.now()
    )
    _append(thread, from_member=False, author=actor, body=body, image=image)
    return thread


@transaction.atomic
def thread_start_by_member(*, member: Member, subject: str, body: str, image=None,
                           impersonator: User | None = None) -> Thread:  # fmt: skip
    """The member writes to their matchmaker from the portal: a new conversation.

    `impersonator` is the staff user logged in as the member, recorded as having written it.
    """
    subject = _clean_subject(subject)
    body, image = _clean_content(body, image)
    thread = Thread.objects.create(
        agency_id=member.agency_id, member=member, subject=subject, last_message_at=timezone.now()
    )
    _append(thread, from_member=True, on_behalf_by=impersonator, body=body, image=image)
    return thread


@transaction.atomic
def message_post_by_staff(*, agency, actor: User, thread_id: int, body: str, image=None) -> Message:
    """A staff reply in a thread of a member the actor may see; the member's unread count grows by one.

    Raises PermissionDenied without the messages "add" permission, Http404 for a thread the actor
    may not see, ValidationError (nothing stored) for an empty message or a bad image.
    """
    _staff_writer(actor, agency)
    body, image = _clean_content(body, image)
    thread = _staff_thread_locked(actor, agency, thread_id)
    return _append(thread, from_member=False, author=actor, body=body, image=image)


@transaction.atomic
def message_post_by_member(*, member: Member, thread_id: int, body: str, image=None,
                           impersonator: User | None = None) -> Message:  # fmt: skip
    """The member's reply in one of their own threads; the staff unread count grows by one.

    While staff are logged in as the member (`impersonator`), the message is still the member's,
    with the staff user recorded as having written it for them.
    """
    body, image = _clean_content(body, image)
    thread = _member_thread_locked(member, thread_id)
    return _append(thread, from_member=True, on_behalf_by=impersonator, body=body, image=image)


def _mark_read(thread: Thread, *, by_member: bool) -> int:
    counter = "unread_by_member" if by_member else "unread_by_staff"
    if getattr(thread, counter) == 0:
        return 0
    Message.objects.filter(
        agency=thread.agency_id, thread=thread, from_member=not by_member, read_at__isnull=True
    ).update(read_at=timezone.now())
    unread = getattr(thread, counter)
    setattr(thread, counter, 0)
    thread.save(update_fields=[counter])
    return unread


@transaction.atomic
def thread_read_by_member(*, member: Member, thread_id: int) -> int:
    """The member opened the thread: the agency's messages are read. Returns how many were unread."""
    return _mark_read(_member_thread_locked(member, thread_id), by_member=True)


@transaction.atomic
def thread_read_by_staff(*, agency, actor: User, thread_id: int) -> int:
    """Staff opened the thread: the member's messages are read. Returns how many were unread."""
    _staff_reader(actor, agency)
    return _mark_read(_staff_thread_locked(actor, agency, thread_id), by_member=False)


# --- notices -----------------------------------------------------------------------------------------


def notice_subject(notification: Notification) -> str:
    """The notification's own subject, else "Message from <agency>" (staff's plain in-site messages)."""
    subject = (notification.subject or "").strip()[:SUBJECT_MAX_LENGTH]
    return subject or _("Message from %(agency)s") % {"agency": notification.agency.name}


@transaction.atomic
def post_notice(notification: Notification) -> Message:
    """Deliver an in-site notification as a message from the agency in the member's inbox.

    It joins the member's latest thread with the same subject (one "Message from <agency>" thread
    gathers staff's plain in-site messages) or starts one. Idempotent: a notification delivered
    again returns the message it already became.
    """
    existing = Message.objects.filter(agency=notification.agency_id, notification=notification).first()
    if existing is not None:
        return existing
    subject = notice_subject(notification)
    thread = (
        Thread.objects.select_for_update()
        .filter(agency=notification.agency_id, member=notification.member_id, subject=subject)
        .order_by("-last_message_at", "-id")
        .first()
    )
    if thread is None:
        thread = Thread.objects.create(
            agency_id=notification.agency_id, member_id=notification.member_id, subject=subject,
            started_by=notification.sender, last_message_at=timezone.now(),
        )  # fmt: skip
    return _append(thread, from_member=False, author=notification.sender, body=notification.body,
                   notification=notification)  # fmt: skip
