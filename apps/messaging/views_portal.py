"""The member's messages in the portal (F-F7): inbox, conversation, reply, new message, images.

Every thread and image is looked up together with the member the portal serves, so changing a
number in the URL reaches a 404, never another member's conversation. While staff are logged in
as the member, what they write is the member's message recorded as written by them, and opening
a thread does not mark it read: the member has not seen it.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.forms import apply_service_errors
from apps.core.http import private_file_response
from apps.portal.auth import current_impersonation, current_member, member_required
from apps.portal.shortcuts import portal_render

from . import selectors, threads
from .forms_threads import MemberThreadStartForm, ReplyForm


def _impersonator(request):
    impersonation = current_impersonation(request)
    return impersonation.user if impersonation is not None else None


def _thread_or_404(member, pk):
    thread = selectors.thread_get_for_member(member=member, pk=pk)
    if thread is None:
        raise Http404
    return thread


def _thread_page(request, member, thread, form, *, status=200):
    context = {"member": member, "thread": thread, "thread_messages": selectors.thread_messages(thread=thread),
               "form": form}  # fmt: skip
    return portal_render(request, "portal/messages/thread.html", context, status=status)


@member_required
def thread_list(request):
    member = current_member(request)
    page = Paginator(selectors.member_thread_list(member=member), 20).get_page(request.GET.get("page"))
    context = {"member": member, "threads": page, "page": page}
    return portal_render(request, "portal/messages/list.html", context)


@member_required
def thread_detail(request, pk):
    """One conversation; opening it marks the agency's messages read."""
    member = current_member(request)
    thread = _thread_or_404(member, pk)
    if current_impersonation(request) is None:
        threads.thread_read_by_member(member=member, thread_id=thread.pk)
    return _thread_page(request, member, thread, ReplyForm())


@require_POST
@member_required
def thread_reply(request, pk):
    member = current_member(request)
    thread = _thread_or_404(member, pk)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            threads.message_post_by_member(
                member=member, thread_id=thread.pk, impersonator=_impersonator(request), **form.cleaned_data
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Your message has been sent."))
            return redirect("portal_messages:thread", pk=thread.pk)
    messages.error(request, _("Nothing was sent. Please correct the fields marked below."))
    return _thread_page(request, member, thread, form, status=400)


@member_required
def thread_start(request):
    """A new message to the member's matchmaker."""
    member = current_member(request)
    form = MemberThreadStartForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                thread = threads.thread_start_by_member(
                    member=member, impersonator=_impersonator(request), **form.cleaned_data
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Your message has been sent to your matchmaker."))
                return redirect("portal_messages:thread", pk=thread.pk)
    return portal_render(request, "portal/messages/new.html", {"member": member, "form": form}, status=status)


@member_required
def message_image(request, pk):
    message = selectors.message_image_for_member(member=current_member(request), pk=pk)
    if message is None:
        raise Http404
    return private_file_response(message.image)
