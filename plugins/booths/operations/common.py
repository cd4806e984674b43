"""What every subject of the booths operations shares: the refusal, the settings, and the
look-ups of a booth, a booking and an exhibitor inside a write transaction."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm_expo import signals
from crm_expo.database import is_sqlite, utcnow
from crm_expo.errors import DomainError
from crm_expo.extensions import db
from crm_expo.models import Show, audit
from crm_expo.titles import register
from plugins.exhibitors.models import Exhibitor

from ..models import (
    ACTIVE_STATES,
    Booking,
    Booth,
)

DEFAULT_SETTINGS = {"booths.hold_minutes": 60 * 24 * 3, "booths.offer_minutes": 60 * 24 * 2}

PAYMENT_METHODS = ("bank_transfer", "cash", "card", "alipay", "wechat", "other")
PAYMENT_METHOD_TITLES = register("booths.payment_method", {
    "bank_transfer": _l("Bank transfer"), "cash": _l("Cash"), "card": _l("Card"), "alipay": _l("Alipay"),
    "wechat": _l("WeChat Pay"), "other": _l("Other")})


class BoothError(DomainError):
    """A refusal with a message for the user and a stable code for the API."""

    def __init__(self, message: str, code: str = "refused", status: int = 422, *, field: str | None = None):
        super().__init__(message, code, field=field, status=status)




def booth_by_code(show: Show, code: str) -> Booth | None:
    return db.session.scalar(select(Booth).where(Booth.show_id == show.id,
                                                 Booth.code == (code or "").strip().upper()))


def _active_booking(booth_id: int) -> Booking | None:
    return db.session.scalar(select(Booking).where(Booking.booth_id == booth_id,
                                                   Booking.status.in_(ACTIVE_STATES)))


def _expire_stale_holds(where) -> list[Booking]:
    now = utcnow()
    stale = db.session.scalars(select(Booking).where(where, Booking.status == "held",
                                                     Booking.held_until < now)).all()
    for b in stale:
        b.status = "expired"
        b.end_reason = "hold expired"
        audit("booking.expire", b, after={"status": "expired", "held_until": b.held_until})
    if stale:
        db.session.flush()
    return list(stale)


def _exhibitor(show: Show, exhibitor_id) -> Exhibitor:
    try:
        ex = db.session.get(Exhibitor, int(exhibitor_id))
    except (TypeError, ValueError):
        ex = None
    if ex is None or ex.show_id != show.id:
        raise BoothError(_("No exhibitor %(id)s in this show.", id=exhibitor_id), "unknown_exhibitor", 404)
    if ex.status in ("rejected", "withdrawn"):
        raise BoothError(_("The exhibitor's application is %(status)s.", status=ex.status), "exhibitor_inactive")
    return ex


def _blocked_now(booth: Booth) -> bool:
    """Whether the booth is blocked; on PostgreSQL read under FOR SHARE, so that a parallel
    set_blocked (FOR UPDATE) cannot block a booth that this transaction is booking."""
    if is_sqlite():
        return booth.blocked
    return db.session.scalar(select(Booth.blocked).where(Booth.id == booth.id).with_for_update(read=True))


def _locked(booking: Booking) -> Booking:
    """Re-read the booking inside the write transaction (row-locked on PostgreSQL)."""
    stmt = select(Booking).where(Booking.id == booking.id).execution_options(populate_existing=True)
    if not is_sqlite():
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def booking_json(b: Booking) -> dict:
    return {"id": b.id, "booth": b.booth.code if b.booth is not None else None, "exhibitor": b.exhibitor_id,
            "status": b.status, "held_until": b.held_until.isoformat() if b.held_until else None,
            "currency": b.currency, "list_price_minor": b.list_price_minor, "price_minor": b.price_minor,
            "paid_minor": b.paid_minor, "balance_minor": b.price_minor - b.paid_minor,
            "deposit_minor": b.deposit_minor, "contract_no": b.contract_no,
            "balance_due": b.balance_due.isoformat() if b.balance_due else None}


def _announce_expired(stale) -> None:
    for b in stale:
        signals.send_after_commit(signals.booking_changed, b, old="held", new="expired", user=None)
