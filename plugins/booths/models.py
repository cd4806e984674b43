"""Tables of the booths plugin (every table name starts with 'booths_').

Sizes are whole centimetres and money whole minor units (fen), so areas and prices are exact
integers: a booth's area in m² is width_cm * depth_cm / 10 000.
A booth's status is not stored: it follows from its one active booking (if any), which the
partial unique index ``uq_booths_booking_active`` makes impossible to duplicate."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_expo.database import utcnow
from crm_expo.extensions import db
from crm_expo.models.audit import audit_fields
from crm_expo.titles import extend, register

BOOTH_TYPES = ("shell", "raw", "corner", "peninsula", "island")
TYPE_TITLES = register("booths.booth_type", {
    "shell": _l("Shell scheme"), "raw": _l("Raw space"), "corner": _l("Corner booth"),
    "peninsula": _l("Peninsula booth"), "island": _l("Island booth")})
# A booking holds its booth in these states; every other state is history.
ACTIVE_STATES = ("held", "reserved", "confirmed", "paid")
BOOKING_STATES = ACTIVE_STATES + ("cancelled", "released", "expired")
BOOKING_TITLES = register("booths.booking", {
    "held": _l("Held"), "reserved": _l("Reserved"), "confirmed": _l("Confirmed"), "paid": _l("Paid"),
    "cancelled": _l("Cancelled"), "released": _l("Released"), "expired": _l("Expired")})
ACTIVE_SQL = "status IN ('held','reserved','confirmed','paid')"


class Hall(db.Model):
    __tablename__ = "booths_hall"
    __table_args__ = (UniqueConstraint("show_id", "code"),
                      CheckConstraint("width_cm > 0 AND depth_cm > 0", name="size"))
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name_zh: Mapped[str] = mapped_column(String(100), default="")
    name_en: Mapped[str] = mapped_column(String(100), default="")
    width_cm: Mapped[int] = mapped_column(default=100_00)
    depth_cm: Mapped[int] = mapped_column(default=60_00)
    # A new random stamp on every change to the hall's booth geometry (add, split, merge,
    # import): the floor plan caches the drawn geometry per (database, hall, layout_version).
    layout_version: Mapped[int] = mapped_column(default=0, server_default="0")


class Booth(db.Model):
    __tablename__ = "booths_booth"
    __table_args__ = (
        UniqueConstraint("show_id", "code"),
        CheckConstraint("width_cm > 0 AND depth_cm > 0 AND x_cm >= 0 AND y_cm >= 0", name="geometry"),
        CheckConstraint("type IN ('shell','raw','corner','peninsula','island')", name="type"),
        CheckConstraint("open_sides BETWEEN 1 AND 4", name="open_sides"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("booths_hall.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    x_cm: Mapped[int] = mapped_column()
    y_cm: Mapped[int] = mapped_column()
    width_cm: Mapped[int] = mapped_column()
    depth_cm: Mapped[int] = mapped_column()
    type: Mapped[str] = mapped_column(String(16), default="shell")
    open_sides: Mapped[int] = mapped_column(default=1)
    blocked: Mapped[bool] = mapped_column(default=False)
    blocked_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    hall: Mapped[Hall] = relationship()

    @property
    def area_m2(self) -> float:
        return self.width_cm * self.depth_cm / 10_000


class PriceList(db.Model):
    """The published price list of a show: one per show. Surcharges and the early-bird
    discount are whole percents."""
    __tablename__ = "booths_price_list"
    __table_args__ = (
        CheckConstraint("corner_surcharge_pct >= 0 AND open_side_surcharge_pct >= 0 "
                        "AND early_bird_pct BETWEEN 0 AND 100 AND deposit_pct BETWEEN 0 AND 100",
                        name="percents"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), unique=True)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    # price per m² by booth type, minor units: {"shell": 150000, "raw": 120000, …}
    rates: Mapped[dict] = mapped_column(JSON, default=dict)
    corner_surcharge_pct: Mapped[int] = mapped_column(default=0)
    open_side_surcharge_pct: Mapped[int] = mapped_column(default=0)   # per open side beyond the first
    early_bird_until: Mapped[dt.date | None] = mapped_column(Date)
    early_bird_pct: Mapped[int] = mapped_column(default=0)
    deposit_pct: Mapped[int] = mapped_column(default=30)
    balance_due: Mapped[dt.date | None] = mapped_column(Date)
    published_at: Mapped[dt.datetime | None] = mapped_column()


class DiscountRule(db.Model):
    """A published, named discount: the only way besides an approved exception to charge a
    price other than the list price."""
    __tablename__ = "booths_discount_rule"
    __table_args__ = (UniqueConstraint("show_id", "name"),
                      CheckConstraint("percent BETWEEN 1 AND 100", name="percent"))
    # A rule cited by a booking is frozen (its terms justify those prices); to change the
    # terms, retire it and publish a new rule. A retired rule prices no new booking.
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    percent: Mapped[int] = mapped_column()
    min_area_cm2: Mapped[int] = mapped_column(default=0)      # condition: booth at least this big
    booth_type: Mapped[str] = mapped_column(String(16), default="")   # condition: '' = any type
    retired_at: Mapped[dt.datetime | None] = mapped_column()


class Booking(db.Model):
    __tablename__ = "booths_booking"
    __table_args__ = (
        # Never sold twice: at most one active booking per booth, enforced by the database.
        Index("uq_booths_booking_active", "booth_id", unique=True,
              sqlite_where=text(ACTIVE_SQL), postgresql_where=text(ACTIVE_SQL)),
        UniqueConstraint("show_id", "contract_no"),
        CheckConstraint("status IN ('held','reserved','confirmed','paid','cancelled','released','expired')",
                        name="status"),
        CheckConstraint("list_price_minor >= 0 AND price_minor >= 0 AND paid_minor >= 0 "
                        "AND paid_minor <= price_minor", name="money"),
        # Two equal booths never silently carry different prices: any price other than the
        # list price names a published rule or an exception approved by a second user.
        CheckConstraint("price_minor = list_price_minor OR discount_rule_id IS NOT NULL OR "
                        "(exception_approved_by_id IS NOT NULL AND exception_reason <> '' AND "
                        "exception_approved_by_id <> exception_requested_by_id)", name="price_justified"),
        Index("ix_booths_booking_exhibitor", "exhibitor_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    booth_id: Mapped[int] = mapped_column(ForeignKey("booths_booth.id", ondelete="CASCADE"), index=True)
    exhibitor_id: Mapped[int] = mapped_column(ForeignKey("exhibitors_exhibitor.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="held")
    held_until: Mapped[dt.datetime | None] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    list_price_minor: Mapped[int] = mapped_column(default=0)
    price_minor: Mapped[int] = mapped_column(default=0)
    price_breakdown: Mapped[dict] = mapped_column(JSON, default=dict)
    discount_rule_id: Mapped[int | None] = mapped_column(ForeignKey("booths_discount_rule.id"))
    exception_price_minor: Mapped[int | None] = mapped_column()   # proposed, until approved
    exception_reason: Mapped[str] = mapped_column(Text, default="")
    exception_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    exception_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_minor: Mapped[int] = mapped_column(default=0)
    deposit_minor: Mapped[int] = mapped_column(default=0)
    balance_due: Mapped[dt.date | None] = mapped_column(Date)
    contract_no: Mapped[str | None] = mapped_column(String(32))
    end_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    booth: Mapped[Booth] = relationship()

    @property
    def balance_minor(self) -> int:
        return self.price_minor - self.paid_minor


class Payment(db.Model):
    __tablename__ = "booths_payment"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount"),
                      UniqueConstraint("show_id", "invoice_no"))
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booths_booking.id", ondelete="CASCADE"), index=True)
    amount_minor: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(32))
    paid_on: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(100), default="")
    invoice_no: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class DocumentCounter(db.Model):
    """Gap-free numbering of contracts and invoices: the row is incremented in the same
    transaction that uses the number, so a rolled-back booking gives its number back."""
    __tablename__ = "booths_document_counter"
    __table_args__ = (UniqueConstraint("show_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))    # 'contract' | 'invoice'
    last_no: Mapped[int] = mapped_column(default=0)


WAITLIST_STATES = ("waiting", "offered", "left")


class WaitlistEntry(db.Model):
    """An exhibitor waiting for a booth (or any booth of a type). When a matching booth is
    released, the first in line gets a hold on it (the time-limited offer): the entry becomes
    'offered' and the offer's outcome is the status of that booking. 'left' = taken off.
    At most one waiting entry per exhibitor and booth, and per exhibitor and booth type:
    two partial unique indexes (one index over (booth_id, booth_type) would not do, because
    NULL booth ids never collide)."""
    __tablename__ = "booths_waitlist_entry"
    __table_args__ = (
        CheckConstraint("booth_id IS NOT NULL OR booth_type <> ''", name="target"),
        CheckConstraint("status IN ('waiting','offered','left')", name="status"),
        Index("uq_booths_waitlist_booth", "exhibitor_id", "booth_id", unique=True,
              sqlite_where=text("status = 'waiting' AND booth_id IS NOT NULL"),
              postgresql_where=text("status = 'waiting' AND booth_id IS NOT NULL")),
        Index("uq_booths_waitlist_type", "exhibitor_id", "booth_type", unique=True,
              sqlite_where=text("status = 'waiting' AND booth_id IS NULL"),
              postgresql_where=text("status = 'waiting' AND booth_id IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    exhibitor_id: Mapped[int] = mapped_column(ForeignKey("exhibitors_exhibitor.id", ondelete="CASCADE"))
    booth_id: Mapped[int | None] = mapped_column(ForeignKey("booths_booth.id", ondelete="CASCADE"))
    booth_type: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="waiting", server_default="waiting")
    offered_booking_id: Mapped[int | None] = mapped_column(ForeignKey("booths_booking.id", ondelete="SET NULL"))
    offered_at: Mapped[dt.datetime | None] = mapped_column()
    offer_until: Mapped[dt.datetime | None] = mapped_column()
    left_at: Mapped[dt.datetime | None] = mapped_column()


extend("audit.action", {
    "booking.hold": _l("Booth held"), "booking.reserve": _l("Booking reserved"),
    "booking.confirm": _l("Booking confirmed"), "booking.cancel": _l("Booking cancelled"),
    "booking.release": _l("Booking released"), "booking.expire": _l("Hold expired"),
    "booking.move": _l("Booking moved"), "booking.offer": _l("Booth offered from the waiting list"),
    "booking.payment": _l("Payment recorded"), "booking.price_exception.request": _l("Price exception requested"),
    "booking.price_exception.approve": _l("Price exception approved"), "booth.block": _l("Booth blocked or unblocked"),
    "booth.create": _l("Booth added"), "booth.import": _l("Booths imported"), "booth.merge": _l("Booths merged"),
    "booth.split": _l("Booth split"), "discount_rule.create": _l("Discount rule added"),
    "discount_rule.edit": _l("Discount rule changed"), "discount_rule.retire": _l("Discount rule retired"),
    "price_list.publish": _l("Price list published"), "waitlist.join": _l("Joined the waiting list"),
    "waitlist.leave": _l("Left the waiting list"),
})
extend("audit.object", {"Booking": _l("Booking"), "Booth": _l("Booth"), "Hall": _l("Hall"),
                        "PriceList": _l("Price list"), "DiscountRule": _l("Discount rule"),
                        "Payment": _l("Payment"), "WaitlistEntry": _l("Waiting list entry")})
audit_fields("Booking", {"status": (_l("Status"), "booths.booking")})
