"""Tables of the exhibitors plugin (every table name starts with 'exhibitors_').

An exhibitor is a core Organization taking part in one show: one row per (show, organization).
Names, contacts and the licence number stay on the Organization; this plugin keeps what is
specific to the edition: application status, stand partner, categories, staff, documents."""
from __future__ import annotations

import datetime as dt

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_expo.database import utcnow
from crm_expo.extensions import db
from crm_expo.models import Organization, Person, User
from crm_expo.models.audit import audit_fields
from crm_expo.titles import extend, register

STATUSES = ("applied", "under_review", "approved", "rejected", "withdrawn")
STATUS_TITLES = {"applied": _l("Applied"), "under_review": _l("Under review"), "approved": _l("Approved"),
                 "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn")}
# The application workflow; approved/rejected can still be withdrawn or re-opened for review.
TRANSITIONS = {
    "applied": {"under_review", "withdrawn", "rejected"},
    "under_review": {"approved", "rejected", "withdrawn"},
    "approved": {"withdrawn", "under_review"},
    "rejected": {"under_review"},
    "withdrawn": {"applied"},
}
KINDS = ("main", "co")
KIND_TITLES = {"main": _l("Main exhibitor"), "co": _l("Co-exhibitor")}

DOCUMENT_KINDS = ("licence", "product_certificate", "brand_authorisation")
DOCUMENT_TITLES = {"licence": _l("Business licence"), "product_certificate": _l("Product certificate"),
                   "brand_authorisation": _l("Brand authorisation / IP declaration")}
REVIEW_STATES = ("pending", "accepted", "rejected")
REVIEW_TITLES = {"pending": _l("Not reviewed"), "accepted": _l("Accepted"), "rejected": _l("Rejected")}


def _sql_in(values) -> str:
    return ",".join(f"'{v}'" for v in values)


class ExhibitorCategory(db.Model):
    """A product category of one show's taxonomy (bilingual), e.g. 葡萄酒 / Wine."""
    __tablename__ = "exhibitors_category"
    __table_args__ = (UniqueConstraint("show_id", "code", name="uq_exhibitors_category_show_code"),
                      CheckConstraint("code <> ''", name="code_not_empty"))
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name_zh: Mapped[str] = mapped_column(String(100), default="")
    name_en: Mapped[str] = mapped_column(String(100), default="")

    @property
    def name(self) -> str:
        en = str(get_locale() or "zh").startswith("en")
        return (self.name_en or self.name_zh) if en else (self.name_zh or self.name_en)


class ExhibitorCategoryLink(db.Model):
    __tablename__ = "exhibitors_exhibitor_category"
    exhibitor_id: Mapped[int] = mapped_column(ForeignKey("exhibitors_exhibitor.id", ondelete="CASCADE"),
                                              primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("exhibitors_category.id", ondelete="CASCADE"),
                                             primary_key=True, index=True)


class Exhibitor(db.Model):
    __tablename__ = "exhibitors_exhibitor"
    __table_args__ = (
        UniqueConstraint("show_id", "organization_id", name="uq_exhibitors_exhibitor_show_org"),
        CheckConstraint(f"status IN ({_sql_in(STATUSES)})", name="status"),
        CheckConstraint(f"kind IN ({_sql_in(KINDS)})", name="kind"),
        # A co-exhibitor shares another exhibitor's stand; a main exhibitor has its own.
        CheckConstraint("(kind = 'co') = (main_exhibitor_id IS NOT NULL)", name="co_has_main"),
        CheckConstraint("main_exhibitor_id IS NULL OR main_exhibitor_id <> id", name="not_own_main"),
        Index("ix_exhibitors_exhibitor_show_status", "show_id", "status"),
        # The list pages by keyset in application order, and by country then name.
        Index("ix_exhibitors_exhibitor_show_applied", "show_id", "applied_at", "id"),
        Index("ix_exhibitors_exhibitor_show_country", "show_id", "country"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="applied")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(8), default="main")
    main_exhibitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("exhibitors_exhibitor.id"), index=True)
    account_manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                           index=True)
    # From the contract address (may differ from the organization's head office).
    country: Mapped[str] = mapped_column(String(2), default="CN")
    region: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # Qualification review (资质审核): who decided, what and when.
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    applied_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship()
    main_exhibitor: Mapped[Exhibitor | None] = relationship(remote_side=[id])
    account_manager: Mapped[User | None] = relationship(foreign_keys=[account_manager_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    categories: Mapped[list[ExhibitorCategory]] = relationship(
        secondary="exhibitors_exhibitor_category", order_by=ExhibitorCategory.code)
    staff: Mapped[list[ExhibitorStaff]] = relationship(back_populates="exhibitor",
                                                         cascade="all, delete-orphan")
    documents: Mapped[list[ExhibitorDocument]] = relationship(
        back_populates="exhibitor", cascade="all, delete-orphan", order_by="ExhibitorDocument.id")

    @property
    def name(self) -> str:
        return self.organization.name

    @property
    def status_title(self):
        return STATUS_TITLES[self.status]

    @property
    def kind_title(self):
        return KIND_TITLES[self.kind]

    def __repr__(self):
        return f"<Exhibitor {self.id} show={self.show_id} org={self.organization_id} {self.status}>"


class ExhibitorStaff(db.Model):
    """A stand staff member: a core Person working the stand for this exhibitor."""
    __tablename__ = "exhibitors_staff"
    __table_args__ = (UniqueConstraint("exhibitor_id", "person_id", name="uq_exhibitors_staff"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    exhibitor_id: Mapped[int] = mapped_column(ForeignKey("exhibitors_exhibitor.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(100), default="")
    exhibitor: Mapped[Exhibitor] = relationship(back_populates="staff")
    person: Mapped[Person] = relationship()


class ExhibitorDocument(db.Model):
    """An uploaded qualification document. The file lives under the instance folder with a
    random name (``stored_name``); the user's file name is kept only to label the download."""
    __tablename__ = "exhibitors_document"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_sql_in(DOCUMENT_KINDS)})", name="kind"),
        CheckConstraint(f"review IN ({_sql_in(REVIEW_STATES)})", name="review"),
        CheckConstraint("size > 0", name="size"),
        CheckConstraint("content_type IN ('application/pdf','image/png','image/jpeg')", name="content_type"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    exhibitor_id: Mapped[int] = mapped_column(ForeignKey("exhibitors_exhibitor.id", ondelete="CASCADE"),
                                              index=True)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    review: Mapped[str] = mapped_column(String(16), default="pending")
    review_note: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    exhibitor: Mapped[Exhibitor] = relationship(back_populates="documents")
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])

    @property
    def kind_title(self):
        return DOCUMENT_TITLES[self.kind]

    @property
    def review_title(self):
        return REVIEW_TITLES[self.review]


extend("audit.action", {
    "exhibitor.create": _l("Exhibitor added"), "exhibitor.update": _l("Exhibitor changed"),
    "exhibitor.status": _l("Exhibitor status changed"), "exhibitor.import": _l("Exhibitors imported"),
    "exhibitor.document.upload": _l("Document uploaded"), "exhibitor.document.review": _l("Document reviewed"),
    "exhibitor.staff.add": _l("Staff member added"), "exhibitor.staff.remove": _l("Staff member removed"),
    "exhibitors.category.create": _l("Product category added"),
    "exhibitors.required_documents": _l("Required documents changed"),
})
extend("audit.object", {"Exhibitor": _l("Exhibitor"), "ExhibitorDocument": _l("Document"),
                        "ExhibitorStaff": _l("Exhibitor staff"), "ExhibitorCategory": _l("Product category")})
register("exhibitors.status", STATUS_TITLES)
register("exhibitors.document_review", REVIEW_TITLES)
audit_fields("Exhibitor", {"status": (_l("Status"), "exhibitors.status"),
                           "review": (_l("Document review"), "exhibitors.document_review")})
