from __future__ import annotations

import datetime as dt
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import utcnow
from ..extensions import db


class AuditEntry(db.Model):
    """Who did what, when (UTC), to which object, with the values before and after."""
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),)
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
    db.session.add(entry)
    return entry
