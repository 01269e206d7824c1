"""The staff side of the conversations with members (F-F7): inbox, thread, reply, start, images.

Threads and images are looked up through the staff user's view of members, so a thread of a
member outside their branch, or of another agency, is a 404 like one that does not exist.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.forms import apply_service_errors
from apps.core.http import private_file_response
from apps.matchmakers.decorators import staff_permission_required
from apps.members.selectors import member_get

from . import selectors, threads
from .forms_threads import InboxFilterForm, ReplyForm, ThreadStartForm

PAGE_SIZE = 25
VIEW = "matchmakers.view_messages"
ADD = "matchmakers.add_messages"


@staff_permission_required(VIEW)
def inbox(request):
    form = InboxFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = selectors.thread_inbox(
        user=request.user, unread_only=filters.get("unread", False), search=filters.get("q", "")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "messaging/inbox.html", {"filter_form": form, "page": page})


def _thread_or_404(request, pk):
    thread = selectors.thread_get_for_staff(user=request.user, pk=pk)
    if thread is None:
        raise Http404
    return thread


def _thread_page(request, thread, form, *, status=200):
    context = {
        "thread": thread,
        "thread_messages": selectors.thread_messages(thread=thread),
        "form": form,
        "may_reply": request.user.has_perm(ADD),
    }
    return render(request, "messaging/thread.html", context, status=status)


@staff_permission_required(VIEW)
def thread_detail(request, pk):
    """The conversation; opening it marks the member's messages read by staff."""
    thread = _thread_or_404(request, pk)
    threads.thread_read_by_staff(agency=request.agency, actor=request.user, thread_id=thread.pk)
    return _thread_page(request, thread, ReplyForm())


@require_POST
@staff_permission_required(VIEW, ADD)
def thread_reply(request, pk):
    thread = _thread_or_404(request, pk)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            threads.message_post_by_staff(
                agency=request.agency, actor=request.user, thread_id=thread.pk, **form.cleaned_data
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Your message has been sent to %(name)s.") % {"name": thread.member.name})
            return redirect("messaging:thread", pk=thread.pk)
    messages.error(request, _("Nothing was sent. Please correct the fields marked below."))
    return _thread_page(request, thread, form, status=400)


@staff_permission_required("matchmakers.view_members", VIEW, ADD)
def thread_start(request, pk):
    """A new conversation with a member, from the 360° page."""
    member = member_get(user=request.user, pk=pk)
    if member is None:
        raise Http404
    form = ThreadStartForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                thread = threads.thread_start_by_staff(
                    agency=request.agency, actor=request.user, member=member, **form.cleaned_data
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Your message has been sent to %(name)s.") % {"name": member.name})
                return redirect("messaging:thread", pk=thread.pk)
    return render(request, "messaging/thread_start.html", {"member": member, "form": form}, status=status)


@staff_permission_required(VIEW)
def message_image(request, pk):
    message = selectors.message_image_for_staff(user=request.user, pk=pk)
    if message is None:
        raise Http404
    return private_file_response(message.image)
