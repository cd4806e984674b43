from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import utcnow
from ..extensions import db
from ..titles import register


class ShowStatus(enum.StrEnum):
    draft = "draft"
    open = "open"        # registration and booth sales open
    live = "live"        # the show days
    closed = "closed"

    @property
    def title(self):
        return {"draft": _l("Draft"), "open": _l("Open for sales"), "live": _l("Live"),
                "closed": _l("Ended")}[self.value]


register("show.status", {s.value: s.title for s in ShowStatus})

# draft → open → live → closed, one step at a time (closed is final).
SHOW_TRANSITIONS = {"draft": {"open"}, "open": {"live", "draft"}, "live": {"closed"}, "closed": set()}


class ShowSeries(db.Model):
    """A trade show's editions, year after year ("Food Expo": food-expo-2026, food-expo-2027).
    The previous edition of a show is derived from its series and the dates
    (``crm_expo.operations.previous_edition``)."""
    __tablename__ = "show_series"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    shows: Mapped[list[Show]] = relationship(back_populates="series")

    @property
    def name(self) -> str:
        from ..i18n import local_name
        return local_name(self.name_zh, self.name_en)

    def __repr__(self):
        return f"<ShowSeries {self.slug}>"


class Show(db.Model):
    """One edition of a trade show ("Food Expo 2027"), of a series (nullable: a show may stand alone)."""
    __tablename__ = "shows"
    __table_args__ = (
        CheckConstraint("status IN ('draft','open','live','closed')", name="status"),
        CheckConstraint("length(currency) = 3", name="currency"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    venue: Mapped[str] = mapped_column(String(200), default="")
    halls: Mapped[list] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[str] = mapped_column(String(16), default=ShowStatus.draft.value)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # No ON DELETE: a series that still has editions cannot be deleted (and on SQLite the
    # column is added in place, where an inline REFERENCES' options cannot be reflected).
    series_id: Mapped[int | None] = mapped_column(ForeignKey("show_series.id"), index=True)
    series: Mapped[ShowSeries | None] = relationship(back_populates="shows")
    days: Mapped[list[ShowDay]] = relationship(back_populates="show", order_by="ShowDay.date",
                                                 cascade="all, delete-orphan")

    @property
    def name(self) -> str:
        from ..i18n import local_name  # i18n reads the user's language: imported late (a cycle)
        return local_name(self.name_zh, self.name_en)

    @property
    def start(self) -> dt.date | None:
        return self.days[0].date if self.days else None

    @property
    def end(self) -> dt.date | None:
        return self.days[-1].date if self.days else None

    def __repr__(self):
        return f"<Show {self.slug}>"


class ShowDay(db.Model):
    """An open day with its hours (in the show's timezone)."""
    __tablename__ = "show_days"
    __table_args__ = (UniqueConstraint("show_id", "date"),
                      CheckConstraint("closes > opens", name="hours"))
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    opens: Mapped[dt.time] = mapped_column(Time, default=dt.time(9, 0))
    closes: Mapped[dt.time] = mapped_column(Time, default=dt.time(17, 0))
    trade_only: Mapped[bool] = mapped_column(default=False)
    show: Mapped[Show] = relationship(back_populates="days")
