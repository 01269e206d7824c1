import ipaddress
import mimetypes

from django.http import FileResponse
from django.utils.http import url_has_allowed_host_and_scheme


def client_ip(request) -> str | None:
    """The client's address as recorded in logs and rate limits; None when it is not an IP."""
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR") or ""))
    except ValueError:
        return None


def next_url(request, fallback: str) -> str:
    """The POSTed `next` page when it is on this site, else `fallback` (never an open redirect)."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):  # fmt: skip
        return target
    return fallback


def private_file_response(field_file, *, download_as: str = "") -> FileResponse:
    """Stream a private file (photo, document, attachment) to a user a view has already checked;
    `download_as` sends it as a download under that name (its type guessed from that name)."""
    content_type = mimetypes.guess_type(download_as or field_file.name)[0] or "application/octet-stream"
    response = FileResponse(field_file.open("rb"), content_type=content_type, as_attachment=bool(download_as),
                            filename=download_as or None)  # fmt: skip
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
