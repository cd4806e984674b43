"""One customer record across all shows and roles (DOMAIN.md §1): an Organization or a
Person is stored once, whatever it was — exhibitor in 2025, supplier in 2026, visitor every
year. Plugins point at these rows; they never copy names or contacts."""
from __future__ import annotations

import datetime as dt

from flask_babel import get_locale
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, delete, event, insert, inspect, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..contacts.keys import name_key, organization_tokens, person_tokens, search_keys, sort_key
from ..database import utcnow
from ..extensions import db


# Search tokens: binary collation on PostgreSQL so that prefix range queries
# (token >= q AND token < next(q)) use the index and agree with SQLite's byte order.
def _binary(length: int):
    return String(length).with_variant(String(length, collation="C"), "postgresql")


TOKEN = _binary(200)


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
    __table_args__ = (
        CheckConstraint("name_zh <> '' OR name_en <> ''", name="has_name"),
        # 统一社会信用代码 identifies one company: two rows with it are one customer twice.
        Index("uq_organizations_licence_no", "licence_no", unique=True,
              sqlite_where=text("licence_no <> ''"), postgresql_where=text("licence_no <> ''")),
    )
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
    # Duplicate detection: names folded (simplified, lower case, no spaces or punctuation).
    name_key: Mapped[str] = mapped_column(String(200), default="", index=True)
    name_en_key: Mapped[str] = mapped_column(String(200), default="", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    people: Mapped[list[Person]] = relationship(back_populates="organization")

    def refresh_keys(self) -> None:
        self.search_keys = search_keys(self.name_zh, self.name_en, self.email, self.website,
                                       (self.phone or "").lstrip("+"), self.licence_no)
        self.sort_name = sort_key(self.name_zh or self.name_en)
        self.name_key = name_key(self.name_zh)
        self.name_en_key = name_key(self.name_en)

    def __repr__(self):
        return f"<Organization {self.id} {self.name_zh or self.name_en}>"


class Person(_Named, db.Model):
    __tablename__ = "persons"
    __table_args__ = (
        CheckConstraint("name_zh <> '' OR name_en <> ''", name="has_name"),
        Index("ix_persons_email", "email"),
        Index("ix_persons_phone", "phone"),
        Index("ix_persons_name_key_organization", "name_key", "organization_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100), default="")
    name_en: Mapped[str] = mapped_column(String(100), default="")
    # email, phone, sort_name and name_key are searched by prefix ranges (crm_expo.contacts.search):
    # binary collation on PostgreSQL, as for the token tables.
    email: Mapped[str] = mapped_column(_binary(200), default="")       # lower case
    phone: Mapped[str] = mapped_column(_binary(32), default="")        # E.164
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"),
                                                        index=True)
    job_title: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="CN")
    birth_date: Mapped[dt.date | None] = mapped_column(default=None)
    id_number: Mapped[str] = mapped_column(String(32), default="")    # personal data: consent-bound
    search_keys: Mapped[str] = mapped_column(Text, default="")
    sort_name: Mapped[str] = mapped_column(_binary(200), default="", index=True)
    name_key: Mapped[str] = mapped_column(_binary(200), default="")   # duplicates and search
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    erased_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # PIPL/GDPR erasure
    # The last time the mail server refused a mail to this address for good (a 5xx, crm_expo.mail).
    mail_bounced_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    organization: Mapped[Organization | None] = relationship(back_populates="people")
    consents: Mapped[list[Consent]] = relationship(back_populates="person", cascade="all, delete-orphan")

    def refresh_keys(self) -> None:
        company = self.organization
        self.search_keys = search_keys(
            self.name_zh, self.name_en, self.email, (self.phone or "").lstrip("+"),
            company.name_zh if company else "", company.name_en if company else "")
        self.sort_name = sort_key(self.name_zh or self.name_en)
        self.name_key = name_key(self.name_zh or self.name_en)

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
                                      name="purpose"),
                      # "latest answer per person and purpose", answered from the index alone
                      # (consent filters, exports); also the index of the person foreign key.
                      Index("ix_consents_person_purpose", "person_id", "purpose", "id", "granted"))
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool] = mapped_column()
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(64), default="")   # e.g. "self-registration", "import"
    person: Mapped[Person] = relationship(back_populates="consents")


class PersonSearchToken(db.Model):
    """One search token of a person (name, pinyin, initials, email, phone …): the index that
    makes search a prefix range scan instead of a LIKE over every row. Kept in step by
    crm_expo.contacts.search (session hook for ORM changes, index_persons() after bulk inserts)."""
    __tablename__ = "person_search_tokens"
    __table_args__ = {"sqlite_with_rowid": False}   # the primary key is the table: one B-tree, not two
    token: Mapped[str] = mapped_column(TOKEN, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True,
                                           index=True)


class OrganizationSearchToken(db.Model):
    """One search token of an organization (see PersonSearchToken)."""
    __tablename__ = "organization_search_tokens"
    __table_args__ = {"sqlite_with_rowid": False}
    token: Mapped[str] = mapped_column(TOKEN, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"),
                                                 primary_key=True, index=True)


# --- keeping keys and tokens in step with ORM changes ---------------------------------------
_PERSON_INDEXED = ("name_zh", "name_en", "email", "phone", "organization_id")
_ORG_INDEXED = ("name_zh", "name_en", "email", "phone", "licence_no", "website")


def _changed(obj, attrs) -> bool:
    state = inspect(obj)
    return any(state.attrs[a].history.has_changes() for a in attrs)


@event.listens_for(Session, "before_flush")
def _keys_before_flush(session, _ctx, _instances):
    """Keep search/sort/duplicate keys right whoever changed the row (a plugin may forget
    refresh_keys), and remember which rows need their tokens rebuilt after the flush."""
    todo = session.info.setdefault("crm_reindex", {"p": set(), "o": set()})
    with session.no_autoflush:
        for obj in list(session.new) + list(session.dirty):
            if isinstance(obj, Organization) and (obj in session.new or _changed(obj, _ORG_INDEXED)):
                obj.refresh_keys()
                todo["o"].add(obj)
            elif isinstance(obj, Person) and (obj in session.new or _changed(obj, _PERSON_INDEXED)
                                              or _changed(obj, ("organization",))):
                obj.refresh_keys()
                todo["p"].add(obj)


@event.listens_for(Session, "after_flush")
def _tokens_after_flush(session, _ctx):
    todo = session.info.pop("crm_reindex", None)
    if not todo:
        return
    conn = session.connection()
    people = [p for p in todo["p"] if p.id is not None and p not in session.deleted]
    orgs = [o for o in todo["o"] if o.id is not None and o not in session.deleted]
    if people:
        ids = [p.id for p in people]
        conn.execute(delete(PersonSearchToken).where(PersonSearchToken.person_id.in_(ids)))
        rows = [{"token": t, "person_id": p.id} for p in people for t in person_tokens(p.name_zh, p.name_en)]
        if rows:
            conn.execute(insert(PersonSearchToken), rows)
    if orgs:
        ids = [o.id for o in orgs]
        conn.execute(delete(OrganizationSearchToken).where(OrganizationSearchToken.organization_id.in_(ids)))
        rows = [{"token": t, "organization_id": o.id} for o in orgs
                for t in organization_tokens(o.name_zh, o.name_en, o.email, o.phone, o.licence_no, o.website)]
        if rows:
            conn.execute(insert(OrganizationSearchToken), rows)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session):
    session.info.pop("crm_reindex", None)
