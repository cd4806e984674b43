"""One customer record across all shows and roles (DOMAIN.md §1): an Organization or a
Person is stored once, whatever it was — exhibitor in 2025, supplier in 2026, visitor every
year. Plugins point at these rows; they never copy names or contacts."""
from __future__ import annotations

import datetime as dt

from flask_babel import get_locale
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import utcnow
from ..extensions import db
from ..search import search_keys, sort_key


class _Named:
    """Bilingual name with its search and sort keys kept in step."""
    name_zh: Mapped[str]
    name_en: Mapped[str]

    @property
    def name(self) -> str:
        loc = str(get_locale() or "zh")
        if loc.startswith("en"):
            return self.name_en or self.name_zh
        return self.name_zh or self.name_en


class Organization(_Named, db.Model):
    __tablename__ = "organizations"
    __table_args__ = (CheckConstraint("name_zh <> '' OR name_en <> ''", name="has_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    name_en: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2), default="CN")   # ISO 3166-1 alpha-2
    region: Mapped[str] = mapped_column(String(100), default="")    # province / state
    city: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    website: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")      # E.164
    licence_no: Mapped[str] = mapped_column(String(64), default="")  # 统一社会信用代码
    notes: Mapped[str] = mapped_column(Text, default="")
    search_keys: Mapped[str] = mapped_column(Text, default="")
    sort_name: Mapped[str] = mapped_column(String(400), default="", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    people: Mapped[list["Person"]] = relationship(back_populates="organization")

    def refresh_keys(self) -> None:
        self.search_keys = search_keys(self.name_zh, self.name_en, self.email, self.website,
                                       (self.phone or "").lstrip("+"), self.licence_no)
        self.sort_name = sort_key(self.name_zh or self.name_en)

    def __repr__(self):
        return f"<Organization {self.id} {self.name_zh or self.name_en}>"


class Person(_Named, db.Model):
    __tablename__ = "persons"
    __table_args__ = (
        CheckConstraint("name_zh <> '' OR name_en <> ''", name="has_name"),
        Index("ix_persons_email", "email"),
        Index("ix_persons_phone", "phone"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100), default="")
    name_en: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(200), default="")       # lower case
    phone: Mapped[str] = mapped_column(String(32), default="")        # E.164
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"),
                                                        index=True)
    job_title: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="CN")
    birth_date: Mapped[dt.date | None] = mapped_column(default=None)
    id_number: Mapped[str] = mapped_column(String(32), default="")    # personal data: consent-bound
    search_keys: Mapped[str] = mapped_column(Text, default="")
    sort_name: Mapped[str] = mapped_column(String(200), default="", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    erased_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # PIPL/GDPR erasure
    organization: Mapped[Organization | None] = relationship(back_populates="people")
    consents: Mapped[list["Consent"]] = relationship(back_populates="person", cascade="all, delete-orphan")

    def refresh_keys(self) -> None:
        company = self.organization
        self.search_keys = search_keys(
            self.name_zh, self.name_en, self.email, (self.phone or "").lstrip("+"),
            company.name_zh if company else "", company.name_en if company else "")
        self.sort_name = sort_key(self.name_zh or self.name_en)

    def consent(self, purpose: str) -> bool:
        latest = max((c for c in self.consents if c.purpose == purpose), key=lambda c: c.at, default=None)
        return bool(latest and latest.granted)

    def __repr__(self):
        return f"<Person {self.id} {self.name_zh or self.name_en}>"


CONSENT_PURPOSES = ("marketing", "share_with_exhibitors", "badge_data")


class Consent(db.Model):
    """A consent given or withdrawn, with when and for what purpose. Never updated: the
    latest row per purpose is the person's current answer; older rows are the evidence."""
    __tablename__ = "consents"
    __table_args__ = (CheckConstraint("purpose IN ('marketing','share_with_exhibitors','badge_data')",
                                      name="purpose"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool] = mapped_column()
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(64), default="")   # e.g. "self-registration", "import"
    person: Mapped[Person] = relationship(back_populates="consents")
