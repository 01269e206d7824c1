import factory
from django.contrib.auth.models import Permission

from apps.matchmakers.models import User
from tests.agencies.factories import AgencyFactory

PASSWORD = "Correct-Horse-42"


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
        """perms=["agencies.change_sitesettings", …] grants module permissions to the user."""
        for perm in extracted or []:
            app_label, codename = perm.split(".")
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


class PlatformOperatorFactory(UserFactory):
    agency = None
    is_staff = True
    is_superuser = True
    username = factory.Sequence(lambda n: f"operator{n}")
