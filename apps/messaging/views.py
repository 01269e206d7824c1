from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.matchmakers.decorators import staff_permission_required
from apps.members.selectors import member_get

from . import services
from .forms import ContactForm


@require_POST
@staff_permission_required("matchmakers.view_members", "matchmakers.add_messages")
def contact(request, pk):
    """Send a member an in-site message, an email or an SMS from the 360° page (F-E4)."""
    member = member_get(user=request.user, pk=pk)
    if member is None:
        raise Http404
    form = ContactForm(request.POST)
    if not form.is_valid():
        errors = " ".join(error for field_errors in form.errors.values() for error in field_errors)
        messages.error(request, _("Nothing was sent: %(errors)s") % {"errors": errors})
        return redirect("members:detail", pk=member.pk)
    try:
        notification = services.send_to_member(
            agency=request.agency, actor=request.user, member=member, **form.cleaned_data
        )
    except ValidationError as error:
        messages.error(request, _("Nothing was sent: %(errors)s") % {"errors": " ".join(error.messages)})
    else:
        messages.success(
            request,
            _("%(channel)s to %(name)s is on its way; the timeline shows whether it was delivered.")
            % {"channel": notification.get_channel_display(), "name": member.name},
        )
    return redirect("members:detail", pk=member.pk)
