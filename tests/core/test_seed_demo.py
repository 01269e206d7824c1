"""`manage.py seed_demo` (what `make run` shows first): demo agencies, staff, members, packages, contracts."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from apps.finance.models import Contract, Payment, ServicePackage
from apps.members.models import Member
from apps.portal.models import MemberAccount

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_a_working_agency_once():
    call_command("seed_demo", verbosity=0)
    contracts = Contract.unscoped.filter(agency__slug="demo").order_by("status", "number")
    assert [(c.member.name, c.status) for c in contracts] == [("周杰", "approved"), ("孙悦", "approved"),
                                                               ("赵敏", "submitted")]  # fmt: skip
    paid = {c.member.name: c.paid_amount for c in contracts}
    assert paid == {"周杰": Decimal("16800.00"), "孙悦": Decimal("11940.00"), "赵敏": Decimal("0.00")}
    assert Member.unscoped.get(agency__slug="demo", name="周杰").service_status == "active"
    assert Member.unscoped.get(agency__slug="demo", name="孙悦").status == "signed"  # waits in the dealt pool
    assert ServicePackage.unscoped.filter(agency__slug="yuanlai").count() == 3

    accounts = MemberAccount.unscoped.filter(agency__slug="demo").select_related("member")
    assert sorted(account.member.name for account in accounts) == ["吴倩", "周杰"]
    assert all(account.check_password("matchcrm-demo") and account.member.published for account in accounts)

    call_command("seed_demo", verbosity=0)  # a second run changes nothing
    assert Contract.unscoped.count() == 3 and Payment.unscoped.count() == 2
    assert ServicePackage.unscoped.count() == 6
    assert MemberAccount.unscoped.count() == 2
