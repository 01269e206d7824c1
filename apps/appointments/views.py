"""Appointments (F-F5) and success stories (F-F8) in the back office: thin views over services and selectors."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.core.forms import apply_service_errors
from apps.matchmakers.decorators import staff_permission_required
from apps.members.selectors import member_get

from . import selectors, services
from .filters import AppointmentFilter, NotArrangedFilter, StoryFilter
from .forms import (
    AppointmentBookForm,
    AppointmentEditForm,
    CancelForm,
    FeedbackForm,
    NoShowForm,
    OutcomeForm,
    StoryCreateForm,
    StoryEditForm,
    StoryPhotoForm,
)  # fmt: skip

PAGE_SIZE = 25
VIEW = "matchmakers.view_appointments"
ADD = "matchmakers.add_appointments"
EDIT = "matchmakers.edit_appointments"
VIEW_STORIES = "matchmakers.view_stories"


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _members_from(form, agency):
    """The two members a form names by number, or None with the form's errors set."""
    members = []
    for field in ("member_a_no", "member_b_no"):
        member = selectors.member_by_number(agency=agency, number=form.cleaned_data[field])
        if member is None:
            form.add_error(field, _("No member of the agency has this number; check it on the member's page."))
        members.append(member)
    return None if None in members else members


# --- appointments ----------------------------------------------------------------------------------


@staff_permission_required(VIEW)
def appointment_list(request):
    """Appointments by tab: planned (upcoming first), done, cancelled or no-show."""
    tab = request.GET.get("tab") if request.GET.get("tab") in selectors.TABS else "planned"
    filterset = AppointmentFilter(request.GET, queryset=selectors.appointment_list(user=request.user, tab=tab))
    template = "appointments/appointment_list.html#rows" if request.htmx else "appointments/appointment_list.html"
    return render(request, template, {
        "filter": filterset, "page": _page(request, filterset.qs), "tab": tab, "now": timezone.now(),
        "counts": selectors.appointment_tab_counts(user=request.user),
    })  # fmt: skip


@staff_permission_required(VIEW)
def not_arranged(request):
    """Members in service without a planned appointment (未安排), with how many they have had."""
    filterset = NotArrangedFilter(request.GET, queryset=selectors.members_not_arranged(user=request.user))
    template = "appointments/not_arranged.html#rows" if request.htmx else "appointments/not_arranged.html"
    return render(request, template, {
        "filter": filterset, "page": _page(request, filterset.qs),
        "counts": selectors.appointment_tab_counts(user=request.user),
    })  # fmt: skip


def _book_initial(request) -> dict:
    """Start from a member's page (?member=) or from a recommendation both sides accepted (?recommendation=)."""
    initial = {"starts_at": None}
    if request.GET.get("recommendation", "").isdigit():
        recommendation = selectors.recommendation_to_book(user=request.user, pk=int(request.GET["recommendation"]))
        if recommendation is not None:
            initial.update(member_a_no=recommendation.member.member_no, member_b_no=recommendation.candidate.member_no,
                           recommendation=recommendation.pk)  # fmt: skip
    elif request.GET.get("member", "").isdigit():
        member = member_get(user=request.user, pk=int(request.GET["member"]))
        if member is not None:
            initial["member_a_no"] = member.member_no
    return initial


@staff_permission_required(VIEW, ADD)
def appointment_book(request):
    form = AppointmentBookForm(request.POST or None, initial=_book_initial(request))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            members = _members_from(form, request.agency)
            recommendation = None
            if data["recommendation"]:
                recommendation = selectors.recommendation_to_book(user=request.user, pk=data["recommendation"])
                if recommendation is None:
                    form.add_error(None, _("You cannot see this recommendation; book the appointment without it."))
            if members and not form.errors:
                try:
                    appointment = services.appointment_book(
                        agency=request.agency, actor=request.user, member_a=members[0], member_b=members[1],
                        starts_at=data["starts_at"], place=data["place"], note=data["note"],
                        recommendation=recommendation,
                    )  # fmt: skip
                except ValidationError as error:
                    apply_service_errors(form, error)
                except PermissionDenied as error:
                    form.add_error(None, str(error))
                else:
                    messages.success(request, _("The appointment of %(a)s and %(b)s is booked.")
                                     % {"a": appointment.member_a, "b": appointment.member_b})  # fmt: skip
                    return redirect("appointments:detail", pk=appointment.pk)
        status = 400
    return render(request, "appointments/appointment_form.html", {"form": form, "title": _("Book an appointment")},
                  status=status)  # fmt: skip


def _appointment_or_404(request, pk):
    # Another agency's appointment, or one of two members the user cannot see, does not exist here.
    appointment = selectors.appointment_detail(user=request.user, pk=pk)
    if appointment is None:
        raise Http404
    return appointment


def _detail(request, appointment, *, status=200, **forms):
    feedback = {item.member_id: item for item in appointment.feedback.all()}
    context = {
        "appointment": appointment,
        "feedback_a": feedback.get(appointment.member_a_id),
        "feedback_b": feedback.get(appointment.member_b_id),
        "started": appointment.starts_at <= timezone.now(),
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        "no_show_form": forms.get("no_show_form") or NoShowForm(appointment=appointment),
        "feedback_form": forms.get("feedback_form") or FeedbackForm(appointment=appointment),
        "outcome_form": forms.get("outcome_form") or OutcomeForm(initial={"outcome": appointment.outcome or None}),
    }
    return render(request, "appointments/appointment_detail.html", context, status=status)


@staff_permission_required(VIEW)
def appointment_detail(request, pk):
    return _detail(request, _appointment_or_404(request, pk))


@staff_permission_required(VIEW, EDIT)
def appointment_edit(request, pk):
    appointment = _appointment_or_404(request, pk)
    if appointment.status != appointment.Status.PLANNED:
        messages.error(request, _("Only planned appointments can be changed."))
        return redirect("appointments:detail", pk=appointment.pk)
    initial = {"starts_at": timezone.localtime(appointment.starts_at), "place": appointment.place,
               "note": appointment.note}  # fmt: skip
    form = AppointmentEditForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.appointment_reschedule(agency=request.agency, actor=request.user, appointment=appointment,
                                                **form.cleaned_data)  # fmt: skip
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("The appointment has been changed."))
                return redirect("appointments:detail", pk=appointment.pk)
        status = 400
    return render(request, "appointments/appointment_form.html", {
        "form": form, "appointment": appointment, "title": _("Change the appointment"),
    }, status=status)  # fmt: skip


ACTIONS = {
    # action: (form class, form name in the detail page, whether the form needs the appointment)
    "done": (None, None, False),
    "cancel": (CancelForm, "cancel_form", False),
    "no_show": (NoShowForm, "no_show_form", True),
    "feedback": (FeedbackForm, "feedback_form", True),
    "outcome": (OutcomeForm, "outcome_form", False),
}
# Lazy: built once at import, translated per request.
DONE_MESSAGES = {
    "done": gettext_lazy("The appointment is recorded as having taken place; record each side's feedback next."),
    "cancel": gettext_lazy("The appointment is cancelled; both members have it back on their contracts."),
    "no_show": gettext_lazy("The no-show is recorded."),
    "feedback": gettext_lazy("The feedback is recorded."),
    "outcome": gettext_lazy("The outcome is recorded."),
}


def _run_action(request, appointment, action: str, data: dict) -> None:
    agency, actor = request.agency, request.user
    if action == "done":
        services.appointment_complete(agency=agency, actor=actor, appointment=appointment)
    elif action == "cancel":
        services.appointment_cancel(agency=agency, actor=actor, appointment=appointment, reason=data["reason"])
    elif action == "no_show":
        services.appointment_no_show(agency=agency, actor=actor, appointment=appointment, absent=data["absent"],
                                     note=data["reason"])  # fmt: skip
    elif action == "feedback":
        member = appointment.member_a if data["side"] == "a" else appointment.member_b
        services.feedback_record(agency=agency, actor=actor, appointment=appointment, member=member,
                                 rating=data["rating"], text=data["text"],
                                 wants_to_continue=data["wants_to_continue"])  # fmt: skip
    else:
        services.outcome_record(agency=agency, actor=actor, appointment=appointment, outcome=data["outcome"])


@require_POST
@staff_permission_required(VIEW, EDIT)
def appointment_action(request, pk, action):
    """done, cancel, no_show, feedback, outcome. Refused input answers 400 with the page and the reason."""
    if action not in ACTIONS:
        raise Http404
    appointment = _appointment_or_404(request, pk)
    form_class, form_name, needs_appointment = ACTIONS[action]
    form = None
    if form_class is not None:
        kwargs = {"appointment": appointment} if needs_appointment else {}
        form = form_class(request.POST, **kwargs)
        if not form.is_valid():
            messages.error(request, _("Nothing was changed; correct the form below."))
            return _detail(request, appointment, status=400, **{form_name: form})
    try:
        _run_action(request, appointment, action, form.cleaned_data if form else {})
    except ValidationError as error:
        if form is not None:
            apply_service_errors(form, error)
        messages.error(request, _errors(error))
        return _detail(request, _appointment_or_404(request, pk), status=400, **({form_name: form} if form else {}))
    messages.success(request, DONE_MESSAGES[action])
    return redirect("appointments:detail", pk=appointment.pk)


# --- success stories -------------------------------------------------------------------------------


@staff_permission_required(VIEW_STORIES)
def story_list(request):
    """Success stories, drafts and published, by status, year and member."""
    filterset = StoryFilter(request.GET, queryset=selectors.story_list(user=request.user),
                            years=selectors.story_years(user=request.user))  # fmt: skip
    template = "appointments/story_list.html#rows" if request.htmx else "appointments/story_list.html"
    return render(request, template, {"filter": filterset, "page": _page(request, filterset.qs)})


@staff_permission_required(VIEW_STORIES, "matchmakers.add_stories")
def story_create(request):
    initial = {}
    if request.GET.get("member", "").isdigit():
        member = member_get(user=request.user, pk=int(request.GET["member"]))
        if member is not None:
            initial["member_a_no"] = member.member_no
    form = StoryCreateForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            members = _members_from(form, request.agency)
            if members:
                try:
                    story = services.story_create(
                        agency=request.agency, actor=request.user, member_a=members[0], member_b=members[1],
                        title=data["title"], text=data["text"], story_date=data["story_date"],
                        consent_a=data["consent_a"], consent_b=data["consent_b"],
                    )  # fmt: skip
                except ValidationError as error:
                    apply_service_errors(form, error)
                except PermissionDenied as error:
                    form.add_error(None, str(error))
                else:
                    messages.success(request, _("The story is saved as a draft; add photos, then publish it."))
                    return redirect("appointments:story", pk=story.pk)
        status = 400
    return render(request, "appointments/story_form.html", {"form": form, "title": _("New success story")},
                  status=status)  # fmt: skip


def _story_or_404(request, pk):
    story = selectors.story_detail(user=request.user, pk=pk)
    if story is None:
        raise Http404
    return story


def _story_page(request, story, *, photo_form=None, status=200):
    return render(request, "appointments/story_detail.html",
                  {"story": story, "photo_form": photo_form or StoryPhotoForm()}, status=status)  # fmt: skip


@staff_permission_required(VIEW_STORIES)
def story_detail(request, pk):
    return _story_page(request, _story_or_404(request, pk))


@staff_permission_required(VIEW_STORIES, "matchmakers.edit_stories")
def story_edit(request, pk):
    story = _story_or_404(request, pk)
    initial = {field: getattr(story, field) for field in ("title", "text", "story_date", "consent_a", "consent_b")}
    form = StoryEditForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                updated = services.story_update(agency=request.agency, actor=request.user, story=story,
                                                **form.cleaned_data)  # fmt: skip
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                if story.is_published and not updated.is_published:
                    messages.warning(request, _("A member withdrew consent: the story is no longer published."))
                messages.success(request, _("The story has been saved."))
                return redirect("appointments:story", pk=story.pk)
        status = 400
    return render(request, "appointments/story_form.html", {
        "form": form, "story": story, "title": _("Change the story"),
    }, status=status)  # fmt: skip


@require_POST
@staff_permission_required(VIEW_STORIES, "matchmakers.edit_stories")
def story_photos_add(request, pk):
    story = _story_or_404(request, pk)
    form = StoryPhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            photos = services.story_photos_add(agency=request.agency, actor=request.user, story=story,
                                               images=form.cleaned_data["images"],
                                               caption=form.cleaned_data["caption"])  # fmt: skip
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("%(count)s photos added.") % {"count": len(photos)})
            return redirect("appointments:story", pk=story.pk)
    messages.error(request, _("No photo was added; see the reason below."))
    return _story_page(request, story, photo_form=form, status=400)


@require_POST
@staff_permission_required(VIEW_STORIES, "matchmakers.edit_stories")
def story_photo_delete(request, pk, photo_pk):
    story = _story_or_404(request, pk)
    photo = next((photo for photo in story.photos.all() if photo.pk == photo_pk), None)
    if photo is None:
        raise Http404
    services.story_photo_delete(agency=request.agency, actor=request.user, photo=photo)
    messages.success(request, _("The photo has been removed."))
    return redirect("appointments:story", pk=story.pk)


@require_POST
@staff_permission_required(VIEW_STORIES, "matchmakers.audit_stories")
def story_action(request, pk, action):
    """publish, unpublish."""
    story = _story_or_404(request, pk)
    try:
        if action == "publish":
            services.story_publish(agency=request.agency, actor=request.user, story=story)
            messages.success(request, _("The story is on the public site; both members are marked as a success."))
        elif action == "unpublish":
            services.story_unpublish(agency=request.agency, actor=request.user, story=story)
            messages.success(request, _("The story is no longer on the public site."))
        else:
            raise Http404
    except ValidationError as error:
        messages.error(request, _errors(error))
        return _story_page(request, _story_or_404(request, pk), status=400)
    return redirect("appointments:story", pk=story.pk)
