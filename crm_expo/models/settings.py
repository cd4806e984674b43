from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class Setting(db.Model):
    """A setting: global (show_id NULL) or per show. Keys are '<plugin>.<name>'; defaults
    come from each plugin's ``default_settings``, so only changed values are stored."""
    __tablename__ = "settings"
    __table_args__ = (
        Index("uq_settings_show_key", "show_id", "key", unique=True),
        # NULL show_id is not equal to itself in a unique index: a partial index keeps one
        # global value per key.
        Index("uq_settings_global_key", "key", unique=True,
              sqlite_where=text("show_id IS NULL"), postgresql_where=text("show_id IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int | None] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    value: Mapped[Any] = mapped_column(JSON)
