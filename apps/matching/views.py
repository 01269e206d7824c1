"""The match library pages (F-F4): a member's candidates, recommending, and each side's answer."""


from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.forms import errors_sentence, form_page
from apps.core.http import next_url, private_file_response
from apps.matchmakers.decorators import staff_permission_required
from apps.members.models import Member, MemberPhoto
from apps.members.selectors import member_get

from . import selectors, services
from .forms import AnswerForm, MatchSettingsForm, RecommendForm
from .models import MatchProfile, MatchSettings, Recommendation

VIEW = ("matchmakers.view_members", "matchmakers.view_matches")
MAX_PAGES = 25


def _member_or_404(request, pk) -> Member:
    member = member_get(user=request.user, pk=pk)
    if member is None:
        raise Http404
    return member


def _library(request, member, *, status=200, form=None, failed_candidate=None):
    try:
        page = min(MAX_PAGES, max(1, int(request.GET.get("page", "1"))))
    except ValueError:
        page = 1
    suggestions = selectors.match_library(user=request.user, member=member, page=page)
    services.candidates_shown(agency=request.agency, member_ids=[s.member.pk for s in suggestions])
    context = {
        "member": member, "suggestions": suggestions, "page": page, "has_next": len(suggestions) == selectors.PAGE,
        "recommendations": selectors.with_sides(user=request.user, recommendations=list(
            selectors.recommendations_of(member=member))), "stats": selectors.stats_of(member=member),
        "form": form, "failed_candidate": failed_candidate, "answer_form": AnswerForm(),
        "has_birth_date": member.birth_date is not None,
    }  # fmt: skip
    return render(request, "matching/library.html", context, status=status)


@staff_permission_required(*VIEW)
def library(request, pk):
    """The member's match library: the best candidates of the whole agency, with reasons."""
    return _library(request, _member_or_404(request, pk))


@require_POST
@staff_permission_required(*VIEW, "matchmakers.add_matches")
def recommend(request, pk, candidate_pk):
    member = _member_or_404(request, pk)
    candidate = Member.objects.filter(pk=candidate_pk).first()
    if candidate is None:
        raise Http404
    form = RecommendForm(request.POST)
    if form.is_valid():
        try:
            services.recommend(agency=request.agency, actor=request.user, member=member, candidate=candidate,
                               reason=form.cleaned_data["reason"])  # fmt: skip
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The candidate has been recommended to %(member)s.") % {"member": member.name})
            return redirect("matching:library", pk=member.pk)
    else:
        messages.error(request, _("The recommendation was not saved: %(errors)s") % {"errors": errors_sentence(form)})
    return _library(request, member, status=400, form=form, failed_candidate=candidate.pk)


@require_POST
@staff_permission_required("matchmakers.view_members", "matchmakers.view_matches", "matchmakers.edit_matches")
def answer(request, pk, side, verdict):
    """The member's (side "member") or the candidate side's (side "candidate") answer: accept or decline."""
    if side not in ("member", "candidate") or verdict not in ("accept", "decline"):
        raise Http404
    recommendation = selectors.recommendation_list(user=request.user).filter(pk=pk).first()
    if recommendation is None:
        raise Http404
    form = AnswerForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.respond(agency=request.agency, actor=request.user, recommendation=recommendation, side=side,
                         accepted=verdict == "accept", reason=reason)  # fmt: skip
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except PermissionDenied as error:  # the other side's answer belongs to their matchmaker
        messages.error(request, str(error))
    else:
        messages.success(request, _("The answer has been recorded."))
    return redirect(next_url(request, reverse("matching:recommendations")))


@staff_permission_required(*VIEW)
def recommendation_list(request):
    """Every recommendation involving a member the user may see, by state."""
    recommendations = selectors.recommendation_list(user=request.user)
    status = request.GET.get("status", "")
    if status in Recommendation.Status.values:
        recommendations = recommendations.filter(status=status)
    elif status:
        messages.error(request, _("Unknown state “%(status)s”: showing all recommendations.") % {"status": status})
    page = Paginator(recommendations, 25).get_page(request.GET.get("page"))
    selectors.with_sides(user=request.user, recommendations=page.object_list)
    return render(request, "matching/recommendation_list.html", {
        "page": page, "statuses": Recommendation.Status.choices, "status": status, "answer_form": AnswerForm(),
    })  # fmt: skip


@staff_permission_required(*VIEW)
def candidate_photo(request, pk):
    """A candidate's main photo: shown in match results to staff who may not see the candidate's record."""
    if not MatchProfile.objects.filter(member_id=pk, eligible=True).exists():
        raise Http404
    photo = get_object_or_404(MemberPhoto, member_id=pk, is_primary=True)
    return private_file_response(photo.image)


@staff_permission_required("matchmakers.edit_settings")
def match_settings(request):
    """The agency's match score weights."""
    # The defaults until the agency saves its own (a page view writes nothing).
    settings = MatchSettings.objects.filter(agency=request.agency).first() or MatchSettings(agency=request.agency)
    form = MatchSettingsForm(request.POST or None, instance=settings)

    def saved():
        messages.success(request, _("The match score weights have been saved."))
        return redirect("matching:settings")

    return form_page(
        request,
        form,
        template="matching/settings.html",
        on_saved=saved,
        save=lambda: services.settings_save(agency=request.agency, actor=request.user, settings=form.instance),
    )
