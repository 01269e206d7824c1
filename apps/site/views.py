from django.http import Http404
from django.shortcuts import render

from apps.agencies.selectors import site_image_list, site_settings_get
from apps.matchmakers.selectors import showcase_list


def home(request):
    """The agency's public home page: banners, about us, advertisements and contact details."""
    images = list(site_image_list(agency=request.agency))
    context = {
        "site": site_settings_get(agency=request.agency),
        "banners": [image for image in images if image.kind == "banner"],
        "ads": [image for image in images if image.kind == "ad"],
    }
    return render(request, "site/home.html", context)


def matchmaker_list(request):
    """Public matchmaker showcase (F-B5): only staff the agency chose to publish."""
    context = {"site": site_settings_get(agency=request.agency), "matchmakers": showcase_list(agency=request.agency)}
    return render(request, "site/matchmaker_list.html", context)


def matchmaker_detail(request, pk):
    matchmaker = showcase_list(agency=request.agency).filter(pk=pk).first()
    if matchmaker is None:
        raise Http404
    context = {"site": site_settings_get(agency=request.agency), "matchmaker": matchmaker}
    return render(request, "site/matchmaker_detail.html", context)
