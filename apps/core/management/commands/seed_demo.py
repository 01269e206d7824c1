"""Create the demo agencies, their staff and members, and a platform operator; running it again changes nothing."""

import datetime
import io
import os
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone, translation
from PIL import Image, ImageDraw

from apps.agencies.context import agency_context
from apps.agencies.models import Agency, SiteImage
from apps.agencies.services import agency_create, site_image_add, site_settings_update
from apps.finance import services as finance_services
from apps.finance.models import ServicePackage
from apps.matchmakers.models import Role, User
from apps.matchmakers.permissions import DEFAULT_ROLES
from apps.members.models import Member
from apps.members.services import member_create
from apps.portal.models import MemberAccount

# name, price (yuan), months, recommendations, appointments, dedicated matchmaker, priority
DEMO_PACKAGES = [
    ("银卡会员", "6800.00", 6, 12, 6, False, False),
    ("金卡会员", "16800.00", 12, 30, 15, True, False),
    ("钻石会员", "39800.00", 24, 80, 40, True, True),
]

DEMO_AGENCIES = [
    {
        "slug": "demo",
        "name": "幸福里婚恋",
        "phone": "0571-88886666",
        "address": "浙江省杭州市西湖区文三路 100 号 5 楼",
        "about": "<p>幸福里婚恋成立于 2012 年，专注杭州本地高端婚恋服务。</p>"
        "<p>一对一红娘服务，<strong>实名认证</strong>，严格保护会员隐私。</p>",
        "staff": [
            ("admin", "王敏", "admin", {}),
            (
                "manager",
                "李娜",
                "manager",
                {"seniority_years": 12, "motto": "真诚是最好的缘分。", "show_in_showcase": True},
            ),
            ("presale", "张伟", "presale", {"seniority_years": 3}),
            ("presale2", "周婷", "presale", {"seniority_years": 2}),
            (
                "aftersale",
                "陈静",
                "aftersale",
                {"seniority_years": 8, "motto": "用心牵线，陪你走到幸福。", "show_in_showcase": True},
            ),
            ("finance", "刘洋", "finance", {}),
        ],
        "phone_seed": "8",
        "members": [
            ("林晓", "female", "presale", "lead"),
            ("王磊", "male", "presale", "following"),
            ("赵敏", "female", "presale", "following"),
            ("钱程", "male", "presale2", "lead"),
            ("孙悦", "female", "presale2", "following"),
            ("周杰", "male", "aftersale", "in_service"),
            ("吴倩", "female", "aftersale", "in_service"),
            ("郑浩", "male", "aftersale", "signed"),
        ],
        # members who can log in to the portal with their phone and the demo password, and whose
        # anonymous card other portal members see (F-F6)
        "portal": ["周杰", "吴倩"],
        # member, package, how far it got (submitted / approved), share of the amount paid
        "contracts": [
            ("周杰", "金卡会员", "approved", "1"),
            ("孙悦", "钻石会员", "approved", "0.3"),
            ("赵敏", "银卡会员", "submitted", "0"),
        ],
    },
    {
        "slug": "yuanlai",
        "name": "缘来婚介",
        "phone": "021-66668888",
        "address": "上海市徐汇区漕溪北路 200 号",
        "about": "<p>缘来婚介：用心为每一位会员寻找合适的另一半。</p>",
        "staff": [("admin", "赵雪", "admin", {}), ("presale", "孙磊", "presale", {})],
        "phone_seed": "9",
        "members": [("何静", "female", "presale", "lead"), ("马超", "male", "presale", "following")],
    },
]


def _banner_png(color_from, color_to) -> bytes:
    image = Image.new("RGB", (1600, 500))
    draw = ImageDraw.Draw(image)
    for x in range(1600):
        mix = x / 1599
        color = tuple(int(a + (b - a) * mix) for a, b in zip(color_from, color_to, strict=True))
        draw.line([(x, 0), (x, 499)], fill=color)
    output = io.BytesIO()
    image.save(output, "PNG")
    return output.getvalue()


class Command(BaseCommand):
    help = "Create (idempotently) the demo agencies with staff accounts, and a platform operator."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD", "matchcrm-demo")
        with transaction.atomic():
            for spec in DEMO_AGENCIES:
                self._seed_agency(spec, password)
            if not User.objects.filter(agency=None, username="platform").exists():
                User.objects.create_superuser("platform", "platform@localhost", password, name="Platform operator")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def _seed_agency(self, spec, password):
        agency = Agency.objects.filter(slug=spec["slug"]).first()
        created = agency is None
        if created:
            agency = agency_create(slug=spec["slug"], name=spec["name"])
        with translation.override("zh-hans"):
            role_names = {role["key"]: str(role["name"]) for role in DEFAULT_ROLES}
        roles = {role.name: role for role in Role.unscoped.filter(agency=agency)}
        for username, name, role_key, extra in spec["staff"]:
            if not User.objects.filter(agency=agency, username=username).exists():
                user = User(
                    agency=agency,
                    username=username,
                    name=name,
                    role=roles[role_names[role_key]],
                    email=f"{username}@{spec['slug']}.example",
                    **extra,
                )
                user.set_password(password)
                user.save()
        with agency_context(agency):
            if not ServicePackage.objects.exists():  # agencies that predate finance get them too
                self._seed_packages(agency)
        if not created:
            with agency_context(agency):  # agencies that predate the portal get their accounts too
                self._seed_portal(agency, spec, password)
            return
        with agency_context(agency):
            self._seed_members(agency, spec)
            self._seed_contracts(agency, spec)
            self._seed_portal(agency, spec, password)
            site_settings_update(
                agency=agency,
                data={"phone": spec["phone"], "address": spec["address"], "about": spec["about"]},
            )
            if not SiteImage.objects.exists():
                site_image_add(
                    agency=agency,
                    kind=SiteImage.Kind.BANNER,
                    image=SimpleUploadedFile("banner.png", _banner_png((236, 72, 153), (251, 191, 36)), "image/png"),
                    caption="遇见对的人" if spec["slug"] == "demo" else "缘分就在身边",
                )

    def _seed_portal(self, agency, spec, password):
        """Portal accounts (log in with the member's phone and the demo password) and published cards."""
        for member in Member.objects.filter(name__in=spec.get("portal", [])):
            if not MemberAccount.objects.filter(member=member).exists():
                account = MemberAccount(agency=agency, member=member)
                account.set_password(password)
                account.save()
            if not member.published:
                Member.objects.filter(pk=member.pk).update(published=True)

    def _seed_packages(self, agency):
        """The service packages a typical agency sells (F-G1), so contracts can be entered at once."""
        for name, price, months, recommendations, appointments, dedicated, priority in DEMO_PACKAGES:
            ServicePackage.objects.get_or_create(
                agency=agency, name=name,
                defaults={"price": Decimal(price), "duration_months": months, "recommendations": recommendations,
                          "appointments": appointments, "dedicated_matchmaker": dedicated,
                          "priority_recommendation": priority},
            )  # fmt: skip

    def _seed_contracts(self, agency, spec):
        """A few contracts at different stages, entered by the presale matchmaker, checked by finance."""
        staff = {user.username: user for user in User.objects.filter(agency=agency)}
        admin = staff["admin"]
        for name, package_name, stage, paid_share in spec.get("contracts", []):
            member = Member.objects.get(name=name)
            package = ServicePackage.objects.get(name=package_name)
            start = timezone.localdate() - datetime.timedelta(days=60)
            deal = finance_services.contract_create(
                agency=agency, actor=admin, member=member, package=package, salesperson=staff["presale"],
                service_start=start,
            )  # fmt: skip
            deal = finance_services.contract_submit(agency=agency, actor=admin, contract=deal)
            if stage == "approved":
                deal = finance_services.contract_approve(agency=agency, actor=admin, contract=deal)
            paid = (deal.amount * Decimal(paid_share)).quantize(Decimal("0.01"))
            if paid:
                payment = finance_services.payment_record(
                    agency=agency, actor=admin, contract=deal, amount=paid, method="wechat",
                    paid_at=timezone.now() - datetime.timedelta(days=59), reference="DEMO-0001",
                )  # fmt: skip
                finance_services.payment_confirm(agency=agency, actor=admin, payment=payment)

    def _seed_members(self, agency, spec):
        """A few members per matchmaker, so lists, visibility and shares have something to show."""
        owners = {user.username: user for user in User.objects.filter(agency=agency)}
        for index, (name, gender, owner, status) in enumerate(spec.get("members", [])):
            presale = owners[owner] if owner.startswith("presale") else owners.get("presale")
            member = member_create(
                agency=agency,
                actor=presale,
                name=name,
                gender=gender,
                phone=f"13{spec['phone_seed']}{index:08d}",
                birth_date=datetime.date(1988 + index % 10, 1 + index % 12, 1 + index % 28),
                status=status,
            )
            if owner.startswith("aftersale"):
                Member.objects.filter(pk=member.pk).update(aftersale_owner=owners[owner])
