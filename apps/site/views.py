from django.shortcuts import render

from apps.agencies.selectors import site_image_list, site_settings_get


def home(request):
    """The agency's public home page: banners, about us, advertisements and contact details."""
    images = list(site_image_list(agency=request.agency))
    context = {
        "site": site_settings_get(agency=request.agency),
        "banners": [image for image in images if image.kind == "banner"],
        "ads": [image for image in images if image.kind == "ad"],
    }
    return render(request, "site/home.html", context)
