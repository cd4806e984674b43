"""The booking state machine (hold, reserve, confirm, pay, cancel, release, move), contracts,
payments and price exceptions."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from crm_expo import signals
from crm_expo.database import is_sqlite, transaction, utcnow
from crm_expo.extensions import db
from crm_expo.models import Show, audit, get_setting
from plugins.exhibitors.models import Exhibitor

from ..models import (
    ACTIVE_STATES,
    Booking,
    DiscountRule,
    DocumentCounter,
    Payment,
    PriceList,
)
from .common import (
    PAYMENT_METHODS,
    BoothError,
    _active_booking,
    _announce_expired,
    _blocked_now,
    _exhibitor,
    _expire_stale_holds,
    _locked,
    booking_json,
    booth_by_code,
)
from .pricing import (
    _apply_price,
    rule_applies,
)
from .waitlist import (
    _announce_offers,
    _offer_to_waitlist,
    previous_booth_code,
    priority_points,
)


def expire_holds(show: Show | None = None) -> int:
    """Release every hold past its time (also done lazily when a booth is read or booked);
    the waiting list gets its offers. Returns how many holds expired."""
    where = Booking.show_id == show.id if show is not None else True
    if not db.session.scalar(select(Booking.id).where(where, Booking.status == "held",
                                                      Booking.held_until < utcnow()).limit(1)):
        return 0
    with transaction():
        stale = _expire_stale_holds(where)
        offers = [_offer_to_waitlist(b.booth) for b in stale]
        for b in stale:
            signals.send_after_commit(signals.booking_changed, b, old="held", new="expired", user=None)
            signals.send_after_commit(signals.booth_released, b.booth)
        _announce_offers(offers)
    return len(stale)


def _booth_taken(code: str) -> dict:
    """The database decides a race for a booth (the partial unique index on active bookings)."""
    return {"uq_booths_booking_active": BoothError(_("Booth %(code)s is already taken.", code=code),
                                                   "booth_taken", 409)}


def hold_booth(show: Show, booth_code: str, exhibitor_id, *, discount_rule_id=None, minutes: int | None = None,
               user=None, portal: bool = False) -> Booking:
    """Put a time-limited hold on a free booth for an exhibitor. Refused (BoothError
    'booth_taken', 409) if any active booking has it — the database decides a race."""
    with transaction(constraint_errors=_booth_taken(booth_code)):
        booth = booth_by_code(show, booth_code)
        if booth is None:
            raise BoothError(_("No booth %(code)s in this show.", code=booth_code), "unknown_booth", 404)
        if _blocked_now(booth):
            raise BoothError(_("Booth %(code)s is blocked.", code=booth.code), "booth_blocked", 409)
        exhibitor = _exhibitor(show, exhibitor_id)
        _announce_expired(_expire_stale_holds(Booking.booth_id == booth.id))
        if _active_booking(booth.id) is not None:
            raise BoothError(_("Booth %(code)s is already taken.", code=booth.code), "booth_taken", 409)
        if portal:
            # A portal user may hold one booth at a time, and only while the exhibitor is approved.
            if exhibitor.status != "approved":
                raise BoothError(_("Your application must be approved before you can hold a booth."),
                                 "not_approved", 403)
            if db.session.scalar(select(func.count(Booking.id)).where(
                    Booking.exhibitor_id == exhibitor.id, Booking.status == "held")):
                raise BoothError(_("You already hold a booth; reserve or release it first."), "hold_limit", 409)
            if discount_rule_id:    # a discount is the organizer's to give, never the customer's to take
                raise BoothError(_("Only the organizer's staff can apply a discount."), "discount_staff_only", 403,
                                 field="discount_rule")
        rule = None
        if discount_rule_id:
            try:
                stmt = select(DiscountRule).where(DiscountRule.id == int(discount_rule_id),
                                                  DiscountRule.show_id == show.id)
            except (TypeError, ValueError) as exc:
                raise BoothError(_("No such discount rule in this show."), "unknown_rule", 404) from exc
            # PostgreSQL: FOR SHARE so an edit of the rule cannot slip in before this hold cites it.
            rule = db.session.scalar(stmt if is_sqlite() else stmt.with_for_update(read=True))
            if rule is None:
                raise BoothError(_("No such discount rule in this show."), "unknown_rule", 404)
            if rule.retired_at is not None:
                raise BoothError(_("The discount rule %(name)s is retired.", name=rule.name), "rule_retired", 409)
        minutes = minutes if minutes is not None else int(get_setting("booths.hold_minutes", show))
        booking = Booking(show_id=show.id, booth_id=booth.id, exhibitor_id=exhibitor.id, status="held",
                          held_until=utcnow() + dt.timedelta(minutes=minutes))
        _apply_price(booking, booth, utcnow().date(), rule)
        db.session.add(booking)
        db.session.flush()
        audit("booking.hold", booking, user=user, after=booking_json(booking))
        signals.send_after_commit(signals.booking_changed, booking, old=None, new="held", user=user)
    return booking


def _transition(booking: Booking, allowed: tuple[str, ...], new: str, action: str, user, change=None,
                reason: str = "") -> Booking:
    released = None
    with transaction():
        booking = _locked(booking)
        old = booking.status
        expired = old == "held" and booking.held_until and booking.held_until < utcnow()
        if expired:
            # The expiry is written (and announced) even though the request is refused.
            _announce_expired(_expire_stale_holds(Booking.id == booking.id))
            signals.send_after_commit(signals.booth_released, booking.booth)
            _announce_offers([_offer_to_waitlist(booking.booth)])    # the booth is free again: next in line
        else:
            if old not in allowed:
                raise BoothError(_("A %(old)s booking cannot be %(new)s.", old=old, new=new), "bad_transition", 409)
            if new in ("cancelled", "released") and not (reason or "").strip():
                raise BoothError(_("Give a reason."), "reason_required")
            before = booking_json(booking)
            if change is not None:
                change(booking)
            booking.status = new
            if new in ("cancelled", "released"):
                booking.end_reason = reason.strip()
                released = booking.booth
            if new != "held":
                booking.held_until = None
            db.session.flush()
            offer = _offer_to_waitlist(released) if released is not None else None
            audit(action, booking, user=user, before=before, after=booking_json(booking))
            signals.send_after_commit(signals.booking_changed, booking, old=old, new=new, user=user)
            if released is not None:
                signals.send_after_commit(signals.booth_released, released)
                _announce_offers([offer])
    if expired:
        raise BoothError(_("The hold on booth %(code)s expired.", code=booking.booth.code), "hold_expired", 409)
    return booking


def next_number(show_id: int, kind: str) -> int:
    """The next number of a document series, inside the caller's transaction (no gaps)."""
    n = db.session.scalar(update(DocumentCounter).where(DocumentCounter.show_id == show_id, DocumentCounter.kind == kind)
                          .values(last_no=DocumentCounter.last_no + 1).returning(DocumentCounter.last_no))
    if n is None:
        try:
            with transaction(savepoint=True):
                db.session.add(DocumentCounter(show_id=show_id, kind=kind, last_no=1))
            return 1
        except IntegrityError:   # created meanwhile by a parallel transaction
            return next_number(show_id, kind)
    return n


def reserve(booking: Booking, user=None) -> Booking:
    """Issue the contract: held → reserved, with the next contract number."""
    def change(b):
        if b.exception_price_minor is not None and b.exception_approved_by_id is None:
            raise BoothError(_("The price exception awaits approval by a second user."), "exception_pending", 409)
        b.contract_no = f"C-{next_number(b.show_id, 'contract'):05d}"
    return _transition(booking, ("held",), "reserved", "booking.reserve", user, change)


def confirm(booking: Booking, user=None) -> Booking:
    def change(b):
        if b.paid_minor < b.deposit_minor:
            raise BoothError(_("The deposit has not been received."), "deposit_missing", 409)
    return _transition(booking, ("reserved",), "confirmed", "booking.confirm", user, change)


def cancel(booking: Booking, reason: str, user=None) -> Booking:
    return _transition(booking, ACTIVE_STATES, "cancelled", "booking.cancel", user, reason=reason)


def release(booking: Booking, reason: str, user=None) -> Booking:
    return _transition(booking, ("held", "reserved"), "released", "booking.release", user, reason=reason)


def record_payment(booking: Booking, amount_minor: int, *, method: str = "bank_transfer",
                   paid_on: dt.date | None = None, reference: str = "", user=None) -> Payment:
    """Record money received; the booking becomes confirmed once the deposit is in and paid
    when nothing is left. Refused above the balance (checked here, enforced by the database)."""
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0:
        raise BoothError(_("A payment must be a positive amount."), "bad_amount")
    if method not in PAYMENT_METHODS:
        raise BoothError(_("Unknown payment method %(m)s (one of %(all)s).", m=method,
                           all=", ".join(PAYMENT_METHODS)), "bad_value")
    with transaction(constraint_errors={"ck_booths_booking_money": BoothError(
            _("The payment exceeds the balance."), "exceeds_balance")}):
        booking = _locked(booking)
        old = booking.status
        if old not in ("reserved", "confirmed"):
            raise BoothError(_("Payments are recorded against a reserved or confirmed booking, not a %(s)s one.",
                               s=old), "bad_transition", 409)
        if amount_minor > booking.balance_minor:
            raise BoothError(_("The payment exceeds the balance of %(balance)s.",
                               balance=f"{booking.balance_minor / 100:.2f} {booking.currency}"),
                             "exceeds_balance")
        before = booking_json(booking)
        payment = Payment(show_id=booking.show_id, booking_id=booking.id, amount_minor=amount_minor,
                          currency=booking.currency, method=method, paid_on=paid_on or utcnow().date(),
                          reference=(reference or "")[:100], recorded_by_id=getattr(user, "id", None),
                          invoice_no=f"I-{next_number(booking.show_id, 'invoice'):05d}")
        db.session.add(payment)
        booking.paid_minor += amount_minor
        if booking.paid_minor >= booking.price_minor:
            booking.status = "paid"
        elif booking.paid_minor >= booking.deposit_minor:
            booking.status = "confirmed"
        db.session.flush()
        audit("booking.payment", booking, user=user, before=before,
              after=dict(booking_json(booking), amount_minor=amount_minor, method=method, reference=reference))
        signals.send_after_commit(signals.payment_recorded, payment)
        if booking.status != old:
            signals.send_after_commit(signals.booking_changed, booking, old=old, new=booking.status, user=user)
    return payment


def move(booking: Booking, new_booth_code: str, user=None, reason: str = "") -> Booking:
    """Move an active booking to another free booth of the show: same booking, the price
    recomputed for the new booth (the discount rule kept if it still applies)."""
    with transaction(constraint_errors=_booth_taken(new_booth_code)):
        booking = _locked(booking)
        if booking.status not in ACTIVE_STATES:
            raise BoothError(_("A %(old)s booking cannot be moved.", old=booking.status), "bad_transition", 409)
        show = db.session.get(Show, booking.show_id)
        target = booth_by_code(show, new_booth_code)
        if target is None:
            raise BoothError(_("No booth %(code)s in this show.", code=new_booth_code), "unknown_booth", 404)
        if target.id == booking.booth_id:
            raise BoothError(_("The booking is already on booth %(code)s.", code=target.code), "bad_value")
        if _blocked_now(target):
            raise BoothError(_("Booth %(code)s is blocked.", code=target.code), "booth_blocked", 409)
        _expire_stale_holds(Booking.booth_id == target.id)
        if _active_booking(target.id) is not None:
            raise BoothError(_("Booth %(code)s is already taken.", code=target.code), "booth_taken", 409)
        before = booking_json(booking)
        old_booth = booking.booth
        rule = db.session.get(DiscountRule, booking.discount_rule_id) if booking.discount_rule_id else None
        booking.booth_id = target.id
        _apply_price(booking, target, booking.created_at.date(),
                     rule if rule is not None and rule_applies(rule, target) else None)
        if booking.paid_minor > booking.price_minor:
            raise BoothError(_("More has been paid than booth %(code)s costs.", code=target.code), "exceeds_balance")
        db.session.flush()
        db.session.refresh(booking, ["booth"])
        offer = _offer_to_waitlist(old_booth)
        audit("booking.move", booking, user=user, before=before, after=dict(booking_json(booking), reason=reason))
        signals.send_after_commit(signals.booking_changed, booking, old=booking.status, new=booking.status,
                                  user=user)
        signals.send_after_commit(signals.booth_released, old_booth)
        _announce_offers([offer])
    return booking


def request_price_exception(booking: Booking, price_minor: int, reason: str, user) -> Booking:
    if user is None:
        raise BoothError(_("A price exception needs a signed-in author."), "forbidden", 403)
    if not isinstance(price_minor, int) or price_minor < 0:
        raise BoothError(_("A price must be a whole, non-negative amount."), "bad_amount")
    if not (reason or "").strip():
        raise BoothError(_("A price exception needs a reason."), "reason_required")
    with transaction():
        booking = _locked(booking)
        if booking.status not in ACTIVE_STATES:
            raise BoothError(_("A %(old)s booking cannot change price.", old=booking.status), "bad_transition", 409)
        if price_minor < booking.paid_minor:
            raise BoothError(_("The price cannot be lower than what has been paid."), "bad_amount")
        booking.exception_price_minor = price_minor
        booking.exception_reason = reason.strip()
        booking.exception_requested_by_id = user.id
        booking.exception_approved_by_id = None
        audit("booking.price_exception.request", booking, user=user,
              after={"price_minor": price_minor, "reason": reason, "list_price_minor": booking.list_price_minor})
    return booking


def approve_price_exception(booking: Booking, user) -> Booking:
    with transaction():
        booking = _locked(booking)
        if booking.exception_price_minor is None:
            raise BoothError(_("No price exception awaits approval."), "bad_transition", 409)
        if user is None or user.id == booking.exception_requested_by_id:
            raise BoothError(_("A price exception must be approved by a second user, not its author."),
                             "same_user", 403)
        before = {"price_minor": booking.price_minor}
        booking.price_minor = booking.exception_price_minor
        booking.exception_approved_by_id = user.id
        booking.discount_rule_id = None
        pl = db.session.scalar(select(PriceList).where(PriceList.show_id == booking.show_id))
        booking.deposit_minor = booking.price_minor * pl.deposit_pct // 100
        if booking.paid_minor > booking.price_minor:
            raise BoothError(_("The price cannot be lower than what has been paid."), "bad_amount")
        audit("booking.price_exception.approve", booking, user=user, before=before,
              after={"price_minor": booking.price_minor, "reason": booking.exception_reason})
    return booking


def offer_previous_booths(show: Show, user=None) -> list[Booking]:
    """Open the rebooking window: in priority order, each returning exhibitor gets a hold on
    the booth with the same code it had in the previous edition ("keep my booth")."""
    made = []
    for entry in priority_points(show):
        exhibitor = db.session.get(Exhibitor, entry["exhibitor_id"])
        code = previous_booth_code(show, exhibitor)
        if not code:
            continue
        try:
            made.append(hold_booth(show, code, exhibitor.id, minutes=int(get_setting("booths.offer_minutes", show)),
                                   user=user))
        except BoothError:
            continue     # the booth is gone, blocked or taken: the exhibitor books like everyone else
    return made


def exhibitor_of_organization(show: Show, organization_id) -> Exhibitor | None:
    if organization_id is None:
        return None
    return db.session.scalar(select(Exhibitor).where(Exhibitor.show_id == show.id,
                                                     Exhibitor.organization_id == organization_id))


def get_booking(show: Show, booking_id) -> Booking | None:
    try:
        b = db.session.get(Booking, int(booking_id))
    except (TypeError, ValueError):
        return None
    return b if b is not None and b.show_id == show.id else None


def bookings_for_exhibitor(exhibitor_id: int) -> list[Booking]:
    return db.session.scalars(select(Booking).where(Booking.exhibitor_id == exhibitor_id)
                              .order_by(Booking.created_at.desc(), Booking.id.desc())).all()


def bookings_for_organization(show: Show, organization_id: int) -> list[Booking]:
    return db.session.scalars(select(Booking).join(Exhibitor, Exhibitor.id == Booking.exhibitor_id)
                              .where(Booking.show_id == show.id, Exhibitor.organization_id == organization_id)
                              .order_by(Booking.id.desc())).all()


def is_overdue(b: Booking, today: dt.date | None = None) -> bool:
    return (b.status in ("reserved", "confirmed") and b.balance_due is not None and
            (today or utcnow().date()) > b.balance_due and b.paid_minor < b.price_minor)
