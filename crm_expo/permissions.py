"""Named permissions: what a role may do, in one table.

Views ask for a permission (``@require("booths.sell")``), never for roles, so that who may
do what is read and changed here alone. A name that is not in the table fails at import
(the decorator checks it), so a typo cannot leave a page open or shut by accident.
"""
from __future__ import annotations

from .models.users import ROLE_VALUES

ADMIN = ("admin",)
ORGANIZERS = ("admin", "organizer")

# permission name → the roles that hold it. The names are "<area>.<action>"; the area is a
# plugin's name or a core part (admin, organizations).
PERMISSIONS: dict[str, tuple[str, ...]] = {
    # core
    "admin.shows": ORGANIZERS,
    "admin.settings": ORGANIZERS,
    "admin.users": ADMIN,
    "admin.tokens": ADMIN,
    "admin.audit": ADMIN,
    "mail.outbox": ORGANIZERS,
    "privacy.manage": ORGANIZERS,             # a person's data: export it, erase it (PIPL, GDPR)                # the outbox's status counts
    "organizations.view": ("admin", "organizer", "account_manager", "service_agent"),
    "organizations.merge": ORGANIZERS,
    # exhibitors
    "exhibitors.view": ("admin", "organizer", "account_manager", "service_agent"),
    "exhibitors.edit": ("admin", "organizer", "account_manager"),
    "exhibitors.review": ORGANIZERS,          # status, documents, categories, import
    "exhibitors.portal": ("exhibitor",),      # its own company's record
    # the JSON API's readers include the desk (badges for exhibitor staff) and the portal
    "exhibitors.read": ("admin", "organizer", "account_manager", "service_agent", "desk", "exhibitor"),
    # visitors
    "visitors.view": ("admin", "organizer", "account_manager", "service_agent", "desk"),
    "visitors.edit": ("admin", "organizer", "desk"),   # register, edit, badge, cancel; sees badge codes
    "visitors.verify": ORGANIZERS,
    "visitors.manage": ORGANIZERS,            # admission rules, questions, import, export
    # booths
    "booths.view": ("admin", "organizer", "account_manager"),
    "booths.sell": ("admin", "organizer", "account_manager"),
    "booths.layout": ORGANIZERS,              # block, split, merge, waiting-list rules
    "booths.prices": ORGANIZERS,              # price list and price deviations
    "booths.portal": ("exhibitor",),          # book and see its own bookings
    # onsite
    "onsite.view": ("admin", "organizer", "service_agent", "desk"),
    "onsite.desk": ("admin", "organizer", "desk"),
    "onsite.service": ("admin", "organizer", "service_agent", "desk"),
    "onsite.recurring": ("admin", "organizer", "service_agent"),
    "onsite.manage": ORGANIZERS,              # badge layout, attendance, lead counts
    "onsite.portal": ("exhibitor",),          # suggestions, complaints, leads
    "onsite.supplier": ("supplier",),         # service requests routed to the supplier
    # suppliers
    "suppliers.view": ("admin", "organizer", "account_manager", "service_agent"),
    "suppliers.edit": ORGANIZERS,
    "suppliers.orders": ("admin", "organizer", "account_manager", "service_agent"),
    "suppliers.portal": ("supplier",),        # its catalogue and the orders routed to it
    "suppliers.order": ("exhibitor",),        # an exhibitor orders services
    # loyalty
    "loyalty.view": ("admin", "organizer", "account_manager"),
    "loyalty.manage": ORGANIZERS,             # import history, recompute the models
}

_unknown_roles = {role for roles in PERMISSIONS.values() for role in roles} - set(ROLE_VALUES)
assert not _unknown_roles, f"permissions name unknown roles: {sorted(_unknown_roles)}"


def declare(name: str, roles: tuple[str, ...]) -> None:
    """Add a permission for a plugin that lives outside this repository (call it before the
    views that use it are defined). Names and roles are checked; a name is declared once."""
    unknown = set(roles) - set(ROLE_VALUES)
    if unknown:
        raise ValueError(f"permission {name}: unknown roles {sorted(unknown)}")
    if PERMISSIONS.get(name, tuple(roles)) != tuple(roles):
        raise ValueError(f"permission {name} is already declared with other roles")
    PERMISSIONS[name] = tuple(roles)


class UnknownPermission(ValueError):
    """A view or nav item names a permission that is not in :data:`PERMISSIONS`."""


def check(*names: str) -> tuple[str, ...]:
    """The names, if every one is known; raises :class:`UnknownPermission` otherwise."""
    unknown = [n for n in names if n not in PERMISSIONS]
    if unknown:
        raise UnknownPermission(f"unknown permissions {unknown} (see crm_expo/permissions.py)")
    return names


def roles_for(*names: str) -> tuple[str, ...]:
    """The roles holding any of these permissions, in the order of ROLE_VALUES."""
    check(*names)
    held = {role for n in names for role in PERMISSIONS[n]}
    return tuple(r for r in ROLE_VALUES if r in held)


def role_may(role: str | None, *names: str) -> bool:
    """Does ``role`` hold one of these permissions?"""
    check(*names)
    return role is not None and any(role in PERMISSIONS[n] for n in names)


def can(*names: str) -> bool:
    """Does the signed-in user hold one of these permissions? (Also in templates.)"""
    from flask_login import current_user
    return current_user.is_authenticated and role_may(current_user.role, *names)
