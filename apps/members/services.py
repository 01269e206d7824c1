"""State changes of members (F-E2, F-C2, F-C7) and one-by-one shares (F-B3)."""

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Func, Value
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.agencies.sequences import sequence_next
from apps.core.tasks import schedule_image_reencode
from apps.core.validators import normalize_mobile
from apps.matchmakers.models import User
from apps.matchmakers.selectors import visible_to

from . import divisions
from .models import (
    ContactReveal,
    FamilyMember,
    Member,
    MemberAttachment,
    MemberExport,
    MemberPhoto,
    MemberShare,
    PartnerPreference,
    Tag,
)
from .selectors import OWNER_FIELDS, member_visible_list

PROFILE_FIELDS = (
    "name", "gender", "birth_date", "height_cm", "weight_kg", "education", "occupation", "industry", "income",
    "marital_status", "children", "housing", "has_car", "native_province", "native_city", "residence_province",
    "residence_city", "residence_district", "ethnicity", "smoking", "drinking", "self_intro", "past_relationships",
    "phone", "wechat", "email", "id_number", "tag_ids", "status", "service_status", "published",
)  # fmt: skip
PREFERENCE_FIELDS = (
    "age_min", "age_max", "height_min", "height_max", "education_min", "income_min", "marital_statuses",
    "city_codes", "must_tag_ids", "nice_tag_ids", "accepts_children", "notes",
)  # fmt: skip
SHARE_CODENAMES = ("view_member", "change_member")
REVEALABLE_FIELDS = ("phone", "wechat", "id_number")


def _check_duplicate_phone(actor: User, member: Member) -> None:
    """Refuse a phone the agency already has; name the record only to those who may see it."""
    existing = Member.objects.filter(phone=member.phone).exclude(pk=member.pk).first()
    if existing is None:
        return
    visible = member_visible_list(user=actor).filter(pk=existing.pk).select_related("presale_owner").first()
    if visible is not None:
        message = _("This phone number belongs to %(member)s, followed by %(owner)s.") % {
            "member": visible,
            "owner": visible.presale_owner or _("nobody yet"),
        }
    else:
        message = _("A member with this phone number already exists, followed by a colleague.")
    raise ValidationError({"phone": message})


def _check_tags(agency, *tag_lists) -> None:
    wanted = {tag_id for tag_list in tag_lists for tag_id in (tag_list or [])}
    if wanted and Tag.objects.filter(agency=agency, pk__in=wanted).count() != len(wanted):
        raise ValidationError(_("Some tags do not belong to this agency's tag library."))


def _apply_profile(member: Member, data: dict) -> None:
    for field in PROFILE_FIELDS:
        if field in data:
            value = data[field]
            if field == "phone":
                value = normalize_mobile(value)
            setattr(member, field, value)


def _validate(actor: User, member: Member) -> None:
    divisions.validate_location(member.native_province, member.native_city, prefix="native_")
    divisions.validate_location(
        member.residence_province, member.residence_city, member.residence_district, prefix="residence_"
    )
    _check_tags(member.agency, member.tag_ids)
    member.full_clean(exclude=["presale_owner", "aftersale_owner", "created_by", "agency"], validate_constraints=False)
    _check_duplicate_phone(actor, member)


def _save_preference(member: Member, preference: dict | None) -> None:
    if preference is None:
        return
    _check_tags(member.agency, preference.get("must_tag_ids"), preference.get("nice_tag_ids"))
    for code in preference.get("city_codes") or []:
        if not divisions.is_city(code):
            raise ValidationError({"city_codes": _("Choose cities from the list.")})
    instance = PartnerPreference.objects.filter(member=member).first() or PartnerPreference(
        agency=member.agency, member=member
    )
    for field in PREFERENCE_FIELDS:
        if field in preference:
            setattr(instance, field, preference[field])
    instance.full_clean(exclude=["agency", "member"])
    instance.save()


@transaction.atomic
def member_create(
    *, agency, actor: User, source: str = Member.Source.MANUAL, preference: dict | None = None, **fields
) -> Member:
    """A member entered by staff is owned by whoever entered it (presale owner, F-E2)."""
    if not actor.has_perm("matchmakers.add_members"):
        raise PermissionDenied(_("Your role does not allow adding members."))
    member = Member(agency=agency, presale_owner=actor, created_by=actor, source=source)
    _apply_profile(member, fields)
    _validate(actor, member)
    member.member_no = f"M{sequence_next(agency=agency, name='member'):06d}"
    member.save()
    _save_preference(member, preference)
    return member


def _visible(actor: User, member: Member) -> Member:
    visible = member_visible_list(user=actor).filter(pk=member.pk).select_for_update(of=("self",)).first()
    if visible is None:
        raise PermissionDenied(_("You cannot see this member."))
    return visible


@transaction.atomic
def member_update(*, agency, actor: User, member: Member, preference: dict | None = None, **fields) -> Member:
    if not actor.has_perm("matchmakers.edit_members"):
        raise PermissionDenied(_("Your role does not allow editing members."))
    member = _visible(actor, member)
    _apply_profile(member, fields)
    _validate(actor, member)
    member.save()
    _save_preference(member, preference)
    return member


def contact_reveal(*, agency, actor: User, member: Member, field: str, ip_address=None, user_agent="") -> str:
    """The full value of a masked contact field, logged (F-C7)."""
    if not actor.has_perm("matchmakers.reveal_contact"):
        raise PermissionDenied(_("Your role does not allow revealing contact details."))
    if field not in REVEALABLE_FIELDS:
        raise ValidationError(_("Unknown contact field."))
    member = member_visible_list(user=actor).filter(pk=member.pk).first()
    if member is None:
        raise PermissionDenied(_("You cannot see this member."))
    ContactReveal.objects.create(
        agency=agency, member=member, user=actor, field=field, ip_address=ip_address, user_agent=user_agent[:300]
    )
    return getattr(member, field)


def contact_fields_shown(*, agency, actor: User, member: Member, fields, ip_address=None, user_agent: str = ""):
    """Log the contact details a page showed in full (the edit form pre-fills them): F-C7 counts
    every full view of a phone, WeChat or ID number as a reveal."""
    ContactReveal.objects.bulk_create(
        ContactReveal(
            agency=agency, member=member, user=actor, field=field, ip_address=ip_address, user_agent=user_agent[:300]
        )
        for field in fields
        if field in REVEALABLE_FIELDS and getattr(member, field)
    )


def _share_permissions() -> list[Permission]:
    return list(Permission.objects.filter(content_type__app_label="members", codename__in=SHARE_CODENAMES))


def _owned_in_branch(actor: User, member: Member) -> Member:
    """The member, if the actor sees it as owner or above its owner: a share alone does not let
    anyone pass the member on, or take other people's shares away."""
    owned = visible_to(Member.objects.all(), user=actor, owner_fields=OWNER_FIELDS).filter(pk=member.pk).first()
    if owned is None:
        raise PermissionDenied(_("Only the member's matchmakers and their superiors can share this member."))
    return owned


@transaction.atomic
def member_share(*, agency, actor: User, member: Member, with_user: User) -> None:
    """Let one colleague see and edit one member, whatever their roles (F-B3)."""
    member = _owned_in_branch(actor, member)
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
    member = _owned_in_branch(actor, member)
    MemberShare.objects.filter(content_object=member, user=with_user).delete()


def member_export_log(*, agency, actor: User, row_count: int, filters: dict, revealed: bool, ip_address=None):
    """Every export is recorded: who took how many members, with which filters (F-C8)."""
    return MemberExport.objects.create(
        agency=agency, user=actor, row_count=row_count, filters=filters, revealed=revealed, ip_address=ip_address
    )


def _editable(actor: User, member: Member) -> Member:
    if not actor.has_perm("matchmakers.edit_members"):
        raise PermissionDenied(_("Your role does not allow editing members."))
    return _visible(actor, member)


@transaction.atomic
def member_photo_add(*, agency, actor: User, member: Member, image, caption: str = "", is_primary: bool = False):
    member = _editable(actor, member)
    if is_primary or not MemberPhoto.objects.filter(member=member).exists():
        MemberPhoto.objects.filter(member=member, is_primary=True).update(is_primary=False)
        is_primary = True
    photo = MemberPhoto(agency=agency, member=member, image=image, caption=caption, is_primary=is_primary)
    photo.full_clean()
    photo.save()
    schedule_image_reencode(photo, "image")  # members' phone photos carry GPS positions
    return photo


@transaction.atomic
def member_photo_delete(*, agency, actor: User, photo: MemberPhoto) -> None:
    _editable(actor, photo.member)
    name, storage = photo.image.name, photo.image.storage
    photo.delete()
    transaction.on_commit(lambda: storage.delete(name))


@transaction.atomic
def member_attachment_add(*, agency, actor: User, member: Member, kind: str, file) -> MemberAttachment:
    member = _editable(actor, member)
    attachment = MemberAttachment(
        agency=agency, member=member, kind=kind, file=file, original_name=file.name[:200], uploaded_by=actor
    )
    attachment.full_clean()
    attachment.save()
    return attachment


def member_attachment_opened(
    *, agency, actor: User, attachment: MemberAttachment, ip_address=None, user_agent: str = ""
) -> None:
    """Reading a private document is a sensitive read: it is logged like a contact reveal."""
    ContactReveal.objects.create(
        agency=agency, member_id=attachment.member_id, user=actor, field=ContactReveal.Field.ATTACHMENT,
        ip_address=ip_address, user_agent=user_agent[:300],
    )  # fmt: skip


@transaction.atomic
def member_attachment_delete(*, agency, actor: User, attachment: MemberAttachment) -> None:
    _editable(actor, attachment.member)
    name, storage = attachment.file.name, attachment.file.storage
    attachment.delete()
    transaction.on_commit(lambda: storage.delete(name))


@transaction.atomic
def family_member_add(*, agency, actor: User, member: Member, **fields) -> FamilyMember:
    member = _editable(actor, member)
    family_member = FamilyMember(agency=agency, member=member, **fields)
    family_member.full_clean()
    family_member.save()
    return family_member


@transaction.atomic
def family_member_delete(*, agency, actor: User, member: Member, family_id: int) -> None:
    member = _editable(actor, member)
    FamilyMember.objects.filter(member=member, pk=family_id).delete()


@transaction.atomic
def tag_create(*, agency, actor: User, name: str, kind: str) -> Tag:
    if not actor.has_perm("matchmakers.edit_settings"):
        raise PermissionDenied(_("Your role does not allow changing the tag library."))
    tag = Tag(agency=agency, name=name.strip(), kind=kind)
    try:
        tag.full_clean()
    except ValidationError as error:
        if "__all__" in error.message_dict:
            raise ValidationError({"name": _("The tag “%(name)s” already exists.") % {"name": tag.name}}) from None
        raise
    tag.save()
    return tag


@transaction.atomic
def tag_delete(*, agency, actor: User, tag: Tag) -> None:
    """Remove a tag from the library and from every member and preference that carries it."""
    if not actor.has_perm("matchmakers.edit_settings"):
        raise PermissionDenied(_("Your role does not allow changing the tag library."))
    Member.objects.filter(tag_ids__contains=[tag.pk]).update(tag_ids=ArrayRemove("tag_ids", tag.pk))
    PartnerPreference.objects.filter(must_tag_ids__contains=[tag.pk]).update(
        must_tag_ids=ArrayRemove("must_tag_ids", tag.pk)
    )
    PartnerPreference.objects.filter(nice_tag_ids__contains=[tag.pk]).update(
        nice_tag_ids=ArrayRemove("nice_tag_ids", tag.pk)
    )
    tag.delete()


class ArrayRemove(Func):
    function = "array_remove"
    arity = 2

    def __init__(self, field: str, value: int):
        super().__init__(F(field), Value(value))


DEFAULT_TAGS = {
    "hard": [
        gettext_lazy("Owns a home"),
        gettext_lazy("Owns a car"),
        gettext_lazy("Non-smoker"),
        gettext_lazy("Non-drinker"),
        gettext_lazy("Civil servant"),
    ],
    "interests": [
        gettext_lazy("Travel"),
        gettext_lazy("Sports"),
        gettext_lazy("Reading"),
        gettext_lazy("Music"),
        gettext_lazy("Food"),
        gettext_lazy("Films"),
    ],
    "values": [gettext_lazy("Family first"), gettext_lazy("Devoted to parents"), gettext_lazy("Ambitious")],
    "personality": [gettext_lazy("Outgoing"), gettext_lazy("Gentle"), gettext_lazy("Steady")],
    "lifestyle": [gettext_lazy("Regular hours"), gettext_lazy("Loves pets"), gettext_lazy("Homebody")],
}


@transaction.atomic
def tags_create_defaults(*, agency) -> None:
    """A starting tag library for a new agency; does nothing when it already has tags."""
    if Tag.unscoped.filter(agency=agency).exists():
        return
    with translation.override("zh-hans"):  # tags are agency data, written in its language
        Tag.unscoped.bulk_create(
            Tag(agency=agency, name=str(name), kind=kind, position=position)
            for kind, names in DEFAULT_TAGS.items()
            for position, name in enumerate(names)
        )
