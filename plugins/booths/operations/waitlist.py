"""The waiting list of a booth or a booth type, its offers, and the rebooking rules that rank
returning exhibitors for the booth they had in the previous edition."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select

from crm_expo import signals
from crm_expo.database import is_sqlite, transaction, utcnow
from crm_expo.extensions import db
from crm_expo.models import Organization, Show, audit, get_setting
from crm_expo.operations import earlier_editions, previous_edition
from plugins.exhibitors.models import Exhibitor

from ..models import (
    BOOTH_TYPES,
    Booking,
    Booth,
    WaitlistEntry,
)
from .common import (
    BoothError,
    _active_booking,
    _exhibitor,
    _expire_stale_holds,
    booking_json,
    booth_by_code,
)
from .pricing import (
    _apply_price,
)

WAITLIST_TITLES = {"waiting": _l("waiting"), "offered": _l("offered"), "left": _l("left the list")}

OUTCOME_TITLES = {"waiting": _l("waiting"), "left": _l("left the list"), "pending": _l("offer open"),
                  "accepted": _l("accepted"), "lapsed": _l("offer lapsed"), "declined": _l("declined")}


def join_waitlist(show: Show, exhibitor_id, *, booth_code: str = "", booth_type: str = "", user=None,
                  organization_id=None) -> WaitlistEntry:
    """Put an exhibitor at the end of the waiting list of a booth (taken or blocked) or of a
    booth type. ``organization_id`` (portal): the exhibitor must be that organization's.
    One waiting entry per exhibitor and target: checked here, enforced by the database."""
    exhibitor = _exhibitor(show, exhibitor_id)
    if organization_id is not None and exhibitor.organization_id != organization_id:
        raise BoothError(_("No exhibitor %(id)s in this show.", id=exhibitor_id), "unknown_exhibitor", 404)
    booth_code, booth_type = (booth_code or "").strip(), (booth_type or "").strip()
    if booth_code and booth_type:
        raise BoothError(_("Wait for a booth or for a booth type, not both."), "bad_value")
    # The database decides a race between two joins of the same list (one waiting entry each).
    already = BoothError(_("The exhibitor is already on this waiting list."), "duplicate", 409)
    with transaction(constraint_errors={"uq_booths_waitlist_booth": already, "uq_booths_waitlist_type": already}):
        booth = None
        if booth_code:
            booth = booth_by_code(show, booth_code)
            if booth is None:
                raise BoothError(_("No booth %(code)s in this show.", code=booth_code), "unknown_booth", 404)
            _expire_stale_holds(Booking.booth_id == booth.id)
            active = _active_booking(booth.id)
            if active is None and not booth.blocked:
                raise BoothError(_("Booth %(code)s is available: hold it instead of waiting.", code=booth.code),
                                 "booth_available", 409)
            if active is not None and active.exhibitor_id == exhibitor.id:
                raise BoothError(_("The exhibitor already has booth %(code)s.", code=booth.code), "duplicate", 409)
        elif booth_type not in BOOTH_TYPES:
            raise BoothError(_("Name a booth or a booth type to wait for."), "bad_value")
        same = select(WaitlistEntry.id).where(WaitlistEntry.exhibitor_id == exhibitor.id,
                                              WaitlistEntry.status == "waiting")
        same = same.where(WaitlistEntry.booth_id == booth.id) if booth else \
            same.where(WaitlistEntry.booth_id.is_(None), WaitlistEntry.booth_type == booth_type)
        if db.session.scalar(same.limit(1)) is not None:
            raise already
        entry = WaitlistEntry(show_id=show.id, exhibitor_id=exhibitor.id, booth_id=booth.id if booth else None,
                              booth_type="" if booth else booth_type, status="waiting")
        db.session.add(entry)
        db.session.flush()
        audit("waitlist.join", entry, user=user, show_id=show.id,
              after={"exhibitor_id": exhibitor.id, "booth": booth.code if booth else "", "booth_type": booth_type})
    return entry


def get_waitlist_entry(show: Show, entry_id, organization_id=None) -> WaitlistEntry | None:
    """The entry of this show (and, for a portal user, of their organization only)."""
    try:
        stmt = select(WaitlistEntry).where(WaitlistEntry.id == int(entry_id), WaitlistEntry.show_id == show.id)
    except (TypeError, ValueError):
        return None
    if organization_id is not None:
        stmt = stmt.join(Exhibitor, Exhibitor.id == WaitlistEntry.exhibitor_id).where(
            Exhibitor.organization_id == organization_id)
    return db.session.scalar(stmt)


def leave_waitlist(entry: WaitlistEntry, user=None) -> WaitlistEntry:
    with transaction():
        stmt = select(WaitlistEntry).where(WaitlistEntry.id == entry.id).execution_options(populate_existing=True)
        entry = db.session.scalar(stmt if is_sqlite() else stmt.with_for_update())
        if entry.status != "waiting":
            raise BoothError(_("This entry is no longer waiting (it is %(status)s).",
                               status=WAITLIST_TITLES[entry.status]), "bad_transition", 409)
        entry.status, entry.left_at = "left", utcnow()
        audit("waitlist.leave", entry, user=user, show_id=entry.show_id,
              before={"status": "waiting"}, after={"status": "left"})
    return entry


def _entries_stmt(show: Show):
    return (select(WaitlistEntry, Booth.code, Organization.name_zh, Organization.name_en, Booking.status,
                   Booking.held_until)
            .join(Exhibitor, Exhibitor.id == WaitlistEntry.exhibitor_id)
            .join(Organization, Organization.id == Exhibitor.organization_id)
            .outerjoin(Booth, Booth.id == WaitlistEntry.booth_id)
            .outerjoin(Booking, Booking.id == WaitlistEntry.offered_booking_id)
            .where(WaitlistEntry.show_id == show.id))


def waitlist_stmt(show: Show, *, organization_id=None, waiting: bool = True, booth_id=None, booth_type=None):
    """Waiting entries in the order offers go out (per booth, then per type; first come
    first), or (waiting=False) offers made and entries taken off, newest first.
    ``organization_id``: a portal user's own entries only."""
    stmt = _entries_stmt(show)
    if organization_id is not None:
        stmt = stmt.where(Exhibitor.organization_id == organization_id)
    if booth_id is not None:
        stmt = stmt.where(WaitlistEntry.booth_id == booth_id)
    if booth_type:
        stmt = stmt.where(WaitlistEntry.booth_id.is_(None), WaitlistEntry.booth_type == booth_type)
    if waiting:
        return stmt.where(WaitlistEntry.status == "waiting").order_by(
            WaitlistEntry.booth_id.is_(None), Booth.code, WaitlistEntry.booth_type, WaitlistEntry.created_at,
            WaitlistEntry.id)
    return stmt.where(WaitlistEntry.status != "waiting").order_by(
        func.coalesce(WaitlistEntry.offered_at, WaitlistEntry.left_at).desc(), WaitlistEntry.id.desc())


def waitlist_queues(show: Show, organization_id=None) -> list:
    return db.session.execute(waitlist_stmt(show, organization_id=organization_id)).all()


def waitlist_history(show: Show, organization_id=None) -> list:
    return db.session.execute(waitlist_stmt(show, organization_id=organization_id, waiting=False)).all()


def offer_outcome(entry: WaitlistEntry, booking_status: str | None) -> str:
    """What became of an entry: waiting, left, or for an offer: pending / accepted /
    lapsed (the offer's hold ran out) / declined (released or cancelled)."""
    if entry.status != "offered":
        return entry.status
    if booking_status == "held":
        return "pending"
    if booking_status in ("reserved", "confirmed", "paid"):
        return "accepted"
    if booking_status == "expired":
        return "lapsed"
    return "declined"


def waitlist_json(row) -> dict:
    entry, code, name_zh, name_en, booking_status, held_until = row
    return {"id": entry.id, "exhibitor": entry.exhibitor_id, "exhibitor_name": name_zh or name_en,
            "booth": code, "booth_type": entry.booth_type or None, "status": entry.status,
            "joined_at": entry.created_at.isoformat(), "offered_booking": entry.offered_booking_id,
            "offered_at": entry.offered_at.isoformat() if entry.offered_at else None,
            "offer_until": entry.offer_until.isoformat() if entry.offer_until else None,
            "outcome": offer_outcome(entry, booking_status)}


def _offer_to_waitlist(booth: Booth) -> Booking | None:
    """Inside the releasing transaction: give the first in line a time-limited hold."""
    if booth.blocked:
        return None
    show = db.session.get(Show, booth.show_id)
    entries = db.session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.show_id == booth.show_id, WaitlistEntry.status == "waiting",
                                    or_(WaitlistEntry.booth_id == booth.id,
                                        and_(WaitlistEntry.booth_id.is_(None), WaitlistEntry.booth_type == booth.type)))
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)).all()
    for entry in entries:
        exhibitor = db.session.get(Exhibitor, entry.exhibitor_id)
        if exhibitor.status in ("rejected", "withdrawn"):
            continue
        now = utcnow()
        offer = Booking(show_id=booth.show_id, booth_id=booth.id, exhibitor_id=entry.exhibitor_id, status="held",
                        held_until=now + dt.timedelta(minutes=int(get_setting("booths.offer_minutes", show))))
        try:
            _apply_price(offer, booth, now.date(), None)
        except BoothError:
            return None     # no price: the booth cannot be offered; it stays free
        db.session.add(offer)
        db.session.flush()
        entry.status, entry.offered_booking_id = "offered", offer.id
        entry.offered_at, entry.offer_until = now, offer.held_until
        audit("booking.offer", offer, after=dict(booking_json(offer), waitlist_entry=entry.id))
        return offer
    return None


def _announce_offers(offers) -> None:
    for offer in offers:
        if offer is not None:
            signals.send_after_commit(signals.booking_changed, offer, old=None, new="held", user=None)


def priority_points(show: Show) -> list[dict]:
    """Returning exhibitors of this show ranked for rebooking: 10 points per edition
    attended, 1 per 10 000 (major units) spent, 5 per edition paid in full by the due date.
    Only the earlier editions of the show's series count (a show without a series has no
    returning exhibitors)."""
    org_editions = (select(Exhibitor.organization_id.label("org"), func.count(func.distinct(Booking.show_id)).label("n"),
                           func.sum(Booking.paid_minor).label("spent"),
                           func.sum(case((Booking.status == "paid", 1), else_=0)).label("paid"))
                    .join(Booking, Booking.exhibitor_id == Exhibitor.id)
                    .where(Booking.status.in_(("confirmed", "paid")), Booking.show_id.in_(earlier_editions(show)))
                    .group_by(Exhibitor.organization_id).subquery())
    rows = db.session.execute(
        select(Exhibitor.id, Organization.name_zh, Organization.name_en, org_editions.c.n, org_editions.c.spent,
               org_editions.c.paid)
        .join(Organization, Organization.id == Exhibitor.organization_id)
        .join(org_editions, org_editions.c.org == Exhibitor.organization_id)
        .where(Exhibitor.show_id == show.id)).all()
    ranked = [{"exhibitor_id": r.id, "name": r.name_zh or r.name_en, "editions": r.n, "spent_minor": int(r.spent or 0),
               "points": 10 * r.n + int(r.spent or 0) // 1_000_000 + 5 * int(r.paid or 0)} for r in rows]
    return sorted(ranked, key=lambda d: (-d["points"], d["exhibitor_id"]))


def previous_booth_code(show: Show, exhibitor: Exhibitor) -> str | None:
    prev = previous_edition(show)
    if prev is None:
        return None
    return db.session.scalar(
        select(Booth.code).join(Booking, Booking.booth_id == Booth.id).join(Exhibitor, Exhibitor.id == Booking.exhibitor_id)
        .where(Booking.show_id == prev.id, Exhibitor.organization_id == exhibitor.organization_id,
               Booking.status.in_(("confirmed", "paid"))).order_by(Booking.id.desc()).limit(1))
