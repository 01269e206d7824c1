"""Finance test data, built through the services so every record is in a state the product can reach."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from apps.agencies.context import agency_context
from apps.finance import services
from apps.finance.models import ServicePackage
from apps.members.models import Member
from tests.matchmakers.factories import RoleFactory, UserFactory

SALES_PERMS = [
    "matchmakers.view_members", "matchmakers.add_members", "matchmakers.edit_members",
    "matchmakers.view_contracts", "matchmakers.add_contracts", "matchmakers.view_payments",
    "matchmakers.view_refunds", "matchmakers.add_refunds",
]  # fmt: skip
FINANCE_PERMS = [
    "matchmakers.view_members", "matchmakers.view_contracts", "matchmakers.audit_contracts",
    "matchmakers.view_payments", "matchmakers.add_payments", "matchmakers.audit_payments",
    "matchmakers.view_refunds", "matchmakers.audit_refunds", "matchmakers.view_reports", "matchmakers.export_data",
]  # fmt: skip


class PackageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServicePackage

    agency = None
    name = factory.Sequence(lambda n: f"钻石会员{n}")
    price = Decimal("19800.00")
    duration_months = 12
    recommendations = 24
    appointments = 12
    dedicated_matchmaker = True
    priority_recommendation = False


_members = iter(range(10_000_000))


def member(agency, owner=None, *, name=None, status="following", aftersale=None) -> Member:
    n = next(_members)
    return Member.unscoped.create(
        agency=agency, member_no=f"F{n:07d}", name=name or f"会员{n}", gender="female" if n % 2 else "male",
        phone=f"139{n:08d}", presale_owner=owner, aftersale_owner=aftersale, status=status,
    )  # fmt: skip


def sales_user(agency, **kwargs):
    return UserFactory(agency=agency, perms=SALES_PERMS, **kwargs)


def finance_user(agency, **kwargs):
    return UserFactory(agency=agency, perms=FINANCE_PERMS, **kwargs)


def finance_team(agency):
    """finance (under root) and a sales manager → salesperson branch, each with the rights of their job."""
    manager_role = RoleFactory(agency=agency, perms=[*SALES_PERMS, "matchmakers.edit_contracts",
                                                     "matchmakers.view_reports"])  # fmt: skip
    sales_role = RoleFactory(agency=agency, parent=manager_role, perms=SALES_PERMS)
    return {
        "finance": finance_user(agency, username="finance"),
        "manager": UserFactory(agency=agency, username="sales_manager", role=manager_role),
        "sales": UserFactory(agency=agency, username="sales", role=sales_role),
    }


def contract(agency, *, sales, member_obj=None, package=None, status="draft", finance=None, paid=None, **kwargs):
    """A contract in `status` (draft, submitted, approved, rejected), reached through the services.

    paid: amounts of confirmed payments to add once approved (needs `finance`).
    """
    package = package or PackageFactory(agency=agency)
    member_obj = member_obj or member(agency, owner=sales)
    with agency_context(agency):
        result = services.contract_create(agency=agency, actor=sales, member=member_obj, package=package, **kwargs)
        if status in ("submitted", "approved", "rejected"):
            result = services.contract_submit(agency=agency, actor=sales, contract=result)
        if status == "approved":
            result = services.contract_approve(agency=agency, actor=finance, contract=result)
        elif status == "rejected":
            result = services.contract_reject(agency=agency, actor=finance, contract=result, reason="金额有误")
        for amount in paid or []:
            payment = services.payment_record(
                agency=agency, actor=finance, contract=result, amount=Decimal(amount), method="wechat",
                paid_at=timezone.now() - datetime.timedelta(minutes=1),
            )  # fmt: skip
            services.payment_confirm(agency=agency, actor=finance, payment=payment)
        result.refresh_from_db()
    return result
