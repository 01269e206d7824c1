from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.agencies.selectors import site_image_list, site_settings_get
from apps.core.forms import apply_service_errors
from apps.core.http import client_ip
from apps.followups import intake
from apps.matchmakers.selectors import showcase_list

from .forms import HONEYPOT_FIELD, ConsultationForm, RegistrationForm


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


# --- public forms (F-E5, F-E6, F-A3) -------------------------------------------------------------

CONSULT = "consult"
REGISTER = "register"


def _rate_limited(request, site, minutes: int):
    response = render(request, "site/rate_limited.html", {"site": site, "minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


def _public_form(request, *, site, kind: str, form_class, template: str, submit, form_kwargs=None):
    """GET shows the form; POST checks honeypot, rate limits and fields, then calls `submit`.

    A filled honeypot gets the thank-you page and writes nothing. Bad fields answer 400 with a
    message each; a visitor over a limit gets a 429 page.
    """
    form_kwargs = form_kwargs or {}
    thanks = redirect(f"site:{kind}_thanks")
    if request.method != "POST":
        return render(request, template, {"site": site, "form": form_class(**form_kwargs)})
    if form_class.is_honeypot_filled(request.POST):
        return thanks
    ip = client_ip(request)
    rate_ip = ip or "unknown"  # rate limits still count visitors whose address cannot be read
    minutes = intake.intake_blocked_minutes(agency=request.agency, form=kind, ip=rate_ip)
    if minutes:
        return _rate_limited(request, site, minutes)
    form = form_class(request.POST, **form_kwargs)
    if form.is_valid():
        minutes = intake.intake_consume(agency=request.agency, form=kind, ip=rate_ip, phone=form.cleaned_data["phone"])
        if minutes:
            return _rate_limited(request, site, minutes)
        try:
            submit(form.cleaned_data, ip)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            return thanks
    return render(request, template, {"site": site, "form": form}, status=400)


@require_http_methods(["GET", "POST"])
def consult(request):
    """The public consultation form: a question lands in the back office's consultations inbox."""

    def submit(data, ip_address):
        intake.consultation_submit(
            agency=request.agency, name=data["name"], phone=data["phone"], message=data["message"],
            ip_address=ip_address,
        )  # fmt: skip

    return _public_form(
        request, site=site_settings_get(agency=request.agency), kind=CONSULT, form_class=ConsultationForm,
        template="site/consult.html", submit=submit,
    )  # fmt: skip


@require_http_methods(["GET", "POST"])
def register(request):
    """The public registration page: a lead in the unassigned pool, with the fields the agency asks."""
    site = site_settings_get(agency=request.agency)

    def submit(data, ip_address):
        fields = {name: value for name, value in data.items() if name != HONEYPOT_FIELD}
        intake.registration_submit(agency=request.agency, data=fields)

    return _public_form(
        request, site=site, kind=REGISTER, form_class=RegistrationForm, template="site/register.html",
        submit=submit, form_kwargs={"site": site},
    )  # fmt: skip


def thanks(request, kind: str):
    return render(request, "site/thanks.html", {"site": site_settings_get(agency=request.agency), "kind": kind})
