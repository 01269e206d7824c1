import factory

from apps.agencies.models import Agency, AgencyDomain
from apps.agencies.services import agency_setup


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ["slug"]
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"agency{n:03d}")
    name = factory.Sequence(lambda n: f"红娘之家 {n}")

    @factory.post_generation
    def setup(agency, create, extracted, **kwargs):
        if create:
            agency_setup(agency=agency)


class AgencyDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgencyDomain

    agency = factory.SubFactory(AgencyFactory)
    host = factory.Sequence(lambda n: f"crm{n}.example.com")
