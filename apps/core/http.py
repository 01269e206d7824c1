import ipaddress


def client_ip(request) -> str | None:
    """The client's address as recorded in logs and rate limits; None when it is not an IP."""
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR") or ""))
    except ValueError:
        return None
