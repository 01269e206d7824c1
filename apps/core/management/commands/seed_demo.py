"""Create the demo agencies, their staff and a platform operator; running it again changes nothing."""

import io
import os

from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image, ImageDraw

from apps.agencies.context import agency_context
from apps.agencies.models import Agency, SiteImage
from apps.agencies.services import agency_create, site_image_add, site_settings_update
from apps.matchmakers.models import User

DEMO_AGENCIES = [
    {
        "slug": "demo",
        "name": "幸福里婚恋",
        "phone": "0571-88886666",
        "address": "浙江省杭州市西湖区文三路 100 号 5 楼",
        "about": "<p>幸福里婚恋成立于 2012 年，专注杭州本地高端婚恋服务。</p>"
        "<p>一对一红娘服务，<strong>实名认证</strong>，严格保护会员隐私。</p>",
        "staff": [
            ("admin", "王敏", True),
            ("manager", "李娜", False),
            ("presale", "张伟", False),
            ("aftersale", "陈静", False),
            ("finance", "刘洋", False),
        ],
    },
    {
        "slug": "yuanlai",
        "name": "缘来婚介",
        "phone": "021-66668888",
        "address": "上海市徐汇区漕溪北路 200 号",
        "about": "<p>缘来婚介：用心为每一位会员寻找合适的另一半。</p>",
        "staff": [("admin", "赵雪", True)],
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
        site_admin_perm = Permission.objects.get(codename="change_sitesettings", content_type__app_label="agencies")
        for username, name, is_admin in spec["staff"]:
            user = User.objects.filter(agency=agency, username=username).first()
            if user is None:
                user = User(agency=agency, username=username, name=name, email=f"{username}@{spec['slug']}.example")
                user.set_password(password)
                user.save()
                if is_admin:
                    user.user_permissions.add(site_admin_perm)
        if not created:
            return
        with agency_context(agency):
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
