"""State changes of members (F-E2) and one-by-one shares (F-B3)."""

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.agencies.services import sequence_next
from apps.matchmakers.models import User

from .models import Member, MemberShare
from .selectors import member_visible_list

EDITABLE_FIELDS = ("name", "gender", "birth_date", "phone", "wechat", "status")
SHARE_CODENAMES = ("view_member", "change_member")


def _validate(member: Member) -> None:
    try:
        member.full_clean(exclude=["presale_owner", "aftersale_owner", "created_by"])
    except ValidationError as error:
        if "__all__" in error.message_dict:
            raise ValidationError({"phone": _("A member with this phone number already exists.")}) from None
        raise


@transaction.atomic
def member_create(*, agency, actor: User, source: str = Member.Source.MANUAL, **fields) -> Member:
    """A member entered by staff is owned by whoever entered it (presale owner)."""
    if not actor.has_perm("matchmakers.add_members"):
        raise PermissionDenied(_("Your role does not allow adding members."))
    member = Member(agency=agency, presale_owner=actor, created_by=actor, source=source)
    for field in EDITABLE_FIELDS:
        if field in fields:
            setattr(member, field, fields[field])
    member.member_no = f"M{sequence_next(agency=agency, name='member'):06d}"
    _validate(member)
    member.save()
    return member


def _visible(actor: User, member: Member) -> Member:
    visible = member_visible_list(user=actor).filter(pk=member.pk).select_for_update(of=("self",)).first()
    if visible is None:
        raise PermissionDenied(_("You cannot see this member."))
    return visible


@transaction.atomic
def member_update(*, agency, actor: User, member: Member, **fields) -> Member:
    if not actor.has_perm("matchmakers.edit_members"):
        raise PermissionDenied(_("Your role does not allow editing members."))
    member = _visible(actor, member)
    for field in EDITABLE_FIELDS:
        if field in fields:
            setattr(member, field, fields[field])
    _validate(member)
    member.save()
    return member


def _share_permissions() -> list[Permission]:
    return list(Permission.objects.filter(content_type__app_label="members", codename__in=SHARE_CODENAMES))


@transaction.atomic
def member_share(*, agency, actor: User, member: Member, with_user: User) -> None:
    """Let one colleague see and edit one member, whatever their roles (F-B3)."""
    member = _visible(actor, member)
    if with_user.agency_id != agency.pk or not with_user.is_active:
        raise ValidationError({"user": _("Choose an active colleague of this agency.")})
    if with_user.pk == actor.pk:
        raise ValidationError({"user": _("You can already see this member.")})
    for permission in _share_permissions():
        MemberShare.objects.get_or_create(
            agency=agency, content_object=member, user=with_user, permission=permission,
            defaults={"granted_by": actor},
        )  # fmt: skip


@transaction.atomic
def member_unshare(*, agency, actor: User, member: Member, with_user: User) -> None:
    member = _visible(actor, member)
    MemberShare.objects.filter(content_object=member, user=with_user).delete()
