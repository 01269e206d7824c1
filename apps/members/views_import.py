"""Excel import of members (F-C8): upload, map the columns, preview the problems, confirm.

The upload waits in private storage between the steps; the session remembers it under one token
per browser session, so a confirmation only ever imports a file this user uploaded in this agency.
"""

import contextlib
import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.matchmakers.decorators import staff_permission_required

from . import imports

VIEW = "matchmakers.view_members"
ADD = "matchmakers.add_members"
SESSION_KEY = "members_import"
# The preview and result pages list at most this many problems; the counts are always complete.
SHOWN_PROBLEMS = 1000


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Excel file (.xlsx)"),
        help_text=gettext_lazy("The first row must hold the column headers; each following row is one member."),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if name.endswith((".xls", ".et")):
            raise forms.ValidationError(
                _("This is an old-format Excel file. Open it in Excel or WPS, save it as .xlsx and upload it again.")
            )
        if not name.endswith(".xlsx"):
            raise forms.ValidationError(
                _("Only Excel workbooks (.xlsx) can be imported. Save the sheet as .xlsx and upload it again.")
            )
        if upload.size > imports.MAX_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB. Split it into smaller files."))
        return upload


class ImportMappingForm(forms.Form):
    """Which column of the file feeds which member field; the token names the stored upload."""

    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, headers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        column_choices = [
            ("", _("— Do not import —")),
            *((header, header) for header in dict.fromkeys(headers) if header),
        ]
        for name in imports.IMPORT_FIELDS:
            self.fields[name] = forms.ChoiceField(
                label=imports.field_label(name),
                choices=column_choices,
                required=name in imports.REQUIRED_FIELDS,
                error_messages={"required": _("Choose the column that holds this field: every member needs it.")},
            )

    def clean(self):
        cleaned_data = super().clean()
        used: dict[str, str] = {}
        for name in imports.IMPORT_FIELDS:
            header = cleaned_data.get(name)
            if not header:
                continue
            if header in used:
                self.add_error(
                    name,
                    _("The column “%(header)s” already feeds “%(field)s”. Choose another column.")
                    % {"header": header, "field": imports.field_label(used[header])},
                )
            else:
                used[header] = name
        return cleaned_data

    def mapping(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in imports.IMPORT_FIELDS if self.cleaned_data.get(name)}


def _pending(request, token: str | None) -> dict | None:
    """The upload this session stored for this agency under `token`, or None."""
    pending = request.session.get(SESSION_KEY)
    if not pending or not token or pending.get("token") != token or pending.get("agency") != request.agency.pk:
        return None
    return pending


def _forget_pending(request) -> None:
    pending = request.session.pop(SESSION_KEY, None)
    if pending and pending.get("agency") == request.agency.pk:
        with contextlib.suppress(ValidationError):
            imports.import_file_delete(request.agency, pending["name"])


def _upload_page(request, form, status=200, error: str | None = None):
    return render(request, "members/import_upload.html", {"form": form, "error": error}, status=status)


def _expired(request):
    return _upload_page(
        request,
        ImportUploadForm(),
        status=400,
        error=_("This import is no longer available: it was already done, or the file was replaced. Upload it again."),
    )


def _preview_page(request, pending: dict, form: ImportMappingForm, status=200, invalid_status=400):
    """The mapping form and, when the mapping is usable, the dry-run report of the stored file."""
    report = None
    if form.is_valid():
        try:
            with imports.import_file_open(request.agency, pending["name"]) as file:
                report = imports.import_preview(request.agency, request.user, file, form.mapping())
        except ValidationError as error:
            form.add_error(None, error)
            status = 400
    else:
        status = invalid_status
    context = {
        "form": form,
        "report": report,
        "filename": pending["filename"],
        "problems": report.skipped_rows[:SHOWN_PROBLEMS] if report else [],
        "shown_problems": SHOWN_PROBLEMS,
    }
    return render(request, "members/import_preview.html", context, status=status)


def _stored_headers(request, pending: dict) -> list[str]:
    with imports.import_file_open(request.agency, pending["name"]) as file:
        return imports.read_headers(file)


def _check_again(request):
    pending = _pending(request, request.POST.get("token"))
    if pending is None:
        return _expired(request)
    try:
        headers = _stored_headers(request, pending)
    except ValidationError:
        return _expired(request)
    return _preview_page(request, pending, ImportMappingForm(request.POST, headers=headers))


@staff_permission_required(VIEW, ADD)
def member_import(request):
    """GET: the upload form. POST with a file: store it and preview it with the proposed mapping.
    POST with a token (no file): preview the stored file again with a changed mapping."""
    if request.method != "POST":
        return _upload_page(request, ImportUploadForm())
    if "file" not in request.FILES and "token" in request.POST:
        return _check_again(request)
    form = ImportUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _upload_page(request, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        headers = imports.read_headers(upload)
    except ValidationError as error:
        return _upload_page(request, form, status=400, error=error.messages[0])
    _forget_pending(request)
    token = uuid.uuid4().hex
    name = imports.import_file_store(request.agency, upload)
    pending = {"token": token, "name": name, "agency": request.agency.pk, "filename": upload.name[:200]}
    request.session[SESSION_KEY] = pending
    mapping = imports.propose_mapping(headers)
    mapping_form = ImportMappingForm({"token": token, **mapping}, headers=headers)
    # A proposed mapping that lacks required columns is no mistake of the user's: they choose the columns.
    return _preview_page(request, pending, mapping_form, invalid_status=200)


@require_POST
@staff_permission_required(VIEW, ADD)
def member_import_confirm(request):
    pending = _pending(request, request.POST.get("token"))
    if pending is None:
        return _expired(request)
    try:
        headers = _stored_headers(request, pending)
    except ValidationError:
        return _expired(request)
    form = ImportMappingForm(request.POST, headers=headers)
    if not form.is_valid():
        return _preview_page(request, pending, form)
    try:
        with imports.import_file_open(request.agency, pending["name"]) as file:
            report = imports.import_members(request.agency, request.user, file, form.mapping())
    except ValidationError as error:
        form.add_error(None, error)
        return _preview_page(request, pending, form, status=400)
    _forget_pending(request)
    messages.success(
        request,
        _("Imported %(imported)s members; %(skipped)s rows skipped.")
        % {"imported": report.imported_count, "skipped": report.skipped_count},
    )
    if not report.skipped_count:
        return redirect("members:list")
    context = {
        "report": report,
        "filename": pending["filename"],
        "problems": report.skipped_rows[:SHOWN_PROBLEMS],
        "shown_problems": SHOWN_PROBLEMS,
    }
    return render(request, "members/import_result.html", context)
