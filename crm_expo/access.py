"""Access rules. Every view declares who may use it with exactly one of these decorators;
``tests/test_access.py`` walks ``app.url_map`` and fails on a route without a rule.

- ``@public``               anyone, signed in or not (login page, public registration)
- ``@require()``            any signed-in, active user
- ``@require("admin", …)``  signed-in users with one of these roles
- ``@api_require(...)``     JSON API: a valid bearer token (or a signed-in session) with one
                            of these roles, scoped to the show in the URL (see crm_expo.api)
"""
from __future__ import annotations

import functools

from flask import abort, request
from flask_login import current_user

from .models.users import ROLE_VALUES, STAFF_ROLES

STAFF = STAFF_ROLES
ORGANIZER = ("admin", "organizer")


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None: the one test of
    whether a call is a script's or a desk device's (no session, no CSRF)."""
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


def _mark(view, rule: str, roles: tuple[str, ...]):
    view._access = (rule, roles)
    return view


def public(view):
    return _mark(view, "public", ())


def require(*roles: str):
    unknown = set(roles) - set(ROLE_VALUES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from .extensions import login_manager
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return _mark(wrapped, "login", roles)
    return decorator


def access_rule(view) -> tuple[str, tuple[str, ...]] | None:
    return getattr(view, "_access", None)


def is_api_request() -> bool:
    return request.path.startswith("/api/")
