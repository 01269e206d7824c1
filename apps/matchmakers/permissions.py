"""The module × action permission matrix of F-B2, and the default roles of a new agency.

Every permission is a Django permission of the `matchmakers` app (on the table-less
`ModulePermission` model), so views and templates ask `user.has_perm("matchmakers.view_members")`
or `perms.matchmakers.view_members`. Roles hold them; users get them through their role.
"""

from django.utils.translation import gettext_lazy as _

ACTIONS = {
    "view": _("View"),
    "add": _("Add"),
    "edit": _("Edit"),
    "delete": _("Delete"),
    "audit": _("Audit"),
}

# module -> (label, actions that make sense for it)
MODULES = {
    "members": (_("Members"), ["view", "add", "edit", "delete", "audit"]),
    "followups": (_("Follow-ups"), ["view", "add", "edit", "delete"]),
    "assignment": (_("Assignment"), ["view", "edit"]),
    "contracts": (_("Contracts"), ["view", "add", "edit", "delete", "audit"]),
    "payments": (_("Payments"), ["view", "add", "edit", "delete", "audit"]),
    "refunds": (_("Refunds"), ["view", "add", "edit", "delete", "audit"]),
    "matches": (_("Matches"), ["view", "add", "edit", "delete"]),
    "appointments": (_("Appointments"), ["view", "add", "edit", "delete"]),
    "messages": (_("Messages"), ["view", "add", "delete"]),
    "stories": (_("Success stories"), ["view", "add", "edit", "delete", "audit"]),
    "reports": (_("Reports"), ["view"]),
    "settings": (_("Settings"), ["view", "edit"]),
    "staff": (_("Staff and roles"), ["view", "add", "edit", "delete"]),
}

SPECIAL = {
    "reveal_contact": _("Reveal contact details"),
    "assign_members": _("Assign members"),
    "export_data": _("Export"),
    "login_as_member": _("Log in as member"),
}


def codename(module: str, action: str) -> str:
    return f"{action}_{module}"


def perm(module: str, action: str) -> str:
    """The full permission name for `user.has_perm`, e.g. perm("members", "view")."""
    return f"matchmakers.{codename(module, action)}"


def all_codenames() -> list[str]:
    names = [codename(module, action) for module, (_label, actions) in MODULES.items() for action in actions]
    return names + list(SPECIAL)


def permission_choices() -> list[tuple[str, str]]:
    """(codename, human name) pairs for the ModulePermission model's Meta."""
    choices = [
        (codename(module, action), f"{action} {module}")
        for module, (_label, actions) in MODULES.items()
        for action in actions
    ]
    return choices + [(name, name.replace("_", " ")) for name in SPECIAL]


def _module(module, *actions):
    return [codename(module, action) for action in actions]


# The tree a new agency starts with (F-B1): admin → manager → presale, after-sale; finance under admin.
# Keys are stable identifiers; names are translated when the agency is created.
DEFAULT_ROLES = [
    {"key": "admin", "name": _("Agency admin"), "parent": None, "permissions": "all"},
    {
        "key": "manager",
        "name": _("Matchmaker manager"),
        "parent": "admin",
        "permissions": [
            *_module("members", "view", "add", "edit", "audit"),
            *_module("followups", "view", "add", "edit"),
            *_module("assignment", "view", "edit"),
            *_module("contracts", "view", "add", "edit"),
            *_module("payments", "view"),
            *_module("refunds", "view", "add"),
            *_module("matches", "view", "add", "edit"),
            *_module("appointments", "view", "add", "edit"),
            *_module("messages", "view", "add"),
            *_module("stories", "view", "add", "edit", "audit"),
            *_module("reports", "view"),
            *_module("staff", "view", "add", "edit"),
            "reveal_contact",
            "assign_members",
            "export_data",
            "login_as_member",
        ],
    },
    {
        "key": "presale",
        "name": _("Presale matchmaker"),
        "parent": "manager",
        "permissions": [
            *_module("members", "view", "add", "edit"),
            *_module("followups", "view", "add", "edit"),
            *_module("contracts", "view", "add"),
            *_module("payments", "view"),
            *_module("messages", "view", "add"),
            "reveal_contact",
        ],
    },
    {
        "key": "aftersale",
        "name": _("After-sale matchmaker"),
        "parent": "manager",
        "permissions": [
            *_module("members", "view", "edit"),
            *_module("followups", "view", "add", "edit"),
            *_module("contracts", "view"),
            *_module("refunds", "view", "add"),
            *_module("matches", "view", "add", "edit"),
            *_module("appointments", "view", "add", "edit"),
            *_module("messages", "view", "add"),
            *_module("stories", "view", "add", "edit"),
            "reveal_contact",
            "login_as_member",
        ],
    },
    {
        "key": "finance",
        "name": _("Finance"),
        "parent": "admin",
        "permissions": [
            *_module("members", "view"),
            *_module("contracts", "view", "audit"),
            *_module("payments", "view", "add", "edit", "audit"),
            *_module("refunds", "view", "audit"),
            *_module("reports", "view"),
            "export_data",
        ],
    },
]
