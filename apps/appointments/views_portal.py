"""The portal's members' cards and entrust requests (委托红娘, F-F6).

A logged-in member browses the anonymous cards of published members (masked name, age, city,
education, height, a short introduction, the main photo), asks their matchmaker to arrange a
meeting, and follows their requests. Cards never show a name, a contact or a date of birth; every
read starts from the member the portal serves, so a changed id in a URL reaches a 404.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.members import divisions
from apps.portal.auth import current_member, member_required, members_own_decision
from apps.portal.shortcuts import portal_render

from . import entrust, selectors
from .forms_entrust import CardFilter, EntrustNoteForm
from .models import SuccessStory

PAGE_SIZE = 12


@member_required
def member_cards(request):
    member = current_member(request)
    filterset = CardFilter(request.GET, queryset=selectors.published_cards(member=member),
                           city_codes=selectors.card_cities(member=member))  # fmt: skip
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    for card_row in page:
        _with_city(card_row)
    return portal_render(request, "appointments/portal_cards.html", {"filter": filterset, "page": page})


def _with_city(card):
    card.city_name = divisions.name_of(card.residence_city)
    return card


def _card_or_404(member, pk):
    card = selectors.published_card(member=member, pk=pk)
    if card is None:
        raise Http404
    return _with_city(card)


def _card_page(request, member, card, *, form=None, status=200):
    return portal_render(request, "appointments/portal_card.html", {
        "card": card, "form": form or EntrustNoteForm(), "asked": selectors.entrust_open_for(member=member,
                                                                                             target_id=card.pk),
    }, status=status)  # fmt: skip


@member_required
def card(request, pk):
    member = current_member(request)
    return _card_page(request, member, _card_or_404(member, pk))


@require_POST
@member_required
@members_own_decision
def entrust_target(request, pk):
    """I want to meet this person: a request to the member's matchmaker, with an optional note."""
    member = current_member(request)
    target = _card_or_404(member, pk)
    form = EntrustNoteForm(request.POST)
    if form.is_valid():
        try:
            entrust.entrust_request(agency=request.agency, member=member, target=target,
                                    note=form.cleaned_data["note"])  # fmt: skip
        except ValidationError as error:
            if getattr(error, "code", None) == "duplicate":
                messages.info(request, " ".join(error.messages))
                return redirect("portal_entrust:requests")
            form.add_error(None, error)
        else:
            messages.success(request, _("Your matchmaker has your request and will be in touch."))
            return redirect("portal_entrust:requests")
    return _card_page(request, member, target, form=form, status=400)


@require_POST
@member_required
@members_own_decision
def entrust_story(request, pk):
    """Someone like this couple, please: from a published success story of the agency's site."""
    member = current_member(request)
    story = SuccessStory.objects.filter(agency=request.agency, pk=pk, is_published=True).first()
    if story is None:
        raise Http404
    form = EntrustNoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for error in form.errors.get("note", [])))
        return redirect("stories:detail", pk=story.pk)
    try:
        entrust.entrust_request(agency=request.agency, member=member, story=story, note=form.cleaned_data["note"])
    except ValidationError as error:
        messages.info(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your matchmaker has your request and will look for someone for you."))
    return redirect("portal_entrust:requests")


@member_required
def my_requests(request):
    member = current_member(request)
    rows = selectors.entrust_requests_of(member=member)[:50]
    return portal_render(request, "appointments/portal_requests.html", {"rows": rows})


@require_POST
@member_required
@members_own_decision
def withdraw(request, pk):
    member = current_member(request)
    entrust_request = selectors.entrust_request_of(member=member, pk=pk)
    if entrust_request is None:
        raise Http404
    try:
        entrust.entrust_withdraw(member=member, request=entrust_request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.info(request, _("Your request is withdrawn."))
    return redirect("portal_entrust:requests")
