"""The notification log and the agency's message templates (F-H3): thin views over services and selectors."""

import math

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.forms import apply_service_errors
from apps.core.http import next_url
from apps.core.templatetags.matchcrm import mask_phone
from apps.matchmakers.decorators import staff_permission_required

from . import selectors, services, templating
from .filters import NotificationFilter
from .forms import NotificationTemplateForm
from .models import Kind, Notification

PAGE_SIZE = 50
# A Chinese SMS of up to 70 characters is one message; a longer one is sent in parts of 67.
SMS_SINGLE_LENGTH, SMS_PART_LENGTH = 70, 67


def _mask_email(value: str) -> str:
    """li***@example.com: the domain and a first letter, enough to recognise, not to write to."""
    local, at, domain = (value or "").partition("@")
    if not at:
        return "*" * len(value or "")
    return f"{local[:2]}***@{domain}"


def _recipient_shown(notification: Notification, *, reveal: bool) -> str:
    if reveal or not notification.recipient:
        return notification.recipient
    if notification.channel == Notification.Channel.EMAIL:
        return _mask_email(notification.recipient)
    return mask_phone(notification.recipient)


# --- the notification log --------------------------------------------------------------------------


@staff_permission_required("matchmakers.view_messages")
def notification_list(request):
    """Every message sent to the members the user may see, newest first, with its delivery state."""
    filterset = NotificationFilter(request.GET, queryset=selectors.notification_log(user=request.user))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    reveal = request.user.has_perm("matchmakers.reveal_contact")
    for notification in page:
        notification.recipient_shown = _recipient_shown(notification, reveal=reveal)
    template = "messaging/notification_list.html#rows" if request.htmx else "messaging/notification_list.html"
    return render(request, template, {"filter": filterset, "page": page})


@require_POST
@staff_permission_required("matchmakers.view_messages", "matchmakers.add_messages")
def notification_retry(request, pk):
    """Retry now: one more attempt of a failed message, queued at once."""
    try:
        notification = services.notification_retry(agency=request.agency, actor=request.user, notification_id=pk)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("The %(channel)s to %(name)s is queued again; this list shows whether it goes out.")
            % {"channel": notification.get_channel_display(), "name": notification.member.name},
        )
    return redirect(next_url(request, reverse("messaging:notifications")))


# --- message templates -----------------------------------------------------------------------------


@staff_permission_required("matchmakers.view_settings")
def template_list(request):
    """Each kind of automatic message on each channel, and whether the agency wrote its own wording."""
    rows = selectors.notification_template_overview(agency=request.agency)
    return render(request, "messaging/template_list.html", {"rows": rows})


def _kind_and_channel(kind: str, channel: str) -> tuple[Kind, Notification.Channel]:
    if kind not in templating.TEMPLATE_KINDS or channel not in Notification.Channel.values:
        raise Http404
    return Kind(kind), Notification.Channel(channel)


def _preview(request, kind: str, channel: str, form) -> dict | None:
    """The wording in the form filled with sample values, as the member would get it; nothing is saved."""
    subject, body = form.cleaned_data.get("subject", ""), form.cleaned_data["body"]
    try:
        templating.check_placeholders(kind, subject, body)
    except ValidationError as error:
        form.add_error("body", error)
        return None
    rendered = templating.render(
        agency=request.agency, kind=kind, channel=channel, values=templating.sample_values(kind),
        subject=subject, body=body,
    )  # fmt: skip
    length = len(rendered.body)
    return {
        "subject": rendered.subject if channel != Notification.Channel.SMS else "",
        "body": rendered.body,
        "length": length,
        "parts": 1 if length <= SMS_SINGLE_LENGTH else math.ceil(length / SMS_PART_LENGTH),
        "too_long": length > services.SMS_MAX_LENGTH,
    }


@staff_permission_required("matchmakers.view_settings")
def template_edit(request, kind, channel):
    """Edit one wording, preview it with sample values, or (on its own URL) go back to the default."""
    kind, channel = _kind_and_channel(kind, channel)
    may_edit = request.user.has_perm("matchmakers.edit_settings")
    own = selectors.notification_template_get(agency=request.agency, kind=kind, channel=channel)
    subject, body = (own.subject, own.body) if own is not None else templating.default_wording(kind, channel)
    # Without the edit permission the fields are disabled: the form keeps (and previews) the stored wording.
    form = NotificationTemplateForm(
        request.POST if request.method == "POST" else None, initial={"subject": subject, "body": body},
        channel=channel, disabled=not may_edit,
    )  # fmt: skip
    preview, status = None, 200
    if request.method == "POST":
        previewing = "preview" in request.POST
        if not previewing and not may_edit:
            raise PermissionDenied
        if form.is_valid():
            if previewing:
                preview = _preview(request, kind, channel, form)
            else:
                try:
                    services.notification_template_save(
                        agency=request.agency, actor=request.user, kind=kind, channel=channel,
                        subject=form.cleaned_data.get("subject", ""), body=form.cleaned_data["body"],
                    )  # fmt: skip
                except ValidationError as error:
                    apply_service_errors(form, error)
                else:
                    messages.success(
                        request,
                        _("The wording of “%(kind)s” by %(channel)s is saved; new messages use it.")
                        % {"kind": kind.label, "channel": channel.label},
                    )
                    return redirect("messaging:templates")
        if form.errors:
            status = 400
    template = "messaging/template_form.html"
    if request.htmx and request.method == "POST":
        template, status = f"{template}#preview", 200  # htmx swaps only successful answers
    return render(request, template, {
        "form": form, "kind": kind, "channel": channel, "own": own, "may_edit": may_edit, "preview": preview,
        "placeholders": templating.allowed_placeholders(kind), "is_sms": channel == Notification.Channel.SMS,
        "sms_max_length": services.SMS_MAX_LENGTH,
    }, status=status)  # fmt: skip


@require_POST
@staff_permission_required("matchmakers.view_settings", "matchmakers.edit_settings")
def template_reset(request, kind, channel):
    """Go back to the built-in wording of one kind on one channel."""
    kind, channel = _kind_and_channel(kind, channel)
    if services.notification_template_reset(agency=request.agency, actor=request.user, kind=kind, channel=channel):
        messages.success(
            request,
            _("“%(kind)s” by %(channel)s uses the default wording again.")
            % {"kind": kind.label, "channel": channel.label},
        )
    else:
        messages.info(request, _("This message already uses the default wording."))
    return redirect("messaging:templates")
