"""Which models have staff owners, so a leaving matchmaker's records can be handed over in one go.

Each app registers its owned models in its AppConfig.ready(): `register(Member, "presale_owner",
"aftersale_owner")`. The hand-over service and the staff page's record counts read this registry.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class OwnedModel:
    model: type
    owner_fields: tuple[str, ...]


_registry: list[OwnedModel] = []


def register(model, *owner_fields: str) -> None:
    if not any(entry.model is model for entry in _registry):
        _registry.append(OwnedModel(model, owner_fields))


def owned_models() -> list[OwnedModel]:
    return list(_registry)
