"""Contracts, payments, refunds and packages (F-G1 … F-G4, F-G6): thin views over services and selectors."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.forms import apply_service_errors, errors_sentence, form_page
from apps.core.http import next_url
from apps.matchmakers.decorators import staff_permission_required
from apps.matchmakers.models import User
from apps.matchmakers.selectors import staff_below
from apps.members.selectors import member_get, member_visible_list

from . import selectors, services
from .filters import PAYMENT_WINDOWS, ContractFilter, PaymentFilter, RefundFilter
from .forms import (
    ContractForm,
    FinanceSettingsForm,
    InstalmentFormSet,
    PackageForm,
    PaymentForm,
    ReasonForm,
    RefundForm,
    schedule_from,
)  # fmt: skip
from .models import Contract, Refund, ServicePackage

PAGE_SIZE = 25


def _salespeople(user):
    """Whom a contract may be credited to: the user and the active staff of their branch."""
    return (staff_below(user=user) | User.objects.filter(pk=user.pk)).filter(is_active=True).order_by("name")


def _service_error(request, error) -> None:
    messages.error(request, " ".join(error.messages) if isinstance(error, ValidationError) else str(error))


# --- contracts -------------------------------------------------------------------------------------


@staff_permission_required("matchmakers.view_contracts")
def contract_list(request):
    """Contracts (F-G2) with the manual's search: number, member, matchmaker, payment state."""
    queryset = selectors.contract_list(user=request.user)
    filterset = ContractFilter(
        request.GET, queryset=queryset, salespeople=User.objects.filter(agency=request.agency).order_by("name"),
        packages=ServicePackage.objects.filter(agency=request.agency),
    )  # fmt: skip
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = dict(
        selectors.contract_visible_list(user=request.user).values_list("status").annotate(n=Count("id")).order_by()
    )
    return render(request, "finance/contract_list.html", {
        "filter": filterset, "page": page, "counts": counts, "statuses": Contract.Status.choices,
    })  # fmt: skip


@staff_permission_required("matchmakers.view_contracts")
def expiring(request):
    """Contracts whose service ends soon (F-G6), with their renewal."""
    days = services.settings_for(request.agency).expiry_reminder_days
    today = services.agency_today(request.agency)
    contracts = selectors.expiring_contracts(user=request.user, today=today, days=days)
    page = Paginator(contracts, PAGE_SIZE).get_page(request.GET.get("page"))
    for contract in page:
        contract.days_left = (contract.service_end - today).days
    return render(request, "finance/expiring.html", {"page": page, "days": days})


def _contract_forms(request, *, contract=None, member=None):
    packages = ServicePackage.objects.filter(agency=request.agency, is_active=True)
    if contract is not None:
        packages = ServicePackage.objects.filter(Q(is_active=True) | Q(pk=contract.package_id), agency=request.agency)
    kwargs = {"packages": packages, "salespeople": _salespeople(request.user)}
    if request.method == "POST":
        return ContractForm(request.POST, **kwargs), InstalmentFormSet(request.POST, prefix="instalments")
    if contract is not None:
        initial = {
            "member_no": contract.member.member_no, "package": contract.package_id, "amount": contract.amount,
            "payment_type": contract.payment_type, "service_start": contract.service_start,
            "service_end": contract.service_end, "salesperson": contract.salesperson_id, "notes": contract.notes,
        }  # fmt: skip
        rows = [{"due_date": row.due_date, "amount": row.amount} for row in contract.instalments.all()]
    else:
        initial = {"member_no": member.member_no if member else "", "salesperson": request.user.pk,
                   "service_start": services.agency_today(request.agency)}  # fmt: skip
        rows = []
    formset = InstalmentFormSet(initial=rows, prefix="instalments")
    formset.extra = max(0, 6 - len(rows))
    return ContractForm(initial=initial, **kwargs), formset


@staff_permission_required("matchmakers.view_contracts", "matchmakers.add_contracts")
def contract_create(request):
    member = None
    if request.GET.get("member", "").isdigit():
        member = member_get(user=request.user, pk=int(request.GET["member"]))
    form, formset = _contract_forms(request, member=member)
    status = 200
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            member = member_visible_list(user=request.user).filter(member_no__iexact=data["member_no"].strip()).first()
            if member is None:
                form.add_error("member_no", _("No member you can see has this number."))
            else:
                try:
                    contract = services.contract_create(
                        agency=request.agency, actor=request.user, member=member, package=data["package"],
                        amount=data["amount"], payment_type=data["payment_type"], service_start=data["service_start"],
                        service_end=data["service_end"], salesperson=data["salesperson"], notes=data["notes"],
                        schedule=schedule_from(formset),
                    )  # fmt: skip
                except ValidationError as error:
                    apply_service_errors(form, error)
                except PermissionDenied as error:
                    form.add_error(None, str(error))
                else:
                    messages.success(
                        request, _("Contract %(number)s has been saved as a draft.") % {"number": contract}
                    )
                    return redirect("finance:contract", pk=contract.pk)
        status = 400
    return render(request, "finance/contract_form.html", {
        "form": form, "formset": formset, "member": member, "title": _("New contract"),
        "package_prices": {p.pk: str(p.price) for p in form.fields["package"].queryset},
    }, status=status)  # fmt: skip


def _contract_or_404(request, pk) -> Contract:
    contract = selectors.contract_detail(user=request.user, pk=pk)
    if contract is None:
        raise Http404
    return contract


@staff_permission_required("matchmakers.view_contracts")
def contract_edit(request, pk):
    contract = _contract_or_404(request, pk)
    if not services.may_edit(request.user, contract):
        raise PermissionDenied
    form, formset = _contract_forms(request, contract=contract)
    status = 200
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            if data["member_no"].strip().lower() != contract.member.member_no.lower():
                form.add_error("member_no", _("The member of a contract cannot change; enter a new contract instead."))
            else:
                try:
                    services.contract_update(
                        agency=request.agency, actor=request.user, contract=contract, package=data["package"],
                        amount=data["amount"] or data["package"].price, payment_type=data["payment_type"],
                        service_start=data["service_start"],
                        service_end=data["service_end"] or services.default_service_end(
                            data["service_start"], data["package"].duration_months),
                        salesperson=data["salesperson"], notes=data["notes"], schedule=schedule_from(formset),
                    )  # fmt: skip
                except ValidationError as error:
                    apply_service_errors(form, error)
                except PermissionDenied as error:
                    form.add_error(None, str(error))
                else:
                    messages.success(request, _("Contract %(number)s has been changed.") % {"number": contract})
                    return redirect("finance:contract", pk=contract.pk)
        status = 400
    return render(request, "finance/contract_form.html", {
        "form": form, "formset": formset, "member": contract.member, "contract": contract,
        "title": _("Change contract %(number)s") % {"number": contract},
        "package_prices": {p.pk: str(p.price) for p in form.fields["package"].queryset},
    }, status=status)  # fmt: skip


def _detail_context(request, contract, **forms):
    today = services.agency_today(request.agency)
    pending_refunds = sum((r.amount for r in contract.refunds.all() if r.status == Refund.Status.APPLIED), 0)
    # What a new payment may still cover: recorded payments count until finance rejects them.
    unrecorded = contract.amount - sum((p.amount for p in contract.payments.all() if p.status != "rejected"), 0)
    return {
        "contract": contract,
        "schedule": selectors.schedule_rows(contract, today=today),
        "amount_due": selectors.amount_due(contract, today=today),
        "refundable": services.refundable(contract) - pending_refunds,
        "may_edit": services.may_edit(request.user, contract),
        "unrecorded": unrecorded,
        "payment_form": forms.get("payment_form") or PaymentForm(initial={
            "paid_at": timezone.localtime().replace(second=0, microsecond=0), "amount": unrecorded or None}),
        "refund_form": forms.get("refund_form") or RefundForm(),
        "reason_form": ReasonForm(),
        "today": today,
    }  # fmt: skip


@staff_permission_required("matchmakers.view_contracts")
def contract_detail(request, pk):
    contract = _contract_or_404(request, pk)
    return render(request, "finance/contract_detail.html", _detail_context(request, contract))


@staff_permission_required("matchmakers.view_contracts")
def contract_print(request, pk):
    contract = _contract_or_404(request, pk)
    schedule = selectors.schedule_rows(contract, today=services.agency_today(request.agency))
    return render(request, "finance/contract_print.html", {"contract": contract, "schedule": schedule})


@require_POST
@staff_permission_required("matchmakers.view_contracts")
def contract_action(request, pk, action):
    """submit, withdraw, approve, reject (with a reason), complete, renew, delete."""
    contract = _contract_or_404(request, pk)
    agency, actor = request.agency, request.user
    try:
        if action == "submit":
            services.contract_submit(agency=agency, actor=actor, contract=contract)
            messages.success(request, _("Contract %(number)s has been submitted for approval.") % {"number": contract})
        elif action == "withdraw":
            services.contract_withdraw(agency=agency, actor=actor, contract=contract)
            messages.success(request, _("Contract %(number)s is a draft again.") % {"number": contract})
        elif action == "approve":
            services.contract_approve(agency=agency, actor=actor, contract=contract)
            messages.success(request, _("Contract %(number)s is effective; %(member)s awaits an after-sale matchmaker.")
                             % {"number": contract, "member": contract.member})  # fmt: skip
        elif action == "reject":
            form = ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Say why the contract is rejected."))
                return redirect("finance:contract", pk=contract.pk)
            services.contract_reject(agency=agency, actor=actor, contract=contract, reason=form.cleaned_data["reason"])
            messages.success(request, _("Contract %(number)s has been rejected.") % {"number": contract})
        elif action == "complete":
            services.contract_complete(agency=agency, actor=actor, contract=contract)
            messages.success(request, _("Contract %(number)s is completed.") % {"number": contract})
        elif action == "renew":
            if not actor.has_perm("matchmakers.add_contracts"):
                raise PermissionDenied(_("Your role does not allow entering contracts."))
            renewal = services.contract_renew(agency=agency, actor=actor, contract=contract)
            messages.success(request, _("Renewal %(number)s has been saved as a draft; check it and submit it.")
                             % {"number": renewal})  # fmt: skip
            return redirect("finance:contract_edit", pk=renewal.pk)
        elif action == "delete":
            member_pk = contract.member_id
            services.contract_delete(agency=agency, actor=actor, contract=contract)
            messages.success(request, _("The draft %(number)s has been deleted.") % {"number": contract})
            return redirect("members:detail", pk=member_pk)
        else:
            raise Http404
    except ValidationError as error:
        _service_error(request, error)
    return redirect("finance:contract", pk=contract.pk)


# --- payments and refunds --------------------------------------------------------------------------


@require_POST
@staff_permission_required("matchmakers.view_contracts", "matchmakers.add_payments")
def payment_create(request, pk):
    contract = _contract_or_404(request, pk)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            payment = services.payment_record(agency=request.agency, actor=request.user, contract=contract,
                                              **form.cleaned_data)  # fmt: skip
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Payment %(number)s of %(amount)s yuan has been recorded.")
                             % {"number": payment, "amount": payment.amount})  # fmt: skip
            return redirect("finance:contract", pk=contract.pk)
    messages.error(request, _("The payment was not recorded: %(errors)s") % {"errors": errors_sentence(form)})
    return render(request, "finance/contract_detail.html", _detail_context(request, contract, payment_form=form),
                  status=400)  # fmt: skip


@require_POST
@staff_permission_required("matchmakers.view_contracts", "matchmakers.add_refunds")
def refund_create(request, pk):
    contract = _contract_or_404(request, pk)
    form = RefundForm(request.POST)
    if form.is_valid():
        try:
            refund = services.refund_apply(agency=request.agency, actor=request.user, contract=contract,
                                           **form.cleaned_data)  # fmt: skip
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, _("Refund %(number)s has been sent to finance for approval.") % {"number": refund}
            )
            return redirect("finance:contract", pk=contract.pk)
    messages.error(request, _("The refund was not applied for: %(errors)s") % {"errors": errors_sentence(form)})
    return render(request, "finance/contract_detail.html", _detail_context(request, contract, refund_form=form),
                  status=400)  # fmt: skip


def _decide(request, action, *, accept_action, accept, reject, accepted, rejected, no_reason) -> None:
    """Finance's decision on a payment or a refund: accept it (with an optional note), or reject it
    with a reason; the outcome, or why not, becomes a message."""
    try:
        if action == accept_action:
            accept(request.POST.get("reason", ""))
            messages.success(request, accepted)
        elif action == "reject":
            form = ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, no_reason)
                return
            reject(form.cleaned_data["reason"])
            messages.success(request, rejected)
        else:
            raise Http404
    except ValidationError as error:
        _service_error(request, error)


@staff_permission_required("matchmakers.view_payments")
def payment_list(request):
    """Payments (F-G3): the last 7 days, the last month or all, with the manual's search fields."""
    today = services.agency_today(request.agency)
    data = request.GET.copy()
    data.setdefault("window", "week")
    filterset = PaymentFilter(data, queryset=selectors.payment_list(user=request.user), today=today)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "finance/payment_list.html", {
        "filter": filterset, "page": page, "windows": PAYMENT_WINDOWS, "window": filterset.form.data.get("window"),
        "reason_form": ReasonForm(),
    })  # fmt: skip


@require_POST
@staff_permission_required("matchmakers.view_payments", "matchmakers.audit_payments")
def payment_action(request, pk, action):
    payment = selectors.payment_list(user=request.user).filter(pk=pk).first()
    if payment is None:
        raise Http404
    agency, actor = request.agency, request.user
    _decide(
        request, action, accept_action="confirm",
        accept=lambda note: services.payment_confirm(agency=agency, actor=actor, payment=payment),
        reject=lambda reason: services.payment_reject(agency=agency, actor=actor, payment=payment, reason=reason),
        accepted=_("Payment %(number)s is confirmed.") % {"number": payment},
        rejected=_("Payment %(number)s is marked as not received.") % {"number": payment},
        no_reason=_("Say why the payment is not accepted."),
    )  # fmt: skip
    return redirect(next_url(request, reverse("finance:payments")))


@staff_permission_required("matchmakers.view_refunds")
def refund_list(request):
    """Refunds (F-G4), searchable by member name, member number, refund and contract number, date."""
    filterset = RefundFilter(request.GET, queryset=selectors.refund_list(user=request.user))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "finance/refund_list.html", {"filter": filterset, "page": page, "reason_form": ReasonForm()})


@require_POST
@staff_permission_required("matchmakers.view_refunds", "matchmakers.audit_refunds")
def refund_action(request, pk, action):
    refund = selectors.refund_list(user=request.user).filter(pk=pk).first()
    if refund is None:
        raise Http404
    agency, actor = request.agency, request.user
    _decide(
        request, action, accept_action="approve",
        accept=lambda note: services.refund_approve(agency=agency, actor=actor, refund=refund, note=note),
        reject=lambda reason: services.refund_reject(agency=agency, actor=actor, refund=refund, note=reason),
        accepted=_("Refund %(number)s is approved.") % {"number": refund},
        rejected=_("Refund %(number)s is rejected.") % {"number": refund},
        no_reason=_("Say why the refund is rejected."),
    )  # fmt: skip
    return redirect(next_url(request, reverse("finance:refunds")))


# --- packages and settings -------------------------------------------------------------------------


@staff_permission_required("matchmakers.view_contracts")
def package_list(request):
    packages = ServicePackage.objects.filter(agency=request.agency).annotate(contract_count=Count("contracts"))
    return render(request, "finance/package_list.html", {"packages": packages})


@staff_permission_required("matchmakers.edit_settings")
def package_edit(request, pk=None):
    package = get_object_or_404(ServicePackage, agency=request.agency, pk=pk) if pk else ServicePackage()
    form = PackageForm(request.POST or None, instance=package)

    def saved():
        messages.success(request, _("The package %(name)s has been saved.") % {"name": form.instance})
        return redirect("finance:packages")

    return form_page(
        request,
        form,
        template="finance/package_form.html",
        context={"package": package},
        on_saved=saved,
        save=lambda: services.package_save(agency=request.agency, actor=request.user, package=form.instance),
    )


@staff_permission_required("matchmakers.edit_settings")
def finance_settings(request):
    settings = services.settings_for(request.agency)
    form = FinanceSettingsForm(request.POST or None, instance=settings)

    def saved():
        messages.success(request, _("The finance settings have been saved."))
        return redirect("finance:settings")

    return form_page(
        request,
        form,
        template="finance/settings.html",
        on_saved=saved,
        save=lambda: services.finance_settings_save(agency=request.agency, actor=request.user, settings=form.instance),
    )
