from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, mapped_column

from ..database import utcnow
from ..extensions import db
from ..titles import code_title, extend, register

# What the audit log's codes say to a reader. Plugins add theirs with titles.extend next to
# their models; the page shows the title (in the reader's language) and keeps the code in a
# tooltip for whoever filters by it.
extend("audit.action", {
    "login": _l("Signed in"), "login.failed": _l("Failed sign-in"), "login.locked": _l("Sign-in locked"),
    "logout": _l("Signed out"), "setting.set": _l("Setting changed"), "show.copy": _l("Show copied"),
    "show.create": _l("Show created"), "show.dates": _l("Show dates changed"),
    "show.status": _l("Show status changed"), "token.create": _l("API token created"),
    "token.revoke": _l("API token revoked"), "user.create": _l("User created"),
    "user.enable": _l("User enabled"), "user.disable": _l("User disabled"),
    "organization.merge": _l("Companies merged"), "person.merge": _l("People merged"),
    "series.create": _l("Show series created"), "show.series": _l("Show series changed"),
    "consent.withdraw": _l("Consent withdrawn"), "mail.bounce": _l("Mail bounced"),
    "privacy.erase": _l("Personal data erased"),
})
extend("audit.object", {
    "Show": _l("Show"), "User": _l("User"), "ApiToken": _l("API token"), "Setting": _l("Setting"),
    "Organization": _l("Company"), "Person": _l("Person"), "Consent": _l("Consent"),
    "ShowSeries": _l("Show series"), "OutboxMail": _l("Mail"),
})
ACTOR_TITLES = register("audit.actor", {"system": _l("System"), "cli": _l("Command line")})


# The fields of an object whose change the log spells out, each with its title and the code set
# its values belong to (None: shown as stored), e.g. {"status": (_l("Status"), "booths.booking")}.
_FIELDS: dict[str, dict[str, tuple]] = {}


def audit_fields(object_type: str, fields: dict[str, tuple]) -> None:
    _FIELDS.setdefault(object_type, {}).update(fields)


def audit_changes(entry: AuditEntry) -> list[tuple[str, str, str]]:
    """(field, before, after) of the fields registered for the entry's object, in the reader's
    language: "Status: Reserved → Confirmed". The stored JSON stays as it was written."""
    before, after = entry.before or {}, entry.after or {}
    out = []
    for key, (title, codes) in _FIELDS.get(entry.object_type, {}).items():
        if key not in before and key not in after:
            continue
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue

        def shown(value, codes=codes):
            if value is None or value == "":
                return ""
            return code_title(value, codes) if codes else str(value)
        out.append((str(title), shown(old), shown(new)))
    return out


def actor_title(actor: str) -> str:
    """The email of a user, "API token abcd1234" for a token, "System" for the machine."""
    if actor.startswith("api:"):
        return f"{_l('API token')} {actor[4:]}"
    return code_title(actor, "audit.actor")


class AuditEntry(db.Model):
    """Who did what, when (UTC), to which object, with the values before and after."""
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),
                      # one successor per link: the chain of money entries cannot fork
                      Index("uq_audit_entries_prev_hash", "prev_hash", unique=True,
                            sqlite_where=text("prev_hash IS NOT NULL"),
                            postgresql_where=text("prev_hash IS NOT NULL")))
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(200), default="")   # email, "api:<prefix>", "cli", "system"
    address: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64))               # e.g. "login", "booking.reserve"
    object_type: Mapped[str] = mapped_column(String(64), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    show_id: Mapped[int | None] = mapped_column(ForeignKey("shows.id", ondelete="SET NULL"), index=True)
    before: Mapped[dict | None] = mapped_column(JSON, default=None)
    after: Mapped[dict | None] = mapped_column(JSON, default=None)
    # Entries about money (CHAINED_ACTIONS) are hash-chained: each holds the hash of the one
    # before, so an entry changed or removed afterwards breaks the chain (crm-expo audit verify).
    prev_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    entry_hash: Mapped[str | None] = mapped_column(String(64), default=None)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def audit(action: str, obj: Any = None, *, before: dict | None = None, after: dict | None = None,
          user=None, actor: str | None = None, show_id: int | None = None,
          object_type: str | None = None, object_id: Any = None) -> AuditEntry:
    """Add an audit entry to the current transaction (it commits or rolls back with it).

    ``user``/``actor`` default to the signed-in user (or the API token, or "system")."""
    if user is None and has_request_context():
        user = current_user if getattr(current_user, "is_authenticated", False) else None
    if actor is None:
        if user is not None:
            actor = user.email
        elif has_request_context() and getattr(request, "api_token", None) is not None:
            actor = f"api:{request.api_token.prefix}"
        else:
            actor = "system"
    entry = AuditEntry(
        action=action,
        user_id=getattr(user, "id", None),
        actor=actor,
        address=(request.remote_addr or "") if has_request_context() else "",
        object_type=object_type or (type(obj).__name__ if obj is not None else ""),
        object_id=str(object_id if object_id is not None else getattr(obj, "id", "") or ""),
        show_id=show_id if show_id is not None else getattr(obj, "show_id", None),
        before=_jsonable(before), after=_jsonable(after),
    )
    if is_chained(action):
        _chain(entry)
    db.session.add(entry)
    return entry


# --- the hash chain of money entries ----------------------------------------------------------
# Prices, bookings, payments, discounts and erasures: what an auditor asks to see unaltered.
CHAINED_ACTIONS = ["booking.", "price_list.", "discount_rule.", "payment.", "privacy."]
GENESIS = "0" * 64
_CHAIN_LOCK = 0x63726d5f61756469      # PostgreSQL advisory lock: one writer extends the chain at a time


def chain_actions(*prefixes: str) -> None:
    """A plugin adds the audit actions (by prefix) that belong in the chain."""
    CHAINED_ACTIONS.extend(p for p in prefixes if p not in CHAINED_ACTIONS)


def is_chained(action: str) -> bool:
    return any(action.startswith(p) for p in CHAINED_ACTIONS)


def entry_digest(entry: AuditEntry) -> str:
    """SHA-256 of what the entry says and of the hash before it, in one canonical form."""
    at = entry.at.replace(tzinfo=None).isoformat(timespec="microseconds")
    # (not user_id: the actor's email says who, and a user's id may be set to NULL by the database)
    fields = [at, entry.actor or "", entry.address or "", entry.action, entry.object_type or "",
              entry.object_id or "", entry.show_id, entry.before, entry.after, entry.prev_hash]
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                                     default=str).encode()).hexdigest()


def _chain(entry: AuditEntry) -> None:
    session = db.session()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    # (SQLite: the writer's transaction is BEGIN IMMEDIATE, so no other writer is between.)
    # The last chained entry of this transaction, while it is still in it (a rolled-back
    # savepoint takes its entries out of the session), else the last one committed.
    tx, last = session.info.get("crm_audit_tip", (None, None))
    if tx is session.get_transaction() and last in session:
        prev = last.entry_hash
    else:
        with session.no_autoflush:
            prev = session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.entry_hash.is_not(None))
                                  .order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
    entry.at = utcnow()
    entry.prev_hash = prev
    entry.entry_hash = entry_digest(entry)
    session.info["crm_audit_tip"] = (session.get_transaction(), entry)


def verify_chain() -> tuple[int, AuditEntry | None, str]:
    """Walk the chain from its first entry: (entries checked, first broken entry or None, why).

    An entry redacted by an erasure (crm_expo.privacy) keeps its hash and no longer gives it;
    it passes when a chained ``privacy.erase`` entry recorded the digest of its redacted contents."""
    from ..privacy import redactions
    redacted = redactions()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.entry_hash.is_not(None))
                                 .order_by(AuditEntry.id)).all()
    expected = GENESIS
    for n, entry in enumerate(entries):
        if entry.prev_hash != expected:
            return n, entry, "missing"
        digest = entry_digest(entry)
        if digest != entry.entry_hash and redacted.get(entry.id) != digest:
            return n, entry, "changed"
        expected = entry.entry_hash
    return len(entries), None, ""


audit_fields("Show", {"status": (_l("Status"), "show.status")})
audit_fields("User", {"role": (_l("Role"), "user.role")})
