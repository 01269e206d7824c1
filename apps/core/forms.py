"""Helpers every back-office and public form view shares."""

from django.core.exceptions import ValidationError
from django.shortcuts import render


def apply_service_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on the field it names when the form has that
    field, else on the form as a whole."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, field_errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, field_errors)


def errors_sentence(form) -> str:
    """A small form's errors as one line, for the message shown after a redirect."""
    return " ".join(str(error) for field_errors in form.errors.values() for error in field_errors)


def form_page(request, form, *, save, template: str, on_saved, context=None):
    """The edit page of one form saved through a service: GET shows it; a valid POST calls `save()`
    and answers `on_saved()` (a message and a redirect); a form or service error re-shows it, 400."""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                save()
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                return on_saved()
        status = 400
    return render(request, template, {"form": form, **(context or {})}, status=status)
