"""Tables of the visitors plugin (every table name starts with 'visitors_').

- Registration: one person's registration for one show (UNIQUE(show_id, person_id)).
- BadgeCode: every badge code ever issued; the registration's current one is not revoked.
- AdmissionRule: restrictions per show, category and (optionally) day, checked at the gate.
- Question: the show's registration questions; answers live in Registration.answers.
- BusinessCard: the evidence a trade visitor uploads for verification.
- Review: a self-registration whose typed details match an existing person, for staff to
  merge or keep apart (the public form never looks up or changes an existing record).
"""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_expo.database import utcnow
from crm_expo.extensions import db
from crm_expo.models import Person, Show
from crm_expo.models.audit import audit_fields
from crm_expo.titles import extend, register

CATEGORIES = ("trade", "public", "media", "vip", "exhibitor_staff")
CATEGORY_TITLES = {
    "trade": _l("Trade visitor"), "public": _l("Public"), "media": _l("Media"), "vip": _l("VIP"),
    "exhibitor_staff": _l("Exhibitor staff"),
}
# Exhibitor staff and media are never counted as visitors (DOMAIN.md §8, inflated numbers).
COUNTED_CATEGORIES = ("trade", "public", "vip")
VERIFICATIONS = ("not_required", "pending", "verified", "rejected")
VERIFICATION_TITLES = {
    "not_required": _l("Not required"), "pending": _l("Pending"), "verified": _l("Verified"),
    "rejected": _l("Rejected"),
}
CONCESSIONS = ("", "disabled", "student", "senior")
CONCESSION_TITLES = {"": _l("None"), "disabled": _l("Disabled visitor"), "student": _l("Student"),
                     "senior": _l("Senior")}
QUESTION_KINDS = ("single", "multiple", "text")
QUESTION_KIND_TITLES = register("visitors.question_kind", {
    "single": _l("One choice"), "multiple": _l("Several choices"), "text": _l("Free text")})
# Where a registration came from (Registration.source).
SOURCE_TITLES = register("visitors.source", {
    "self": _l("Self-registration"), "staff": _l("Entered by staff"), "import": _l("Import"),
    "api": _l("API"), "generate": _l("Generated (demo data)"), "desk": _l("Walk-in at the desk")})
REVIEW_STATUSES = ("open", "merged", "kept_apart")
REVIEW_STATUS_TITLES = register("visitors.review_status", {"open": _l("To review"), "merged": _l("Merged"),
                                                          "kept_apart": _l("Kept apart")})
MATCH_RULES = ("email", "phone", "name")   # crm_expo.contacts.duplicates: name = same name at the same company

BADGE_CODE_LENGTH = 12   # the codes this system issues
# Codes a registration system printed before the import (visitors import, column badge_code):
# 6 to 64 letters and digits as stored (hyphens and spaces are dropped, as at the desk).
BADGE_CODE_MIN, BADGE_CODE_MAX = 6, 64


def _sql_in(values) -> str:
    return ",".join(f"'{v}'" for v in values)


class Registration(db.Model):
    __tablename__ = "visitors_registration"
    __table_args__ = (
        UniqueConstraint("show_id", "person_id", name="uq_visitors_registration_show_person"),
        CheckConstraint(f"category IN ({_sql_in(CATEGORIES)})", name="category"),
        CheckConstraint(f"verification IN ({_sql_in(VERIFICATIONS)})", name="verification"),
        CheckConstraint(f"concession IN ({_sql_in(CONCESSIONS)})", name="concession"),
        CheckConstraint(f"length(badge_code) BETWEEN {BADGE_CODE_MIN} AND {BADGE_CODE_MAX}", name="badge_code_length"),
        # The staff list pages by keyset (show, then id) unfiltered and by each filter...
        Index("ix_visitors_registration_show_id", "show_id", "id"),
        Index("ix_visitors_registration_show_category", "show_id", "category", "id"),
        Index("ix_visitors_registration_show_verification", "show_id", "verification", "id"),
        # ...and counts by index ranges alone (covering): registrations and cancellations per
        # category (the figures and the list totals), category × verification.
        Index("ix_visitors_registration_show_counts", "show_id", "category", "cancelled_at", "verification"),
        # A person's registrations; sorted by name, the list reads people in name order and
        # checks each one's registration here, filters included, without reading the row.
        Index("ix_visitors_registration_person_show", "person_id", "show_id", "category", "verification"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(20))
    verification: Mapped[str] = mapped_column(String(16), default="not_required")
    verification_note: Mapped[str] = mapped_column(Text, default="")
    verified_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    evidence_company: Mapped[str] = mapped_column(String(200), default="")   # company stated as evidence
    concession: Mapped[str] = mapped_column(String(16), default="")
    badge_code: Mapped[str] = mapped_column(String(BADGE_CODE_MAX), unique=True)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(32), default="")   # self, staff, import, api, generate
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    person: Mapped[Person] = relationship()
    show: Mapped[Show] = relationship()

    @property
    def counted(self) -> bool:
        return self.category in COUNTED_CATEGORIES

    @property
    def category_title(self):
        return CATEGORY_TITLES[self.category]

    @property
    def verification_title(self):
        return VERIFICATION_TITLES[self.verification]

    def __repr__(self):
        return f"<Registration {self.id} show={self.show_id} person={self.person_id} {self.category}>"


class BadgeCode(db.Model):
    """Every code ever issued, so a scanned old code is recognised as revoked, not unknown."""
    __tablename__ = "visitors_badge_code"
    __table_args__ = (CheckConstraint(f"length(code) BETWEEN {BADGE_CODE_MIN} AND {BADGE_CODE_MAX}", name="length"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(BADGE_CODE_MAX), unique=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("visitors_registration.id", ondelete="CASCADE"),
                                                 index=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoke_reason: Mapped[str] = mapped_column(String(200), default="")


class AdmissionRule(db.Model):
    """A restriction for one category of one show, on one day (``day``) or every day (NULL).
    Rules combine: any matching rule that does not admit refuses, the highest minimum age
    applies. Prices (minor units of the show currency) are informative for the desk."""
    __tablename__ = "visitors_admission_rule"
    __table_args__ = (
        CheckConstraint(f"category IN ({_sql_in(CATEGORIES)})", name="category"),
        CheckConstraint("min_age IS NULL OR (min_age >= 0 AND min_age <= 120)", name="min_age"),
        CheckConstraint("price_minor IS NULL OR price_minor >= 0", name="price"),
        CheckConstraint("concession_price_minor IS NULL OR concession_price_minor >= 0", name="concession_price"),
        Index("ix_visitors_admission_rule_show_category", "show_id", "category"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(20))
    day: Mapped[dt.date | None] = mapped_column(Date, default=None)
    admitted: Mapped[bool] = mapped_column(default=True)
    min_age: Mapped[int | None] = mapped_column(default=None)
    price_minor: Mapped[int | None] = mapped_column(default=None)
    concession_price_minor: Mapped[int | None] = mapped_column(default=None)   # e.g. half price, disabled
    note: Mapped[str] = mapped_column(String(200), default="")


class Question(db.Model):
    """A registration question of a show: industry, job function, purchasing role, interests…
    ``choices`` is a list of {"value", "zh", "en"}; free text when kind = 'text'."""
    __tablename__ = "visitors_question"
    __table_args__ = (
        UniqueConstraint("show_id", "key", name="uq_visitors_question_show_key"),
        CheckConstraint(f"kind IN ({_sql_in(QUESTION_KINDS)})", name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    label_zh: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(16), default="single")
    choices: Mapped[list] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)

    def label(self, locale: str) -> str:
        return (self.label_en or self.label_zh) if locale.startswith("en") else self.label_zh

    def choice_label(self, value: str, locale: str) -> str:
        for c in self.choices or []:
            if c.get("value") == value:
                return (c.get("en") or c.get("zh") or value) if locale.startswith("en") else (c.get("zh") or value)
        return value


class BusinessCard(db.Model):
    """Verification evidence. Kept in the database (every server process sees it, backups
    include it); served only as an attachment with its checked content type."""
    __tablename__ = "visitors_business_card"
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("visitors_registration.id", ondelete="CASCADE"),
                                                 index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column()
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


extend("audit.action", {
    "visitors.register": _l("Visitor registered"), "visitors.bulk_register": _l("Visitors registered in bulk"),
    "visitors.update": _l("Visitor changed"), "visitors.cancel": _l("Registration cancelled"),
    "visitors.verify": _l("Trade visitor reviewed"), "visitors.badge.replace": _l("Badge replaced"),
    "visitors.card.upload": _l("Business card uploaded"), "visitors.question.save": _l("Question saved"),
    "visitors.rule.add": _l("Admission rule added"), "visitors.rule.delete": _l("Admission rule deleted"),
    "visitors.review.merge": _l("Self-registration merged into the existing person"),
    "visitors.review.keep_apart": _l("Self-registration kept apart from the matched person"),
})
extend("audit.object", {"Registration": _l("Registration"), "Question": _l("Question"),
                        "AdmissionRule": _l("Admission rule"), "BadgeCode": _l("Badge code"),
                        "BusinessCard": _l("Business card"), "Review": _l("Registration to review")})
register("visitors.category", CATEGORY_TITLES)
register("visitors.verification", VERIFICATION_TITLES)
audit_fields("Registration", {"category": (_l("Category"), "visitors.category"),
                              "verification": (_l("Verification"), "visitors.verification")})


class Review(db.Model):
    """A self-registration that matched an existing person by the core's duplicate rules
    (same email, same phone, or same name at the same company).

    The public form registers a new Person with exactly what was typed and never reads or
    changes the existing record; staff decide here whether the two are one customer (merge:
    the existing person survives, crm_expo.contacts.merge) or two (keep apart). The typed
    details are the registration's person until the decision; nothing is copied here."""
    __tablename__ = "visitors_review"
    __table_args__ = (
        CheckConstraint(f"status IN ({_sql_in(REVIEW_STATUSES)})", name="status"),
        # The open items of a show (the list, the count on the visitors page).
        Index("ix_visitors_review_show_status", "show_id", "status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("visitors_registration.id", ondelete="CASCADE"),
                                                 index=True)
    matched_person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    matched_on: Mapped[list] = mapped_column(JSON, default=list)     # of MATCH_RULES
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    registration: Mapped[Registration] = relationship()
    matched_person: Mapped[Person] = relationship()

    @property
    def status_title(self):
        return REVIEW_STATUS_TITLES[self.status]
