from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import utcnow
from ..extensions import db
from ..titles import register
from .contacts import Organization
from .shows import Show


class Role(enum.StrEnum):
    admin = "admin"
    organizer = "organizer"              # organizer staff
    account_manager = "account_manager"  # sales
    service_agent = "service_agent"      # service centre
    desk = "desk"                        # registration desk
    exhibitor = "exhibitor"              # portal, own organization only
    supplier = "supplier"                # portal, own orders only

    @property
    def title(self):
        return ROLE_TITLES[self.value]

    @property
    def is_portal(self) -> bool:
        return self in (Role.exhibitor, Role.supplier)


ROLE_TITLES = {
    "admin": _l("Administrator"), "organizer": _l("Organizer staff"),
    "account_manager": _l("Account manager"), "service_agent": _l("Service agent"),
    "desk": _l("Registration desk"), "exhibitor": _l("Exhibitor (portal)"),
    "supplier": _l("Supplier (portal)"),
}
register("user.role", ROLE_TITLES)
TOKEN_STATE_TITLES = register("token.state", {"active": _l("Active"), "revoked": _l("No longer valid"),
                                              "expired": _l("Expired")})
ROLE_VALUES = tuple(r.value for r in Role)
STAFF_ROLES = ("admin", "organizer", "account_manager", "service_agent", "desk")
_ROLES_SQL = ",".join(f"'{r}'" for r in ROLE_VALUES)

# argon2id at OWASP's recommended strength (m=64 MiB ≥ 19 MiB, t=3, p=4).
_hasher = PasswordHasher()
# Tests may ask for a cheaper hash (TESTING + PASSWORD_HASH_FAST); production never does.
_fast_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def password_hasher() -> PasswordHasher:
    try:
        if current_app.config.get("TESTING") and current_app.config.get("PASSWORD_HASH_FAST"):
            return _fast_hasher
    except RuntimeError:
        pass
    return _hasher


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN ({_ROLES_SQL})", name="role"),
        # Portal users belong to exactly one organization; staff to none.
        CheckConstraint("(role IN ('exhibitor','supplier')) = (organization_id IS NOT NULL)",
                        name="portal_org"),
        CheckConstraint("locale IN ('', 'zh', 'en')", name="locale"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)   # stored lower case
    name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="")
    active: Mapped[bool] = mapped_column(default=True)
    # Rotated on logout, password change and disabling, so every old session cookie dies.
    session_token: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    organization: Mapped[Organization | None] = relationship()

    # Flask-Login protocol
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def rotate_session(self) -> None:
        self.session_token = secrets.token_hex(16)

    def set_password(self, password: str) -> None:
        self.password_hash = password_hasher().hash(password)
        self.rotate_session()

    def check_password(self, password: str) -> bool:
        try:
            return password_hasher().verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def role_title(self):
        return ROLE_TITLES[self.role]

    def __repr__(self):
        return f"<User {self.email} {self.role}>"


class ApiToken(db.Model):
    """A bearer token for scripts and desk devices, scoped to one show and one role.
    Only a SHA-256 of the token is stored: tokens are 256-bit random, so a slow hash adds
    nothing, and the check-in hot path must stay fast."""
    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(f"role IN ({_ROLES_SQL})", name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))   # shown in lists to tell tokens apart
    name: Mapped[str] = mapped_column(String(100), default="")
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    show: Mapped[Show] = relationship()

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def new(cls, **fields) -> tuple[ApiToken, str]:
        token = "ce_" + secrets.token_urlsafe(32)
        return cls(token_hash=cls.hash(token), prefix=token[:10], **fields), token

    def state(self, now: dt.datetime | None = None) -> str:
        now = now or utcnow()
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= now:
            return "expired"
        return "active"


class LoginFailure(db.Model):
    """One failed login. Counted per account and per address over a window; kept in the
    database so that the limit holds across every server process."""
    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_email_at", "email", "at"),
                      Index("ix_login_failures_address_at", "address", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
