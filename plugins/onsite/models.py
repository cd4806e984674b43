"""Tables of the onsite plugin (every table name starts with 'onsite_').

- Scan: every badge scan at a gate, admitted or refused — the audit trail behind attendance.
- BadgePrint: every badge printed (first print and reprints, with the reason).
- ServiceRequest + ServiceEvent: the one-stop service centre's closed loop (DOMAIN.md §7).
"""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_expo.database import utcnow
from crm_expo.extensions import db
from crm_expo.titles import extend, register

SCAN_RESULTS = ("ok", "already_in", "unknown", "not_allowed")


class Scan(db.Model):
    """One scan of a badge at a gate. ``first_entry`` is TRUE on the first admitted entry of a
    registration on a show day and NULL on every other scan (never FALSE). One unique index
    over (registration, day, first_entry) then does two jobs: NULLs are distinct, so it
    enforces one first entry per person and day — "one entry per day" and the count of unique
    people hold even under parallel scans — and it is the index for a registration's scans
    (its foreign key, the lookup of today's entry). One index fewer to update per scan."""
    __tablename__ = "onsite_scan"
    __table_args__ = (
        CheckConstraint("result IN ('ok','already_in','unknown','not_allowed')", name="result"),
        CheckConstraint("direction IN ('in','out')", name="direction"),
        CheckConstraint("first_entry IS NULL OR (first_entry AND result = 'ok' AND direction = 'in' "
                        "AND registration_id IS NOT NULL)", name="first_entry_is_admission"),
        # A replayed nonce (a desk retrying after a network error) must not count twice.
        UniqueConstraint("show_id", "nonce", name="uq_onsite_scan_nonce"),
        Index("uq_onsite_scan_first_entry", "registration_id", "day", "first_entry", unique=True),
        # The desk's counter per gate and the per-day figures.
        Index("ix_onsite_scan_show_day_gate", "show_id", "day", "gate"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("visitors_registration.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64), default="")     # what was scanned (cut to 64)
    gate: Mapped[str] = mapped_column(String(64), default="")
    desk: Mapped[str] = mapped_column(String(64), default="")
    device: Mapped[str] = mapped_column(String(64), default="")
    direction: Mapped[str] = mapped_column(String(3), default="in")
    day: Mapped[dt.date] = mapped_column(Date)                    # show-local date
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    result: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), default="")   # reason code, e.g. 'revoked'
    category: Mapped[str] = mapped_column(String(32), default="")  # visitor category at scan time
    first_entry: Mapped[bool | None] = mapped_column(default=None)   # TRUE or NULL: see above
    nonce: Mapped[str | None] = mapped_column(String(64), default=None)
    answer: Mapped[dict | None] = mapped_column(JSON, default=None)  # returned again on replay
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class BadgePrint(db.Model):
    """A badge printed. Reprints need a reason, so lost-badge reprints can be counted; and a
    badge has one first print only, so two desks printing it at once make one badge."""
    __tablename__ = "onsite_badge_print"
    __table_args__ = (CheckConstraint("NOT reprint OR reason <> ''", name="reprint_reason"),
                      Index("uq_onsite_badge_print_first", "registration_id", unique=True,
                            sqlite_where=text("NOT reprint"), postgresql_where=text("NOT reprint")))
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("visitors_registration.id", ondelete="CASCADE"),
                                                 index=True)
    code: Mapped[str] = mapped_column(String(32))
    size: Mapped[str] = mapped_column(String(16))
    reprint: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


REQUEST_STATUSES = ("new", "assigned", "in_progress", "resolved", "feedback_given", "closed")
_STATUS_SQL = ",".join(f"'{s}'" for s in REQUEST_STATUSES)


class ServiceRequest(db.Model):
    """A request, complaint or suggestion logged by the service centre. The first receiver
    owns it (首问责任制) until it is closed, whoever it is routed to."""
    __tablename__ = "onsite_service_request"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_SQL})", name="status"),
        CheckConstraint("kind IN ('request','complaint','suggestion')", name="kind"),
        CheckConstraint("channel IN ('desk','phone','portal','email')", name="channel"),
        CheckConstraint("priority IN ('low','normal','high','urgent')", name="priority"),
        CheckConstraint("category <> ''", name="category"),
        CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction"),
        CheckConstraint("reopen_count >= 0", name="reopen_count"),
        CheckConstraint("status <> 'closed' OR satisfaction >= 4", name="closed_when_satisfied"),
        Index("ix_onsite_service_request_show_status", "show_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="request")
    channel: Mapped[str] = mapped_column(String(16), default="desk")
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    location: Mapped[str] = mapped_column(String(100), default="")   # booth number or place
    description: Mapped[str] = mapped_column(Text, default="")
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"),
                                                        index=True)
    contact: Mapped[str] = mapped_column(String(200), default="")    # who to give feedback to
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    department: Mapped[str] = mapped_column(String(64), default="")
    supplier_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="new")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_at: Mapped[dt.datetime] = mapped_column()                    # SLA target for resolution
    first_response_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    feedback_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    reopen_count: Mapped[int] = mapped_column(default=0)
    satisfaction: Mapped[int | None] = mapped_column(default=None)
    events: Mapped[list[ServiceEvent]] = relationship(order_by="ServiceEvent.id", back_populates="request",
                                                        cascade="all, delete-orphan")


class ServiceEvent(db.Model):
    """Every step of a request: routing, progress, resolution, feedback, reopen, chase."""
    __tablename__ = "onsite_service_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("onsite_service_request.id", ondelete="CASCADE"),
                                            index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # the customer's satisfaction given at this step (close / reopen): the page words it in the
    # reader's language, the note keeps only what a person wrote
    satisfaction: Mapped[int | None] = mapped_column(default=None)
    request: Mapped[ServiceRequest] = relationship(back_populates="events")


class Lead(db.Model):
    """A visitor scanned by an exhibitor at its booth. Scanning again updates the same lead."""
    __tablename__ = "onsite_lead"
    __table_args__ = (
        UniqueConstraint("exhibitor_id", "registration_id", name="uq_onsite_lead_exhibitor_registration"),
        CheckConstraint("rating BETWEEN 0 AND 5", name="rating"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    exhibitor_id: Mapped[int] = mapped_column(ForeignKey("exhibitors_exhibitor.id", ondelete="CASCADE"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("visitors_registration.id", ondelete="CASCADE"),
                                                 index=True)
    rating: Mapped[int] = mapped_column(default=0)
    notes: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(String(200), default="")   # comma-separated
    scans: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Notice(db.Model):
    """A recurring problem promoted to a notice / FAQ entry that exhibitors see in their
    portal (主动式服务: the problem the first customer met must not reach the second)."""
    __tablename__ = "onsite_notice"
    __table_args__ = (CheckConstraint("title <> '' AND body <> ''", name="has_text"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    requests_seen: Mapped[int] = mapped_column(default=0)   # how many requests it answers
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


# What a scan's result says to a reader (Scan.result; the desk's answers are operations.REASONS).
SCAN_RESULT_TITLES = register("onsite.scan_result", {
    "ok": _l("Admitted"), "already_in": _l("Already checked in today"), "unknown": _l("Unknown badge code"),
    "not_allowed": _l("Not admitted by the admission rules")})
extend("audit.action", {"onsite.notice": _l("Notice published")})
extend("audit.object", {"Notice": _l("Notice"), "ServiceRequest": _l("Service request"), "Lead": _l("Lead")})
