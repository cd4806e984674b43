"""Sign-in rules: passwords, throttling of failed logins (per account and per address,
stored in the database so the limit holds across every server process), audit."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select

from ..database import transaction, utcnow
from ..errors import DomainError
from ..extensions import db
from ..models import LoginFailure, User, audit


class LoginLocked(DomainError):
    """Too many failed sign-ins for the account or the address: locked for ``minutes``."""

    code, status = "login_locked", 429

    def __init__(self, minutes: int):
        super().__init__(_("Too many failed sign-ins. Try again in %(minutes)d minutes.", minutes=minutes))
        self.minutes = minutes


def _window_start() -> dt.datetime:
    return utcnow() - dt.timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])


def is_locked(email: str, address: str) -> bool:
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    since = _window_start()
    by_email = db.session.scalar(select(func.count()).where(LoginFailure.email == email, LoginFailure.at >= since))
    if by_email >= limit:
        return True
    # An address gets more room than an account (a venue's desks share one NAT address).
    by_address = db.session.scalar(select(func.count()).where(LoginFailure.address == address,
                                                              LoginFailure.at >= since))
    return by_address >= limit * 4


def authenticate(email: str, password: str, address: str) -> User | None:
    """The active user with these credentials, or None. Raises LoginLocked while the
    account or the address is locked out. Every outcome is audited."""
    email = (email or "").strip().lower()
    if is_locked(email, address):
        with transaction():     # the refusal is audited
            audit("login.locked", actor=email or "?", object_type="User")
        raise LoginLocked(current_app.config["LOGIN_LOCK_MINUTES"])
    with transaction():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None or not user.check_password(password) or not user.active:
            db.session.add(LoginFailure(email=email, address=address))
            audit("login.failed", user=None, actor=email or "?", object_type="User",
                  object_id=user.id if user else "", after={"reason": "disabled" if user and user.active is False
                                                             and user.check_password(password) else "credentials"})
            return None
        user.last_login_at = utcnow()
        db.session.execute(delete(LoginFailure).where(or_(LoginFailure.email == email)))
        audit("login", user, user=user)
    return user


def logout(user: User) -> None:
    with transaction():
        user.rotate_session()
        audit("logout", user, user=user)
