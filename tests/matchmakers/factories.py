import factory
from django.contrib.auth.models import Group

from apps.matchmakers.models import Role, User
from apps.matchmakers.services import _set_role_permissions
from tests.agencies.factories import AgencyFactory

PASSWORD = "Correct-Horse-42"


def root_role(agency) -> Role:
    return Role.unscoped.get(agency=agency, parent=None)


class RoleFactory(factory.django.DjangoModelFactory):
    """A role under the agency's root (or `parent`), holding the module permissions in `perms`."""

    class Meta:
        model = Role
        skip_postgeneration_save = True

    agency = factory.SubFactory(AgencyFactory)
    name = factory.Sequence(lambda n: f"角色{n}")
    parent = factory.LazyAttribute(lambda role: root_role(role.agency))
    group = factory.LazyFunction(lambda: Group.objects.create(name=f"test-role-{Group.objects.count()}-{id(object())}"))

    @factory.post_generation
    def perms(role, create, extracted, **kwargs):
        """perms=["matchmakers.view_members", …]"""
        if create and extracted:
            _set_role_permissions(role, [name.split(".", 1)[1] for name in extracted])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    agency = factory.SubFactory(AgencyFactory)
    username = factory.Sequence(lambda n: f"staff{n}")
    name = factory.Sequence(lambda n: f"红娘{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def perms(user, create, extracted, **kwargs):
        """perms=[…] puts the user in a role of their own that holds exactly these permissions."""
        if create and extracted is not None and user.role_id is None:
            user.role = RoleFactory(agency=user.agency, perms=extracted)
            user.save(update_fields=["role"])


class PlatformOperatorFactory(UserFactory):
    agency = None
    is_staff = True
    is_superuser = True
    username = factory.Sequence(lambda n: f"operator{n}")
