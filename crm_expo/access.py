"""Access rules. Every view declares who may use it with exactly one of these decorators;
``tests/test_access.py`` walks ``app.url_map`` and fails on a route without a rule.

- ``@public``                     anyone, signed in or not (login page, public registration)
- ``@require()``                  any signed-in, active user
- ``@require("booths.sell", …)``  signed-in users holding one of these permissions
                                  (names and their roles: crm_expo/permissions.py)
- ``@api_require(...)``           JSON API: a valid bearer token (or a signed-in session)
                                  holding one of these permissions, scoped to the show in the
                                  URL (see crm_expo.api)

A view's rule is kept as ``view._access = (kind, roles)`` with the permissions resolved to
roles, and the permissions themselves as ``view._permissions``.
"""
from __future__ import annotations

import functools

from flask import abort, request
from flask_login import current_user

from .permissions import roles_for


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None: the one test of
    whether a call is a script's or a desk device's (no session, no CSRF)."""
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


def _mark(view, rule: str, roles: tuple[str, ...], permissions: tuple[str, ...] = ()):
    view._access = (rule, roles)
    view._permissions = permissions
    return view


def public(view):
    return _mark(view, "public", ())


def require(*permissions: str):
    """Signed-in users holding one of ``permissions`` (none named: every signed-in user).
    An unknown name raises UnknownPermission when the view is defined."""
    roles = roles_for(*permissions) if permissions else ()

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from .extensions import login_manager
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return _mark(wrapped, "login", roles, permissions)
    return decorator


def access_rule(view) -> tuple[str, tuple[str, ...]] | None:
    return getattr(view, "_access", None)


def is_api_request() -> bool:
    return request.path.startswith("/api/")
