"""A small team and its members for the conversation tests (F-F7), and the services called in scope."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.agencies.context import agency_context
from apps.members.models import Member
from apps.messaging import threads
from tests.conftest import image_bytes
from tests.matchmakers.factories import RoleFactory, UserFactory

MESSAGE_PERMS = ["matchmakers.view_members", "matchmakers.view_messages", "matchmakers.add_messages"]

_numbers = iter(range(1, 10_000_000))


def team(agency) -> dict:
    """A manager with a matchmaker below, a matchmaker in a sibling branch, and a role without messages."""
    manager_role = RoleFactory(agency=agency, name="主管", perms=MESSAGE_PERMS)
    return {
        "manager": UserFactory(agency=agency, username="manager", name="王主管", role=manager_role),
        "matchmaker": UserFactory(
            agency=agency,
            username="xiaohong",
            name="小红",
            role=RoleFactory(agency=agency, name="红娘", parent=manager_role, perms=MESSAGE_PERMS),
        ),
        "sibling": UserFactory(agency=agency, username="xiaoli", name="小李", perms=MESSAGE_PERMS),
        "no_messages": UserFactory(agency=agency, username="finance", name="财务", perms=["matchmakers.view_members"]),
    }


def make_member(agency, owner, name=None) -> Member:
    n = next(_numbers)
    return Member.unscoped.create(
        agency=agency, member_no=f"T{n:06d}", name=name or f"会员{n}", gender="female", phone=f"1390000{n:04d}",
        aftersale_owner=owner,
    )  # fmt: skip


def upload(data: bytes, name="photo.jpg", content_type="image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0), 3: "E", 4: (120.0, 10.0, 0.0)}  # GPS IFD
    output = io.BytesIO()
    Image.new("RGB", (120, 80), (220, 80, 120)).save(output, "JPEG", exif=exif)
    return output.getvalue()


def png_upload(name="photo.png") -> SimpleUploadedFile:
    return upload(image_bytes("PNG"), name=name, content_type="image/png")


def staff_start(agency, actor, member, *, subject="见面安排", body="周六下午三点，西湖边见。", image=None):
    with agency_context(agency):
        return threads.thread_start_by_staff(
            agency=agency, actor=actor, member=member, subject=subject, body=body, image=image
        )


def staff_post(agency, actor, thread, *, body="收到，我来安排。", image=None):
    with agency_context(agency):
        return threads.message_post_by_staff(agency=agency, actor=actor, thread_id=thread.pk, body=body, image=image)


def member_post(member, thread, *, body="好的，谢谢老师！", image=None, impersonator=None):
    with agency_context(member.agency):
        return threads.message_post_by_member(
            member=member, thread_id=thread.pk, body=body, image=image, impersonator=impersonator
        )
