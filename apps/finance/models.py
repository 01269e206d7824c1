"""Packages, contracts, payments and refunds (F-G1 … F-G6), and the daily sales roll-up.

Money is `Decimal` with two places everywhere. What finance has approved never changes: the
service layer refuses it, and database triggers (migration 0002) refuse it again for raw SQL.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.agencies.models import TenantModel
from apps.core.fields import user_field
from apps.members.models import Member

MONEY = {"max_digits": 12, "decimal_places": 2}
CENT = Decimal("0.01")


class FinanceSettings(TenantModel):
    """How an agency numbers its contracts, payments and refunds, and when it is reminded of renewals.

    Patterns use {YYYY} {YY} {MM} {DD} for the date and {SEQ} or {SEQ:n} for the agency's running
    number, zero-padded to n digits.
    """

    contract_number_pattern = models.CharField(
        _("contract number pattern"), max_length=40, default="HT{YYYY}{MM}{SEQ:4}"
    )
    payment_number_pattern = models.CharField(
        _("payment number pattern"), max_length=40, default="SK{YYYY}{MM}{DD}{SEQ:4}"
    )
    refund_number_pattern = models.CharField(_("refund number pattern"), max_length=40, default="TK{YYYY}{MM}{SEQ:4}")
    expiry_reminder_days = models.PositiveSmallIntegerField(
        _("remind of ending contracts (days before)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(180)],
    )

    class Meta(TenantModel.Meta):
        verbose_name = _("finance settings")
        verbose_name_plural = _("finance settings")
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency"], name="finance_settings_one_per_agency"),
        ]


class ServicePackage(TenantModel):
    """What a member buys (F-G1): a price, a service period and the services it entitles to."""

    name = models.CharField(_("name"), max_length=60)
    description = models.TextField(_("description"), blank=True)
    price = models.DecimalField(_("price (yuan)"), **MONEY, validators=[MinValueValidator(Decimal("0"))])
    duration_months = models.PositiveSmallIntegerField(
        _("duration (months)"), validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    recommendations = models.PositiveIntegerField(
        _("recommendations"), help_text=_("How many matches are recommended.")
    )
    appointments = models.PositiveIntegerField(_("appointments"), help_text=_("How many appointments are arranged."))
    dedicated_matchmaker = models.BooleanField(_("dedicated matchmaker"), default=False)
    priority_recommendation = models.BooleanField(_("priority recommendation"), default=False)
    is_active = models.BooleanField(_("on sale"), default=True, help_text=_("Retired packages stay on old contracts."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("service package")
        verbose_name_plural = _("service packages")
        ordering = ["-is_active", "price", "name"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "name"], name="finance_package_name_uniq"),
            models.CheckConstraint(condition=Q(price__gte=0), name="finance_package_price_not_negative"),
        ]

    def __str__(self):
        return self.name


class Contract(TenantModel):
    """A member's service contract (F-G2), entered by sales and approved by finance.

    draft → submitted → approved (effective) or rejected (with a reason; may be resubmitted);
    approved → completed / expired / refunded. The package's entitlements are copied onto the
    contract when it is written, so retiring or repricing a package never changes a signed contract.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Effective")
        REJECTED = "rejected", _("Rejected")
        COMPLETED = "completed", _("Completed")
        EXPIRED = "expired", _("Expired")
        REFUNDED = "refunded", _("Refunded")

    class PaymentType(models.TextChoices):
        FULL = "full", _("Full payment")
        DEPOSIT = "deposit", _("Deposit and balance")
        INSTALMENTS = "instalments", _("Instalments")

    # Approved and what follows it: the terms are frozen (service layer and database trigger).
    FROZEN_STATUSES = (Status.APPROVED, Status.COMPLETED, Status.EXPIRED, Status.REFUNDED)
    EDITABLE_STATUSES = (Status.DRAFT, Status.REJECTED)
    PAYABLE_STATUSES = (Status.SUBMITTED, Status.APPROVED)
    # A rejected contract may hold confirmed money (a deposit taken before finance said no).
    REFUNDABLE_STATUSES = (Status.APPROVED, Status.COMPLETED, Status.EXPIRED, Status.REJECTED)

    number = models.CharField(_("contract number"), max_length=40)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="contracts", db_index=False,
                               verbose_name=_("member"))  # fmt: skip
    package = models.ForeignKey(ServicePackage, on_delete=models.PROTECT, related_name="contracts", db_index=False,
                                verbose_name=_("service package"))  # fmt: skip
    previous = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="renewals", db_index=False,
        verbose_name=_("renewal of"),
    )  # fmt: skip
    amount = models.DecimalField(_("amount (yuan)"), **MONEY, validators=[MinValueValidator(Decimal("0"))])
    payment_type = models.CharField(_("payment type"), max_length=12, choices=PaymentType.choices,
                                    default=PaymentType.FULL)  # fmt: skip
    service_start = models.DateField(_("service starts"))
    service_end = models.DateField(_("service ends"))
    salesperson = user_field(_("salesperson"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    notes = models.TextField(_("notes"), blank=True)
    reject_reason = models.CharField(_("reason for rejection"), max_length=200, blank=True)

    recommendations_total = models.PositiveIntegerField(_("recommendations"), default=0)
    appointments_total = models.PositiveIntegerField(_("appointments"), default=0)
    dedicated_matchmaker = models.BooleanField(_("dedicated matchmaker"), default=False)
    priority_recommendation = models.BooleanField(_("priority recommendation"), default=False)
    recommendations_used = models.PositiveIntegerField(_("recommendations used"), default=0)
    appointments_used = models.PositiveIntegerField(_("appointments used"), default=0)

    # Kept by the payment and refund services under the contract's row lock.
    paid_amount = models.DecimalField(_("paid (confirmed)"), **MONEY, default=Decimal("0"))
    refunded_amount = models.DecimalField(_("refunded"), **MONEY, default=Decimal("0"))

    created_by = user_field(_("entered by"))
    created_at = models.DateTimeField(_("entered at"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_by = user_field(_("reviewed by"), null=True, blank=True)
    decided_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "number"], name="finance_contract_number_uniq"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="finance_contract_amount_not_negative"),
            models.CheckConstraint(condition=Q(service_end__gte=F("service_start")), name="finance_contract_period"),
            models.CheckConstraint(condition=Q(paid_amount__lte=F("amount")), name="finance_contract_not_overpaid"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("paid_amount")),
                name="finance_contract_refund_within_paid",
            ),
            models.CheckConstraint(
                condition=Q(
                    recommendations_used__lte=F("recommendations_total"), appointments_used__lte=F("appointments_total")
                ),
                name="finance_contract_entitlements_within_total",
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "-created_at", "-id"], name="finance_contract_recent_idx"),
            models.Index(fields=["agency", "status", "-created_at"], name="finance_contract_status_idx"),
            models.Index(fields=["agency", "member"], name="finance_contract_member_idx"),
            models.Index(fields=["agency", "salesperson"], name="finance_contract_sales_idx"),
            models.Index(fields=["agency", "package"], name="finance_contract_package_idx"),
            models.Index(fields=["agency", "previous"], name="finance_contract_previous_idx"),
            models.Index(fields=["agency", "decided_at"], name="finance_contract_decided_idx"),  # roll-ups, live
            models.Index(
                fields=["agency", "service_end"], name="finance_contract_ending_idx", condition=Q(status="approved")
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def is_frozen(self) -> bool:
        return self.status in self.FROZEN_STATUSES

    @property
    def net_paid(self) -> Decimal:
        return self.paid_amount - self.refunded_amount

    @property
    def outstanding(self) -> Decimal:
        return max(self.amount - self.paid_amount, Decimal("0"))

    @property
    def recommendations_left(self) -> int:
        return self.recommendations_total - self.recommendations_used

    @property
    def appointments_left(self) -> int:
        return self.appointments_total - self.appointments_used


class Instalment(TenantModel):
    """One due payment of a contract's schedule; the schedule adds up to the contract amount."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="instalments", db_index=False)
    position = models.PositiveSmallIntegerField(_("no."))
    due_date = models.DateField(_("due on"))
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)

    class Meta(TenantModel.Meta):
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["contract", "position"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "contract", "position"], name="finance_instalment_position_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="finance_instalment_amount_positive"),
        ]

    def __str__(self):
        return f"{self.contract_id} #{self.position}"


class Payment(TenantModel):
    """Money received against a contract (F-G3): recorded by sales, confirmed by finance.

    Only confirmed payments count as paid (for refunds, reports and what is due).
    """

    class Method(models.TextChoices):
        CASH = "cash", _("Cash")
        WECHAT = "wechat", _("WeChat Pay")
        ALIPAY = "alipay", _("Alipay")
        BANK = "bank", _("Bank transfer")
        CARD = "card", _("Card")

    class Status(models.TextChoices):
        RECORDED = "recorded", _("Awaiting confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Not received")

    number = models.CharField(_("payment number"), max_length=40)
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="payments", db_index=False,
                                 verbose_name=_("contract"))  # fmt: skip
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))  # fmt: skip
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    paid_at = models.DateTimeField(_("paid at"))
    reference = models.CharField(_("reference number"), max_length=64, blank=True,
                                 help_text=_("The bank, WeChat Pay or Alipay transaction number."))  # fmt: skip
    note = models.CharField(_("note"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RECORDED)
    recorded_by = user_field(_("recorded by"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    confirmed_by = user_field(_("confirmed by"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    reject_reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-paid_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "number"], name="finance_payment_number_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="finance_payment_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["agency", "-paid_at"], name="finance_payment_paid_idx"),
            models.Index(fields=["agency", "contract"], name="finance_payment_contract_idx"),
            models.Index(fields=["agency", "member"], name="finance_payment_member_idx"),
            models.Index(fields=["agency", "status", "-paid_at"], name="finance_payment_status_idx"),
        ]

    def __str__(self):
        return self.number


class Refund(TenantModel):
    """Money given back against an original contract (F-G4): applied by service staff, decided by finance."""

    class Status(models.TextChoices):
        APPLIED = "applied", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    number = models.CharField(_("refund number"), max_length=40)
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="refunds", db_index=False,
                                 verbose_name=_("contract"))  # fmt: skip
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))  # fmt: skip
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.APPLIED)
    applied_by = user_field(_("applied by"))
    applied_at = models.DateTimeField(_("applied at"), auto_now_add=True)
    decided_by = user_field(_("decided by"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-applied_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "number"], name="finance_refund_number_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="finance_refund_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["agency", "-applied_at"], name="finance_refund_applied_idx"),
            models.Index(fields=["agency", "contract"], name="finance_refund_contract_idx"),
            models.Index(fields=["agency", "member"], name="finance_refund_member_idx"),
            models.Index(fields=["agency", "status", "decided_at"], name="finance_refund_status_idx"),
        ]

    def __str__(self):
        return self.number


class ContractEvent(TenantModel):
    """The audit trail of a contract (F-G2 … F-G4): every state change, who, when, before and after."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Entered")
        EDITED = "edited", _("Edited")
        SUBMITTED = "submitted", _("Submitted for approval")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        PAID = "paid", _("Payment recorded")
        CONFIRMED = "confirmed", _("Payment confirmed")
        PAYMENT_REJECTED = "payment_rejected", _("Payment not received")
        REFUND_APPLIED = "refund_applied", _("Refund applied for")
        REFUND_APPROVED = "refund_approved", _("Refund approved")
        REFUND_REJECTED = "refund_rejected", _("Refund rejected")
        COMPLETED = "completed", _("Completed")
        EXPIRED = "expired", _("Expired")
        REFUNDED = "refunded", _("Fully refunded")
        DELETED = "deleted", _("Deleted")

    contract = models.ForeignKey(Contract, on_delete=models.SET_NULL, null=True, related_name="events",
                                 db_index=False)  # fmt: skip
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    contract_number = models.CharField(_("contract number"), max_length=40)
    kind = models.CharField(_("what"), max_length=20, choices=Kind.choices)
    actor = user_field(_("by"), null=True, blank=True)  # None: the system (e.g. the expiry job)
    at = models.DateTimeField(_("when"), auto_now_add=True)
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("contract event")
        verbose_name_plural = _("contract events")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["agency", "contract", "at"], name="finance_event_contract_idx"),
            models.Index(fields=["agency", "member", "at"], name="finance_event_member_idx"),
        ]

    def __str__(self):
        return f"{self.contract_number} {self.kind}"


class SalesDaily(TenantModel):
    """One day's sales of one salesperson and package, in the agency's time zone (F-G5 roll-up).

    Filled by `services_reports.rollup_day` (a Celery task, idempotent): a day is deleted and
    written again whole, and `SalesRollupDay` marks it done. Reports read rolled-up days from here
    and compute the other days (today, or a day a late confirmation made stale) live.
    """

    day = models.DateField()
    salesperson = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                                    db_index=False)  # fmt: skip
    package = models.ForeignKey(ServicePackage, on_delete=models.CASCADE, related_name="+", db_index=False)
    payments_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    payments_count = models.PositiveIntegerField(default=0)
    refunds_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    refunds_count = models.PositiveIntegerField(default=0)
    contracts_count = models.PositiveIntegerField(default=0)
    contracts_amount = models.DecimalField(**MONEY, default=Decimal("0"))

    class Meta(TenantModel.Meta):
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "day", "salesperson", "package"], name="finance_daily_uniq"),
        ]


class SalesRollupDay(TenantModel):
    """A day whose SalesDaily rows are complete; deleted when a change lands on that day again."""

    day = models.DateField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["agency", "day"], name="finance_rollup_day_uniq"),
        ]
