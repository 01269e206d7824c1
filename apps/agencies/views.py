from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import services
from .forms import SiteImageForm, SiteSettingsForm
from .selectors import site_image_list, site_settings_get

SITE_SETTINGS_PERM = "matchmakers.edit_settings"


def _render_settings(request, *, form, image_form, status=200):
    context = {
        "form": form,
        "image_form": image_form,
        "banners": site_image_list(agency=request.agency, kind="banner"),
        "ads": site_image_list(agency=request.agency, kind="ad"),
    }
    return render(request, "agencies/site_settings.html", context, status=status)


@login_required
@permission_required(SITE_SETTINGS_PERM, raise_exception=True)
def site_settings_edit(request):
    site_settings = site_settings_get(agency=request.agency)
    if request.method == "POST":
        form = SiteSettingsForm(request.POST, request.FILES, instance=site_settings)
        if form.is_valid():
            services.site_settings_update(agency=request.agency, data=form.cleaned_data)
            messages.success(request, _("The site settings have been saved."))
            return redirect("agencies:site_settings")
        messages.error(request, _("Nothing was saved. Please correct the fields marked below."))
        return _render_settings(request, form=form, image_form=SiteImageForm(), status=400)
    return _render_settings(request, form=SiteSettingsForm(instance=site_settings), image_form=SiteImageForm())


@login_required
@permission_required(SITE_SETTINGS_PERM, raise_exception=True)
@require_POST
def site_image_add(request):
    form = SiteImageForm(request.POST, request.FILES)
    if form.is_valid():
        services.site_image_add(agency=request.agency, **form.cleaned_data)
        messages.success(request, _("The image has been added."))
        return redirect("agencies:site_settings")
    messages.error(request, _("The image was not added. Please correct the fields marked below."))
    site_settings = site_settings_get(agency=request.agency)
    return _render_settings(request, form=SiteSettingsForm(instance=site_settings), image_form=form, status=400)


@login_required
@permission_required(SITE_SETTINGS_PERM, raise_exception=True)
@require_POST
def site_image_delete(request, pk):
    site_image = get_object_or_404(site_image_list(agency=request.agency), pk=pk)
    services.site_image_delete(agency=request.agency, site_image=site_image)
    messages.success(request, _("The image has been removed."))
    return redirect("agencies:site_settings")
