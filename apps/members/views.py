import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.templatetags.matchcrm import mask_phone
from apps.matchmakers.decorators import staff_permission_required
from apps.matchmakers.models import User

from . import services
from .filters import MemberFilter
from .forms import MemberForm, MemberShareForm
from .selectors import member_get, member_list, member_share_list

PAGE_SIZE = 25


def _member_or_404(request, pk) -> "services.Member":
    # Another agency's member, or one outside the user's branch, does not exist for this user.
    member = member_get(user=request.user, pk=pk)
    if member is None:
        raise Http404
    return member


@staff_permission_required("matchmakers.view_members")
def member_list_view(request):
    filterset = MemberFilter(request.GET, queryset=member_list(user=request.user))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    template = "members/member_list.html#rows" if request.htmx else "members/member_list.html"
    return render(request, template, {"filter": filterset, "page": page})


@staff_permission_required("matchmakers.view_members", "matchmakers.export_data")
def member_export(request):
    filterset = MemberFilter(request.GET, queryset=member_list(user=request.user))
    reveal = request.user.has_perm("matchmakers.reveal_contact")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="members-{stamp}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 CSV correctly only with a BOM
    writer = csv.writer(response)
    writer.writerow([_("Member number"), _("Name"), _("Gender"), _("Mobile phone"), _("Status"),
                     _("Presale matchmaker"), _("After-sale matchmaker"), _("Registered at")])  # fmt: skip
    for member in filterset.qs.iterator(chunk_size=2000):
        writer.writerow([
            member.member_no, member.name, member.get_gender_display(),
            member.phone if reveal else mask_phone(member.phone), member.get_status_display(),
            member.presale_owner or "", member.aftersale_owner or "",
            timezone.localtime(member.created_at).strftime("%Y-%m-%d %H:%M"),
        ])  # fmt: skip
    return response


@staff_permission_required("matchmakers.view_members")
def member_detail(request, pk):
    member = _member_or_404(request, pk)
    shares = member_share_list(member=member)
    share_form = MemberShareForm(agency=request.agency, exclude_user_ids=[request.user.pk])
    return render(request, "members/member_detail.html", {"member": member, "shares": shares, "share_form": share_form})


@staff_permission_required("matchmakers.add_members")
def member_create(request):
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.member_create(agency=request.agency, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Member %(member)s has been added.") % {"member": member})
            return redirect("members:detail", pk=member.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "members/member_form.html", {"form": form}, status=status)


@staff_permission_required("matchmakers.view_members", "matchmakers.edit_members")
def member_edit(request, pk):
    member = _member_or_404(request, pk)
    form = MemberForm(request.POST or None, instance=member)
    if request.method == "POST" and form.is_valid():
        try:
            services.member_update(agency=request.agency, actor=request.user, member=member, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The member has been saved."))
            return redirect("members:detail", pk=member.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "members/member_form.html", {"form": form, "member": member}, status=status)


def _add_errors(form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, field_errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, field_errors)


@require_POST
@staff_permission_required("matchmakers.view_members")
def member_share(request, pk):
    member = _member_or_404(request, pk)
    form = MemberShareForm(request.POST, agency=request.agency, exclude_user_ids=[request.user.pk])
    if form.is_valid():
        services.member_share(
            agency=request.agency, actor=request.user, member=member, with_user=form.cleaned_data["user"]
        )
        messages.success(request, _("%(name)s can now see this member.") % {"name": form.cleaned_data["user"]})
    else:
        messages.error(request, _("Nothing was shared: choose an active colleague."))
    return redirect("members:detail", pk=member.pk)


@require_POST
@staff_permission_required("matchmakers.view_members")
def member_unshare(request, pk, user_id):
    member = _member_or_404(request, pk)
    colleague = User.objects.filter(agency=request.agency, pk=user_id).first()
    if colleague is None:
        raise Http404
    services.member_unshare(agency=request.agency, actor=request.user, member=member, with_user=colleague)
    messages.success(request, _("%(name)s no longer sees this member through a share.") % {"name": colleague})
    return redirect("members:detail", pk=member.pk)
