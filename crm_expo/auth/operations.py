"""Sign-in rules: passwords, throttling of failed logins (per account and per address,
stored in the database so the limit holds across every server process), audit."""
from __future__ import annotations

import datetime as dt
import secrets

from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select

from ..contacts.normalise import email_lookup_key
from ..database import transaction, utcnow
from ..errors import DomainError
from ..extensions import db
from ..models import LoginFailure, User, audit
from ..models.users import password_hasher


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


_stand_in_hashes: dict[int, str] = {}


def _check_stand_in(password: str) -> bool:
    """As long as User.check_password takes, and always False."""
    hasher = password_hasher()
    stand_in = _stand_in_hashes.get(id(hasher))
    if stand_in is None:
        stand_in = _stand_in_hashes[id(hasher)] = hasher.hash(secrets.token_hex(16))
    try:
        return hasher.verify(stand_in, password) and False
    except (VerificationError, InvalidHashError):
        return False


def authenticate(email: str, password: str, address: str) -> User | None:
    """The active user with these credentials, or None. Raises LoginLocked while the
    account or the address is locked out. Every outcome is audited."""
    email = email_lookup_key(email)
    if is_locked(email, address):
        with transaction():     # the refusal is audited
            audit("login.locked", actor=email or "?", object_type="User")
        raise LoginLocked(current_app.config["LOGIN_LOCK_MINUTES"])
    with transaction():
        user = db.session.scalar(select(User).where(User.email == email))
        # One hash check on every path (a stand-in for an unknown account), so the time of the
        # answer does not tell which emails have an account or which accounts are disabled.
        right = user.check_password(password) if user is not None else _check_stand_in(password)
        if user is None or not right or not user.active:
            db.session.add(LoginFailure(email=email, address=address))
            audit("login.failed", user=None, actor=email or "?", object_type="User",
                  object_id=user.id if user else "",
                  after={"reason": "disabled" if user is not None and right else "credentials"})
            return None
        user.last_login_at = utcnow()
        db.session.execute(delete(LoginFailure).where(or_(LoginFailure.email == email)))
        audit("login", user, user=user)
    return user


def logout(user: User) -> None:
    with transaction():
        user.rotate_session()
        audit("logout", user, user=user)
