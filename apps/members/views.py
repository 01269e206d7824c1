
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.core.forms import apply_service_errors, errors_sentence
from apps.core.http import client_ip, private_file_response
from apps.matchmakers.decorators import staff_permission_required
from apps.matchmakers.models import User

from . import divisions, exports, services
from .filters import MemberFilter
from .forms import (
    AttachmentForm,
    FamilyMemberForm,
    MemberForm,
    MemberShareForm,
    PhotoForm,
    PreferenceForm,
    TagForm,
)
from .models import MemberAttachment, MemberPhoto, PartnerPreference, Tag
from .selectors import (
    birthday_list,
    member_get,
    member_list,
    member_profile,
    member_share_list,
    tag_choices,
)
from .timeline import member_timeline

PAGE_SIZE = 25
VIEW = "matchmakers.view_members"
EDIT = "matchmakers.edit_members"


def _member_or_404(request, pk):
    # Another agency's member, or one outside the user's branch, does not exist for this user.
    member = member_get(user=request.user, pk=pk)
    if member is None:
        raise Http404
    return member


def _query_dict(request) -> dict:
    """The query string as a dict that keeps every value of a repeated parameter."""
    return {key: values if len(values) > 1 else values[0] for key, values in request.GET.lists()}


def _filterset(request):
    return MemberFilter(
        request.GET,
        queryset=member_list(user=request.user),
        tag_choices=tag_choices(agency=request.agency),
        reveal_contacts=request.user.has_perm("matchmakers.reveal_contact"),
    )


@staff_permission_required(VIEW)
def member_list_view(request):
    filterset = _filterset(request)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    template = "members/member_list.html#rows" if request.htmx else "members/member_list.html"
    return render(request, template, {"filter": filterset, "page": page})


@staff_permission_required(VIEW, "matchmakers.export_data")
def member_export(request):
    filterset = _filterset(request)
    reveal = request.user.has_perm("matchmakers.reveal_contact")
    workbook, row_count = exports.members_workbook(filterset.qs, reveal=reveal)
    services.member_export_log(
        agency=request.agency, actor=request.user, row_count=row_count, filters=_query_dict(request),
        revealed=reveal, ip_address=client_ip(request),
    )  # fmt: skip
    response = HttpResponse(content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="members-{stamp}.xlsx"'
    workbook.save(response)
    return response


@staff_permission_required(VIEW)
def member_detail(request, pk):
    """The 360° page (F-C5): profile, preferences, tags, photos, documents, family and timeline."""
    member = member_profile(user=request.user, pk=pk)
    if member is None:
        raise Http404
    context = {
        "member": member,
        "preference": getattr(member, "preference", None),
        "tags": member.tag_objects,
        "shares": member_share_list(member=member),
        "share_form": MemberShareForm(agency=request.agency, exclude_user_ids=[request.user.pk]),
        "photo_form": PhotoForm(),
        "attachment_form": AttachmentForm(),
        "family_form": FamilyMemberForm(),
        "timeline": member_timeline(member=member, user=request.user),
        "residence": divisions.full_name(member.residence_province, member.residence_city, member.residence_district),
        "native_place": divisions.full_name(member.native_province, member.native_city),
    }
    return render(request, "members/member_detail.html", context)


def _member_forms(request, member=None):
    preference = PartnerPreference.objects.filter(member=member).first() if member else None
    data = request.POST if request.method == "POST" else None
    reveal = request.user.has_perm("matchmakers.reveal_contact")
    return (
        MemberForm(data, instance=member, agency=request.agency, reveal_contacts=reveal),
        PreferenceForm(data, instance=preference, agency=request.agency),
    )


def _save_member(request, form, preference_form, member=None):
    fields = dict(form.cleaned_data)
    preference = dict(preference_form.cleaned_data)
    try:
        if member is None:
            return services.member_create(agency=request.agency, actor=request.user, preference=preference, **fields)
        return services.member_update(
            agency=request.agency, actor=request.user, member=member, preference=preference, **fields
        )
    except IntegrityError:
        # Two people entered the same phone at the same moment; the database kept one.
        form.add_error("phone", _("A member with this phone number already exists."))
        transaction.set_rollback(True)
        return None
    except ValidationError as error:
        pref_fields = set(preference_form.fields)
        if hasattr(error, "error_dict") and set(error.error_dict) <= pref_fields:
            apply_service_errors(preference_form, error)
        else:
            apply_service_errors(form, error)
        transaction.set_rollback(True)
        return None


@staff_permission_required("matchmakers.add_members")
def member_create(request):
    form, preference_form = _member_forms(request)
    if request.method == "POST" and form.is_valid() and preference_form.is_valid():
        with transaction.atomic():
            member = _save_member(request, form, preference_form)
        if member is not None:
            messages.success(request, _("Member %(member)s has been added.") % {"member": member})
            return redirect("members:detail", pk=member.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "preference_form": preference_form}
    return render(request, "members/member_form.html", context, status=status)


@staff_permission_required(VIEW, EDIT)
def member_edit(request, pk):
    member = _member_or_404(request, pk)
    form, preference_form = _member_forms(request, member)
    if request.method == "GET":
        shown = [field for field in ("phone", "wechat", "id_number") if field in form.fields]
        services.contact_fields_shown(
            agency=request.agency, actor=request.user, member=member, fields=shown,
            ip_address=client_ip(request), user_agent=request.headers.get("user-agent", ""),
        )  # fmt: skip
    if request.method == "POST" and form.is_valid() and preference_form.is_valid():
        with transaction.atomic():
            saved = _save_member(request, form, preference_form, member)
        if saved is not None:
            messages.success(request, _("The member has been saved."))
            return redirect("members:detail", pk=member.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "preference_form": preference_form, "member": member}
    return render(request, "members/member_form.html", context, status=status)


@require_GET
@staff_permission_required(VIEW)
def division_options(request):
    """<option>s of the cities of a province or the districts of a city, for the cascading selects."""
    level = request.GET.get("level")
    parent = next((value for key, value in request.GET.items() if key != "level"), "")
    options = divisions.cities(parent) if level == "city" else divisions.districts(parent)
    return render(request, "members/partials/division_options.html", {"options": options})


@require_POST
@staff_permission_required(VIEW, "matchmakers.reveal_contact")
def contact_reveal(request, pk, field):
    member = _member_or_404(request, pk)
    try:
        value = services.contact_reveal(
            agency=request.agency, actor=request.user, member=member, field=field,
            ip_address=client_ip(request), user_agent=request.headers.get("user-agent", ""),
        )  # fmt: skip
    except ValidationError as error:
        raise Http404 from error
    return render(request, "members/partials/revealed.html", {"value": value or "—"})


@require_POST
@staff_permission_required(VIEW, EDIT)
def photo_add(request, pk):
    member = _member_or_404(request, pk)
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        services.member_photo_add(agency=request.agency, actor=request.user, member=member, **form.cleaned_data)
        messages.success(request, _("The photo has been added."))
    else:
        messages.error(request, _("The photo was not added: %(errors)s") % {"errors": errors_sentence(form)})
    return redirect("members:detail", pk=member.pk)


@require_POST
@staff_permission_required(VIEW, EDIT)
def photo_delete(request, pk, photo_id):
    member = _member_or_404(request, pk)
    photo = get_object_or_404(MemberPhoto, member=member, pk=photo_id)
    services.member_photo_delete(agency=request.agency, actor=request.user, photo=photo)
    messages.success(request, _("The photo has been removed."))
    return redirect("members:detail", pk=member.pk)


@require_POST
@staff_permission_required(VIEW, EDIT)
def attachment_add(request, pk):
    member = _member_or_404(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        services.member_attachment_add(agency=request.agency, actor=request.user, member=member, **form.cleaned_data)
        messages.success(request, _("The document has been stored."))
    else:
        messages.error(request, _("The document was not stored: %(errors)s") % {"errors": errors_sentence(form)})
    return redirect("members:detail", pk=member.pk)


@staff_permission_required(VIEW)
def photo_file(request, pk, photo_id):
    """A member's photo, only for users who may see the member."""
    member = _member_or_404(request, pk)
    photo = get_object_or_404(MemberPhoto, member=member, pk=photo_id)
    return private_file_response(photo.image)


@staff_permission_required(VIEW)
def attachment_download(request, pk, attachment_id):
    """Private documents leave only through here, to users who may see the member."""
    member = _member_or_404(request, pk)
    attachment = get_object_or_404(MemberAttachment, member=member, pk=attachment_id)
    services.member_attachment_opened(
        agency=request.agency, actor=request.user, attachment=attachment,
        ip_address=client_ip(request), user_agent=request.headers.get("user-agent", ""),
    )  # fmt: skip
    return private_file_response(attachment.file, download_as=attachment.original_name)


@require_POST
@staff_permission_required(VIEW, EDIT)
def attachment_delete(request, pk, attachment_id):
    member = _member_or_404(request, pk)
    attachment = get_object_or_404(MemberAttachment, member=member, pk=attachment_id)
    services.member_attachment_delete(agency=request.agency, actor=request.user, attachment=attachment)
    messages.success(request, _("The document has been deleted."))
    return redirect("members:detail", pk=member.pk)


@require_POST
@staff_permission_required(VIEW, EDIT)
def family_add(request, pk):
    member = _member_or_404(request, pk)
    form = FamilyMemberForm(request.POST)
    if form.is_valid():
        services.family_member_add(agency=request.agency, actor=request.user, member=member, **form.cleaned_data)
        messages.success(request, _("The family member has been added."))
    else:
        messages.error(request, _("The family member was not added: %(errors)s") % {"errors": errors_sentence(form)})
    return redirect("members:detail", pk=member.pk)


@require_POST
@staff_permission_required(VIEW, EDIT)
def family_delete(request, pk, family_id):
    member = _member_or_404(request, pk)
    services.family_member_delete(agency=request.agency, actor=request.user, member=member, family_id=family_id)
    messages.success(request, _("The family member has been removed."))
    return redirect("members:detail", pk=member.pk)


@staff_permission_required(VIEW)
def birthdays(request):
    """Upcoming birthdays of the user's visible members (F-C9): today, this week, this month."""
    window = request.GET.get("window", "today")
    if window not in {"today", "week", "month"}:
        window = "today"
    members = birthday_list(user=request.user, window=window)
    return render(request, "members/birthdays.html", {"members": members, "window": window})


@require_POST
@staff_permission_required(VIEW)
def member_share(request, pk):
    member = _member_or_404(request, pk)
    form = MemberShareForm(request.POST, agency=request.agency, exclude_user_ids=[request.user.pk])
    if form.is_valid():
        colleague = form.cleaned_data["user"]
        services.member_share(agency=request.agency, actor=request.user, member=member, with_user=colleague)
        messages.success(request, _("%(name)s can now see this member.") % {"name": colleague})
    else:
        messages.error(request, _("Nothing was shared: choose an active colleague."))
    return redirect("members:detail", pk=member.pk)


@require_POST
@staff_permission_required(VIEW)
def member_unshare(request, pk, user_id):
    member = _member_or_404(request, pk)
    colleague = User.objects.filter(agency=request.agency, pk=user_id).first()
    if colleague is None:
        raise Http404
    services.member_unshare(agency=request.agency, actor=request.user, member=member, with_user=colleague)
    messages.success(request, _("%(name)s no longer sees this member through a share.") % {"name": colleague})
    return redirect("members:detail", pk=member.pk)


@staff_permission_required("matchmakers.edit_settings")
def tag_library(request):
    """The agency's tag library (F-C3): hard conditions and soft traits members carry."""
    form = TagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tag = services.tag_create(agency=request.agency, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Tag “%(tag)s” has been added.") % {"tag": tag})
            return redirect("members:tags")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "members/tag_library.html", {"form": form, "groups": tag_choices(agency=request.agency)}, status=status
    )


@require_POST
@staff_permission_required("matchmakers.edit_settings")
def tag_delete(request, tag_id):
    tag = get_object_or_404(Tag, agency=request.agency, pk=tag_id)
    services.tag_delete(agency=request.agency, actor=request.user, tag=tag)
    messages.success(
        request, _("Tag “%(tag)s” has been removed from the library and from every member.") % {"tag": tag}
    )
    return redirect("members:tags")
