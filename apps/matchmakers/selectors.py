"""Reads about staff and roles, and the record-visibility rule every owned model uses (F-B3).

Visibility: a user sees records they own, records owned by users whose role is a strict descendant
of their role (not their superiors', not peers' with the same role, not a sibling branch's), and
records shared with them one by one. It is one SQL statement over the MPTT lft/rght range of the
user's role, whatever the depth of the tree; nothing is filtered in Python.
"""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from .models import Role, User


def _role_range(user: User) -> Q:
    """Users whose role lies strictly inside `user`'s role range (same tree, lft/rght inside)."""
    mine = Role.unscoped.filter(pk=user.role_id)
    return Q(
        role__tree_id=Subquery(mine.values("tree_id")[:1]),
        role__lft__gt=Subquery(mine.values("lft")[:1]),
        role__rght__lt=Subquery(mine.values("rght")[:1]),
    )


def staff_below(*, user: User) -> QuerySet[User]:
    """Staff whose role is a strict descendant of the user's role: the people the user manages."""
    if user.role_id is None:
        return User.objects.none()
    return User.objects.filter(_role_range(user), agency_id=user.agency_id)


def owner_ids_visible_to(user: User) -> QuerySet:
    """ids of the users whose records `user` may see: the user and everyone below their role."""
    condition = Q(pk=user.pk)
    if user.role_id is not None:
        condition |= _role_range(user)
    return User.objects.filter(condition, agency_id=user.agency_id).values("pk")


def visible_to(queryset: QuerySet, *, user: User, owner_fields: tuple[str, ...], share_model=None) -> QuerySet:
    """Narrow `queryset` to the records `user` may see (F-B3). The one visibility rule of the product.

    owner_fields: the model's foreign keys to the owning staff (a member has a presale owner and an
    after-sale owner; either makes it visible). share_model: the model's django-guardian direct
    foreign-key table of one-by-one shares.
    """
    owners = owner_ids_visible_to(user)
    condition = Q()
    for field in owner_fields:
        condition |= Q(**{f"{field}__in": owners})
    if share_model is not None:
        condition |= Exists(share_model.unscoped.filter(user_id=user.pk, content_object_id=OuterRef("pk")))
    return queryset.filter(condition)


def role_tree(*, agency) -> QuerySet[Role]:
    """The whole role tree of the agency in display order, with the number of users per role."""
    return Role.objects.filter(agency=agency).annotate(user_count=Count("users")).order_by("tree_id", "lft")


def roles_below(*, user: User) -> QuerySet[Role]:
    """Roles strictly below the user's role: the ones the user may rename, move, delete and configure."""
    if user.role_id is None:
        return Role.objects.none()
    mine = Role.unscoped.filter(pk=user.role_id)
    return Role.objects.filter(
        tree_id=Subquery(mine.values("tree_id")[:1]),
        lft__gt=Subquery(mine.values("lft")[:1]),
        rght__lt=Subquery(mine.values("rght")[:1]),
    ).order_by("lft")


def roles_assignable(*, user: User) -> QuerySet[Role]:
    """Roles the user may give to staff: those below their own; the agency admin may also appoint admins."""
    below = roles_below(user=user)
    if user.role_id is not None and user.role.parent_id is None:
        return (below | Role.objects.filter(pk=user.role_id)).order_by("lft")
    return below


def roles_as_parent(*, user: User) -> QuerySet[Role]:
    """Where the user may create or move roles to: under their own role or any role below it."""
    if user.role_id is None:
        return Role.objects.none()
    return (roles_below(user=user) | Role.objects.filter(pk=user.role_id)).order_by("lft")


def staff_list(*, user: User) -> QuerySet[User]:
    """The team page: the user and the staff below them, with their roles."""
    condition = Q(pk=user.pk)
    if user.role_id is not None:
        condition |= _role_range(user)
    return (
        User.objects.filter(condition, agency_id=user.agency_id)
        .select_related("role")
        .order_by("role__lft", "username")
    )


def showcase_list(*, agency) -> QuerySet[User]:
    """Matchmakers the agency publishes on its public site (F-B5)."""
    return User.objects.filter(agency=agency, is_active=True, show_in_showcase=True).order_by(
        "-seniority_years", "name"
    )
