def agency(request):
    """The agency being served and its site settings, for every template."""
    current = getattr(request, "agency", None)
    return {"agency": current}
