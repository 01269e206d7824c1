"""State changes of the role tree, role permissions and staff accounts (F-B1, F-B2, F-B4).

Every service takes the agency and the acting user explicitly and checks what the actor may do:
roles and staff are managed strictly below the actor's own role, and nobody grants a permission
they do not hold themselves.
"""

import uuid

from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from apps.core.tasks import schedule_image_reencode

from .models import Role, StaffHandover, User
from .ownership import owned_models
from .permissions import DEFAULT_ROLES, all_codenames
from .selectors import roles_as_parent, roles_assignable, roles_below, staff_below

ROLE_TREE_LOCK = 7301  # advisory-lock class id for role-tree writes


def _lock_role_tree(agency_id: int) -> None:
    """Serialise writes to one agency's tree; agency 0 serialises new trees (mptt numbers them globally)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROLE_TREE_LOCK, agency_id])


def _module_permissions(codenames) -> list[Permission]:
    return list(Permission.objects.filter(content_type__app_label="matchmakers", codename__in=list(codenames)))


def role_permission_names(role: Role) -> set[str]:
    """The role's permissions as "matchmakers.<codename>" names, cached until they change."""
    key = f"matchmakers:role-perms:{role.permissions_token}"
    names = cache.get(key)
    if names is None:
        codenames = role.group.permissions.values_list("content_type__app_label", "codename")
        names = {f"{app}.{codename}" for app, codename in codenames}
        cache.set(key, names, timeout=24 * 3600)
    return set(names)


def _new_group(agency, name: str) -> Group:
    # Group names are global in Django and only identify the role's permission set.
    return Group.objects.create(name=f"agency-{agency.pk}-role-{uuid.uuid4().hex}")


def _set_role_permissions(role: Role, codenames) -> None:
    role.group.permissions.set(_module_permissions(codenames))
    role.permissions_token = uuid.uuid4()
    Role.unscoped.filter(pk=role.pk).update(permissions_token=role.permissions_token)


def _clean_role(role: Role) -> None:
    try:
        role.full_clean(exclude=["group", "lft", "rght", "tree_id", "level"])
    except ValidationError as error:
        if "__all__" in error.message_dict or "name" in error.message_dict:
            raise ValidationError(
                {"name": _("A role named “%(name)s” already exists under this parent.") % {"name": role.name}}
            ) from None
        raise


@transaction.atomic
def roles_create_defaults(*, agency) -> None:
    """Give a new agency its starting tree; does nothing when the agency already has roles."""
    if Role.unscoped.filter(agency=agency).exists():
        return
    _lock_role_tree(0)
    created: dict[str, Role] = {}
    with translation.override("zh-hans"):  # role names are agency data, written in its language
        for spec in DEFAULT_ROLES:
            parent = created.get(spec["parent"])
            role = Role(agency=agency, name=str(spec["name"]), parent=parent, group=_new_group(agency, spec["key"]))
            role.save()
            codenames = all_codenames() if spec["permissions"] == "all" else spec["permissions"]
            _set_role_permissions(role, codenames)
            created[spec["key"]] = role


def _require(actor: User, permission: str) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied(_("Your role does not allow this."))


@transaction.atomic
def role_create(*, agency, actor: User, name: str, parent: Role, description: str = "") -> Role:
    _require(actor, "matchmakers.add_staff")
    _lock_role_tree(agency.pk)
    if not roles_as_parent(user=actor).filter(pk=parent.pk).exists():
        raise PermissionDenied(_("You can only create roles under your own role or a role below it."))
    role = Role(agency=agency, name=name.strip(), parent=parent, description=description)
    _clean_role(role)
    role.group = _new_group(agency, name)
    role.save()
    _set_role_permissions(role, [])
    return role


def _managed_role(actor: User, role: Role) -> Role:
    """Re-read the role under the lock, refusing roles that are not strictly below the actor's."""
    managed = roles_below(user=actor).filter(pk=role.pk).first()
    if managed is None:
        raise PermissionDenied(_("You can only change roles below your own."))
    return managed


@transaction.atomic
def role_update(*, agency, actor: User, role: Role, name: str, parent: Role, description: str = "") -> Role:
    """Rename and/or move a role (and its whole branch) under another parent."""
    _require(actor, "matchmakers.edit_staff")
    _lock_role_tree(agency.pk)
    role = _managed_role(actor, role)
    if not roles_as_parent(user=actor).filter(pk=parent.pk).exists():
        raise PermissionDenied(_("You can only move roles under your own role or a role below it."))
    parent = Role.objects.get(pk=parent.pk)
    if parent.pk == role.pk or parent.is_descendant_of(role):
        raise ValidationError({"parent": _("A role cannot be moved under itself or one of its own sub-roles.")})
    role.name = name.strip()
    role.description = description
    role.parent = parent
    _clean_role(role)
    role.save()  # django-mptt moves the whole branch when the parent changes
    return role


@transaction.atomic
def role_delete(*, agency, actor: User, role: Role) -> None:
    _require(actor, "matchmakers.delete_staff")
    _lock_role_tree(agency.pk)
    role = _managed_role(actor, role)
    if role.get_children().exists():
        raise ValidationError(_("“%(role)s” still has sub-roles. Move or delete them first.") % {"role": role.name})
    holders = User.objects.filter(role=role).count()
    if holders:
        raise ValidationError(
            _("%(count)d staff member(s) still hold “%(role)s”. Give them another role first.")
            % {"count": holders, "role": role.name}
        )
    group = role.group
    role.delete()
    group.delete()


@transaction.atomic
def role_set_permissions(*, agency, actor: User, role: Role, codenames) -> Role:
    """Replace the role's module permissions; the actor can only hand out permissions they hold."""
    _require(actor, "matchmakers.edit_staff")
    _lock_role_tree(agency.pk)
    role = _managed_role(actor, role)
    codenames = set(codenames)
    unknown = codenames - set(all_codenames())
    if unknown:
        raise ValidationError(_("Unknown permissions: %(names)s") % {"names": ", ".join(sorted(unknown))})
    current = set(role.group.permissions.values_list("codename", flat=True))
    # Only what changes needs the actor's own permission: a role may keep one its manager lacks.
    beyond = {name for name in codenames ^ current if not actor.has_perm(f"matchmakers.{name}")}
    if beyond:
        raise PermissionDenied(_("You cannot grant permissions you do not have yourself."))
    _set_role_permissions(role, codenames)
    return role


# --- staff ------------------------------------------------------------------------------------------


def _check_assignable(actor: User, role: Role) -> None:
    if not roles_assignable(user=actor).filter(pk=role.pk).exists():
        raise PermissionDenied(_("You cannot give a role above or beside your own."))
    _check_not_beyond_actor(actor, role)


def _check_not_beyond_actor(actor: User, role: Role | None) -> None:
    """Putting someone in a role (or controlling their account) must not grant what the actor lacks."""
    if role is None or (actor.role_id is not None and actor.role.parent_id is None):
        return  # the agency admin holds every permission
    if not role_permission_names(role) <= actor.get_all_permissions():
        raise PermissionDenied(_("That role holds permissions you do not have yourself."))


PROFILE_FIELDS = (
    "name", "phone", "email", "wechat", "qq", "seniority_years", "bio", "motto", "avatar", "show_in_showcase",
)  # fmt: skip


def _apply_profile(user: User, profile: dict) -> None:
    for field in PROFILE_FIELDS:
        if field in profile:
            value = profile[field]
            if field == "avatar" and value is False:  # the form's "clear" checkbox
                value = ""
            setattr(user, field, value)


@transaction.atomic
def staff_create(*, agency, actor: User, username: str, password: str, role: Role, **profile) -> User:
    _require(actor, "matchmakers.add_staff")
    _check_assignable(actor, role)
    user = User(agency=agency, username=username.strip(), role=role)
    _apply_profile(user, profile)
    validate_password(password, user)
    user.set_password(password)
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as error:
        if "__all__" in error.message_dict:  # the (agency, username) unique constraint
            raise ValidationError(
                {"username": _("The account “%(username)s” already exists.") % {"username": username}}
            ) from None
        raise
    user.save()
    if user.avatar:
        schedule_image_reencode(user, "avatar")
    return user


def _managed_user(actor: User, user: User) -> User:
    managed = staff_below(user=actor).filter(pk=user.pk).first()
    if managed is None:
        raise PermissionDenied(_("You can only manage staff below your own role."))
    return managed


@transaction.atomic
def staff_update(*, agency, actor: User, user: User, role: Role | None = None, **profile) -> User:
    """Edit a matchmaker's profile and role. The account name never changes (F-B4)."""
    if user.pk == actor.pk:
        target = actor  # everyone edits their own profile, but not their own role
        if role is not None and role.pk != actor.role_id:
            raise PermissionDenied(_("You cannot change your own role."))
    else:
        _require(actor, "matchmakers.edit_staff")
        target = _managed_user(actor, user)
        if role is not None:
            _check_assignable(actor, role)
            target.role = role
    # Read from the database: a bound form has already put the new upload on the instance.
    avatar_before = User.objects.filter(pk=target.pk).values_list("avatar", flat=True).first() or ""
    _apply_profile(target, profile)
    target.full_clean(exclude=["password"])
    target.save()
    if target.avatar and target.avatar.name != avatar_before:
        schedule_image_reencode(target, "avatar")  # the photo is public on the showcase
    return target


@transaction.atomic
def staff_set_password(*, agency, actor: User, user: User, password: str) -> User:
    _require(actor, "matchmakers.edit_staff")
    target = _managed_user(actor, user)
    _check_not_beyond_actor(actor, target.role)  # else a new password would hand the actor that account
    validate_password(password, target)
    target.set_password(password)
    target.save(update_fields=["password"])
    return target


def staff_owned_record_counts(*, user: User) -> dict[str, int]:
    """How many records of each owned model the user owns, by model verbose name."""
    counts = {}
    for entry in owned_models():
        condition = Q()
        for field in entry.owner_fields:
            condition |= Q(**{field: user})
        counts[str(entry.model._meta.verbose_name_plural)] = entry.model.unscoped.filter(condition).count()
    return counts


@transaction.atomic
def staff_handover(*, agency, actor: User, from_user: User, to_user: User, reason: str = "") -> StaffHandover:
    """Give every record `from_user` owns to `to_user` in one step, and record it (F-B4)."""
    _require(actor, "matchmakers.edit_staff")
    from_user = _managed_user(actor, from_user)
    if to_user.pk != actor.pk:
        to_user = _managed_user(actor, to_user)
    if to_user.pk == from_user.pk:
        raise ValidationError({"to_user": _("Choose someone other than the person leaving.")})
    if not to_user.is_active:
        raise ValidationError(
            {"to_user": _("%(name)s is deactivated and cannot take over records.") % {"name": to_user}}
        )
    counts = {}
    for entry in owned_models():
        owned = Q()
        for field in entry.owner_fields:
            owned |= Q(**{field: from_user})
        counts[entry.model._meta.label_lower] = entry.model.unscoped.filter(owned, agency=agency).count()
        for field in entry.owner_fields:
            entry.model.unscoped.filter(agency=agency, **{field: from_user}).update(**{field: to_user})
    return StaffHandover.objects.create(
        agency=agency, from_user=from_user, to_user=to_user, handed_over_by=actor, reason=reason, counts=counts
    )


@transaction.atomic
def staff_set_active(
    *, agency, actor: User, user: User, active: bool, hand_over_to: User | None = None, reason: str = ""
) -> User:
    """Activate or deactivate an account; deactivating someone who still owns records needs a successor."""
    _require(actor, "matchmakers.edit_staff")
    target = _managed_user(actor, user)
    if not active:
        if hand_over_to is not None:
            staff_handover(agency=agency, actor=actor, from_user=target, to_user=hand_over_to, reason=reason)
        remaining = sum(staff_owned_record_counts(user=target).values())
        if remaining:
            raise ValidationError(
                {
                    "hand_over_to": _("%(name)s still owns %(count)d record(s). Choose who takes them over.")
                    % {"name": target, "count": remaining}
                }
            )
    target.is_active = active
    target.save(update_fields=["is_active"])
    return target
