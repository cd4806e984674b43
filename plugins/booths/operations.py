"""Domain logic of the booths plugin: plain functions, no request object.

Booking lifecycle:  held ──reserve──▶ reserved ──confirm (deposit in)──▶ confirmed ──paid in full──▶ paid
                     │ (held_until passes) → expired;  held/reserved ──release──▶ released;
                     any active ──cancel──▶ cancelled;  any active ──move──▶ same booking, other booth.
Every change is one transaction, audited, and announced (signals) after the commit. The
database is the last word on "never sold twice" (partial unique index on active bookings);
the checks here only turn refusals into clear messages."""
from __future__ import annotations

import datetime as dt
import secrets

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from crm_expo import signals
from crm_expo.database import is_sqlite, utcnow, write_transaction
from crm_expo.models.settings import get_setting
from crm_expo.extensions import db
from crm_expo.models import Organization, Show, audit
from plugins.exhibitors.models import Exhibitor

from .models import (ACTIVE_STATES, BOOTH_TYPES, Booking, Booth, DiscountRule, DocumentCounter, Hall, Payment,
                     PriceList, WaitlistEntry)

WAITLIST_TITLES = {"waiting": _l("waiting"), "offered": _l("offered"), "left": _l("left the list")}
OUTCOME_TITLES = {"waiting": _l("waiting"), "left": _l("left the list"), "pending": _l("offer open"),
                  "accepted": _l("accepted"), "lapsed": _l("offer lapsed"), "declined": _l("declined")}

DEFAULT_SETTINGS = {"booths.hold_minutes": 60 * 24 * 3, "booths.offer_minutes": 60 * 24 * 2,
                    "booths.previous_show": ""}
PAYMENT_METHODS = ("bank_transfer", "cash", "card", "alipay", "wechat", "other")


class BoothError(ValueError):
    """A refusal with a message for the user and a stable code for the API."""

    def __init__(self, message: str, code: str = "refused", status: int = 422):
        super().__init__(message)
        self.code, self.status = code, status


# --- settings -------------------------------------------------------------------------------
def setting(show: Show | None, key: str):
    return get_setting(key, show)


# --- halls and booths -----------------------------------------------------------------------
def _cm(metres, what: str) -> int:
    if metres is None or str(metres).strip() == "":
        raise BoothError(_("%(what)s: give a number of metres.", what=what), "bad_value")
    try:
        value = round(float(metres) * 100)
    except (TypeError, ValueError):
        raise BoothError(_("%(what)s must be a number of metres, not %(value)s.", what=what, value=metres),
                         "bad_value")
    return value


def get_or_create_hall(show: Show, code: str, *, name_zh: str = "", name_en: str = "",
                       width_m: float = 100, depth_m: float = 60) -> Hall:
    code = (code or "").strip().upper()
    if not code:
        raise BoothError(_("A hall needs a code."), "bad_value")
    hall = db.session.scalar(select(Hall).where(Hall.show_id == show.id, Hall.code == code))
    if hall is None:
        hall = Hall(show_id=show.id, code=code, name_zh=name_zh or code, name_en=name_en or code,
                    width_cm=_cm(width_m, _("Hall width")), depth_cm=_cm(depth_m, _("Hall depth")))
        db.session.add(hall)
        db.session.flush()
    return hall


def _lock_hall(hall_id: int) -> None:
    # Serialise layout changes of one hall on PostgreSQL (SQLite: BEGIN IMMEDIATE already does).
    if not is_sqlite():
        db.session.execute(select(Hall.id).where(Hall.id == hall_id).with_for_update())


def overlapping_booth(hall_id: int, x: int, y: int, w: int, d: int, exclude_ids=()) -> Booth | None:
    """The booth of the hall whose rectangle overlaps this one (touching edges are fine)."""
    stmt = select(Booth).where(Booth.hall_id == hall_id, Booth.x_cm < x + w, Booth.x_cm + Booth.width_cm > x,
                               Booth.y_cm < y + d, Booth.y_cm + Booth.depth_cm > y)
    if exclude_ids:
        stmt = stmt.where(Booth.id.not_in(list(exclude_ids)))
    return db.session.scalars(stmt.limit(1)).first()


def check_booth_fields(code: str, x_m, y_m, width_m, depth_m, type_: str, open_sides) -> dict:
    code = (code or "").strip().upper()
    if not code or len(code) > 16:
        raise BoothError(_("A booth needs a code of at most 16 characters."), "bad_value")
    if type_ not in BOOTH_TYPES:
        raise BoothError(_("Unknown booth type %(type)s (one of %(types)s).", type=type_,
                           types=", ".join(BOOTH_TYPES)), "bad_value")
    try:
        sides = int(open_sides)
    except (TypeError, ValueError):
        sides = 0
    if not 1 <= sides <= 4:
        raise BoothError(_("Open sides must be 1 to 4, not %(value)s.", value=open_sides), "bad_value")
    x, y = _cm(x_m, "x"), _cm(y_m, "y")
    w, d = _cm(width_m, _("Width")), _cm(depth_m, _("Depth"))
    if w <= 0 or d <= 0 or x < 0 or y < 0:
        raise BoothError(_("Booth %(code)s: size must be positive and position not negative.", code=code),
                         "bad_value")
    return dict(code=code, x_cm=x, y_cm=y, width_cm=w, depth_cm=d, type=type_, open_sides=sides)


def add_booth(show: Show, hall_code: str, code: str, x_m, y_m, width_m, depth_m, type_: str = "shell",
              open_sides=1, *, blocked: bool = False, user=None) -> Booth:
    fields = check_booth_fields(code, x_m, y_m, width_m, depth_m, type_, open_sides)
    write_transaction()
    try:
        hall = get_or_create_hall(show, hall_code)
        _lock_hall(hall.id)
        booth = _insert_booth(show, hall, fields, blocked)
        audit("booth.create", booth, user=user, show_id=show.id, after=fields)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return booth


def _insert_booth(show: Show, hall: Hall, fields: dict, blocked: bool = False) -> Booth:
    if db.session.scalar(select(Booth.id).where(Booth.show_id == show.id, Booth.code == fields["code"])):
        raise BoothError(_("Booth %(code)s exists already.", code=fields["code"]), "duplicate")
    other = overlapping_booth(hall.id, fields["x_cm"], fields["y_cm"], fields["width_cm"], fields["depth_cm"])
    if other is not None:
        raise BoothError(_("Booth %(code)s overlaps booth %(other)s.", code=fields["code"], other=other.code),
                         "overlap")
    booth = Booth(show_id=show.id, hall_id=hall.id, blocked=blocked, **fields)
    db.session.add(booth)
    _layout_changed(hall.id)
    db.session.flush()
    return booth


def _layout_changed(hall_id: int) -> None:
    # The floor plan's geometry cache is keyed by this stamp (see floorplan.py). Random rather
    # than +1: a database restored or recreated under a running process (ids start again)
    # can then never meet a drawing cached for another one.
    db.session.execute(update(Hall).where(Hall.id == hall_id).values(layout_version=secrets.randbits(31)))


def set_blocked(booth: Booth, blocked: bool, reason: str, user=None) -> Booth:
    """Block a booth (a pillar, a fire exit, kept for the organizer) or unblock it, with a
    reason for the audit log. An unblocked booth goes to the first in its waiting list."""
    reason = (reason or "").strip()
    if not reason:
        raise BoothError(_("Give a reason."), "reason_required")
    write_transaction()
    offer, stale = None, []
    try:
        stmt = select(Booth).where(Booth.id == booth.id).execution_options(populate_existing=True)
        booth = db.session.scalar(stmt if is_sqlite() else stmt.with_for_update())
        if booth.blocked == blocked:
            raise BoothError(_("Booth %(code)s is already blocked.", code=booth.code) if blocked else
                             _("Booth %(code)s is not blocked.", code=booth.code), "bad_transition", 409)
        if blocked:
            stale = _expire_stale_holds(Booking.booth_id == booth.id)
            if _active_booking(booth.id) is not None:
                raise BoothError(_("Booth %(code)s is booked; release it before blocking it.", code=booth.code),
                                 "booth_taken", 409)
        before = {"blocked": booth.blocked, "reason": booth.blocked_reason}
        booth.blocked = blocked
        booth.blocked_reason = reason[:500] if blocked else ""
        db.session.flush()
        if not blocked and _active_booking(booth.id) is None:
            offer = _offer_to_waitlist(booth)
        audit("booth.block" if blocked else "booth.unblock", booth, user=user, show_id=booth.show_id,
              before=before, after={"blocked": blocked, "reason": reason})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    for b in stale:
        signals.booking_changed.send(b, old="held", new="expired", user=None)
    _announce_offers([offer])
    return booth


def _check_reshapable(booth: Booth) -> None:
    """Split and merge replace booths by new ones: refuse what would be lost with the old."""
    if _active_booking(booth.id) is not None:
        raise BoothError(_("Booth %(code)s is booked; release it first.", code=booth.code), "booth_taken", 409)
    if booth.blocked:
        raise BoothError(_("Booth %(code)s is blocked; unblock it first.", code=booth.code), "booth_blocked", 409)
    if db.session.scalar(select(Booking.id).where(Booking.booth_id == booth.id, Booking.contract_no.is_not(None))
                         .limit(1)):
        # Deleting the booth would delete its contracts and payments with it.
        raise BoothError(_("Booth %(code)s has contracts on record and cannot be reshaped.", code=booth.code),
                         "has_contracts", 409)
    waiting = db.session.scalar(select(func.count(WaitlistEntry.id)).where(WaitlistEntry.booth_id == booth.id,
                                                                           WaitlistEntry.status == "waiting"))
    if waiting:
        raise BoothError(_("Booth %(code)s has a waiting list (%(n)s waiting); take them off it first.",
                           n=waiting, code=booth.code), "has_waitlist", 409)


def _new_codes(*codes: str) -> list[str]:
    out = [(c or "").strip().upper() for c in codes]
    if any(not c or len(c) > 16 for c in out):
        raise BoothError(_("A booth needs a code of at most 16 characters."), "bad_value")
    if len(set(out)) != len(out):
        raise BoothError(_("The new booths need different codes."), "bad_value")
    return out


def split_booth(booth: Booth, at_m, *, codes: tuple[str, str], user=None) -> tuple[Booth, Booth]:
    """Split raw space across its width at ``at_m`` metres into two booths."""
    left_code, right_code = _new_codes(*codes)
    cut = _cm(at_m, _("Split position"))
    write_transaction()
    try:
        booth = db.session.get(Booth, booth.id)
        if booth.type != "raw":
            raise BoothError(_("Only raw space can be split."), "not_raw")
        _check_reshapable(booth)
        if not 0 < cut < booth.width_cm:
            raise BoothError(_("The split must fall inside the booth (between 0 and %(w)s m).",
                               w=f"{booth.width_cm / 100:g}"), "bad_value")
        _lock_hall(booth.hall_id)
        hall, show = booth.hall, db.session.get(Show, booth.show_id)
        old = {"code": booth.code, "width_cm": booth.width_cm}
        geometry = (booth.x_cm, booth.y_cm, booth.width_cm, booth.depth_cm)
        db.session.delete(booth)
        db.session.flush()
        x, y, w, d = geometry
        left = _insert_booth(show, hall, dict(code=left_code, x_cm=x, y_cm=y, width_cm=cut,
                                              depth_cm=d, type="raw", open_sides=1))
        right = _insert_booth(show, hall, dict(code=right_code, x_cm=x + cut, y_cm=y,
                                               width_cm=w - cut, depth_cm=d, type="raw", open_sides=1))
        audit("booth.split", left, user=user, show_id=show.id, before=old, after={"codes": [left_code, right_code]})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return left, right


def merge_booths(a: Booth, b: Booth, *, code: str, user=None) -> Booth:
    """Merge two adjacent raw-space booths of equal depth (side by side) into one."""
    (code,) = _new_codes(code)
    write_transaction()
    try:
        a, b = db.session.get(Booth, a.id), db.session.get(Booth, b.id)
        if a.id == b.id:
            raise BoothError(_("Choose two different booths to merge."), "bad_value")
        if a.type != "raw" or b.type != "raw":
            raise BoothError(_("Only raw space can be merged."), "not_raw")
        if a.hall_id != b.hall_id:
            raise BoothError(_("Booths in different halls cannot be merged."), "bad_value")
        for booth in (a, b):
            _check_reshapable(booth)
        left, right = sorted((a, b), key=lambda x: x.x_cm)
        if not (left.y_cm == right.y_cm and left.depth_cm == right.depth_cm and
                left.x_cm + left.width_cm == right.x_cm):
            raise BoothError(_("Booths %(a)s and %(b)s are not side by side with equal depth.",
                               a=left.code, b=right.code), "bad_value")
        _lock_hall(a.hall_id)
        show, hall = db.session.get(Show, a.show_id), a.hall
        fields = dict(code=code, x_cm=left.x_cm, y_cm=left.y_cm,
                      width_cm=left.width_cm + right.width_cm, depth_cm=left.depth_cm, type="raw",
                      open_sides=max(left.open_sides, right.open_sides))
        before = {"codes": [left.code, right.code]}
        db.session.delete(left)
        db.session.delete(right)
        db.session.flush()
        merged = _insert_booth(show, hall, fields)
        audit("booth.merge", merged, user=user, show_id=show.id, before=before, after=fields)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return merged


def booth_by_code(show: Show, code: str) -> Booth | None:
    return db.session.scalar(select(Booth).where(Booth.show_id == show.id,
                                                 Booth.code == (code or "").strip().upper()))


# --- price list ---------------------------------------------------------------------------
def publish_price_list(show: Show, rates: dict, *, corner_surcharge_pct: int = 0, open_side_surcharge_pct: int = 0,
                       early_bird_until: dt.date | None = None, early_bird_pct: int = 0, deposit_pct: int = 30,
                       balance_due: dt.date | None = None, user=None) -> PriceList:
    unknown = set(rates) - set(BOOTH_TYPES)
    if unknown:
        raise BoothError(_("Unknown booth types in the price list: %(types)s", types=", ".join(sorted(unknown))),
                         "bad_value")
    if any(not isinstance(v, int) or v < 0 for v in rates.values()):
        raise BoothError(_("Prices per m² must be whole, non-negative minor units."), "bad_value")
    for pct in (corner_surcharge_pct, open_side_surcharge_pct, early_bird_pct, deposit_pct):
        if not 0 <= pct <= 100:
            raise BoothError(_("Percentages must be between 0 and 100."), "bad_value")
    write_transaction()
    pl = db.session.scalar(select(PriceList).where(PriceList.show_id == show.id))
    before = None
    if pl is None:
        pl = PriceList(show_id=show.id)
        db.session.add(pl)
    else:
        before = {"rates": pl.rates, "corner": pl.corner_surcharge_pct, "open_side": pl.open_side_surcharge_pct}
    pl.currency, pl.rates = show.currency, dict(rates)
    pl.corner_surcharge_pct, pl.open_side_surcharge_pct = corner_surcharge_pct, open_side_surcharge_pct
    pl.early_bird_until, pl.early_bird_pct = early_bird_until, early_bird_pct
    pl.deposit_pct, pl.balance_due, pl.published_at = deposit_pct, balance_due, utcnow()
    db.session.flush()
    audit("price_list.publish", pl, user=user, show_id=show.id, before=before,
          after={"rates": rates, "corner": corner_surcharge_pct, "open_side": open_side_surcharge_pct,
                 "early_bird_until": early_bird_until, "early_bird_pct": early_bird_pct})
    db.session.commit()
    return pl


def price_list(show: Show) -> PriceList | None:
    return db.session.scalar(select(PriceList).where(PriceList.show_id == show.id))


def _rule_terms(name: str, percent, min_area_m2, booth_type: str) -> dict:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise BoothError(_("A discount rule needs a name of at most 100 characters."), "bad_value")
    try:
        percent = int(percent)
    except (TypeError, ValueError):
        percent = 0
    if not 1 <= percent <= 100:
        raise BoothError(_("A discount is 1 to 100 percent."), "bad_value")
    try:
        area = round(float(min_area_m2 or 0) * 10_000)
    except (TypeError, ValueError):
        area = -1
    if area < 0:
        raise BoothError(_("The minimum area must be a number of m², not %(value)s.", value=min_area_m2), "bad_value")
    booth_type = booth_type or ""
    if booth_type and booth_type not in BOOTH_TYPES:
        raise BoothError(_("Unknown booth type %(type)s (one of %(types)s).", type=booth_type,
                           types=", ".join(BOOTH_TYPES)), "bad_value")
    return {"name": name, "percent": percent, "min_area_cm2": area, "booth_type": booth_type}


def _rule_json(rule: DiscountRule) -> dict:
    return {"name": rule.name, "percent": rule.percent, "min_area_m2": rule.min_area_cm2 / 10_000,
            "booth_type": rule.booth_type}


def add_discount_rule(show: Show, name: str, percent: int, *, min_area_m2: float = 0, booth_type: str = "",
                      user=None) -> DiscountRule:
    terms = _rule_terms(name, percent, min_area_m2, booth_type)
    write_transaction()
    rule = DiscountRule(show_id=show.id, **terms)
    db.session.add(rule)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise BoothError(_("A discount rule named %(name)s exists already.", name=terms["name"]), "duplicate", 409)
    audit("discount_rule.create", rule, user=user, show_id=show.id, after=_rule_json(rule))
    db.session.commit()
    return rule


def rule_bookings(rule_id: int) -> int:
    """How many bookings (of any status) cite the rule as the justification of their price."""
    return db.session.scalar(select(func.count(Booking.id)).where(Booking.discount_rule_id == rule_id))


def _locked_rule(show: Show, rule_id) -> DiscountRule:
    try:
        stmt = select(DiscountRule).where(DiscountRule.id == int(rule_id), DiscountRule.show_id == show.id)
    except (TypeError, ValueError):
        stmt = None
    rule = db.session.scalar(stmt.execution_options(populate_existing=True) if is_sqlite()
                             else stmt.with_for_update()) if stmt is not None else None
    if rule is None:
        raise BoothError(_("No such discount rule in this show."), "unknown_rule", 404)
    return rule


def edit_discount_rule(show: Show, rule_id, name: str, percent, *, min_area_m2=0, booth_type: str = "",
                       user=None) -> DiscountRule:
    """Change a rule's name or terms — only while no booking cites it. A cited rule's terms
    are the recorded justification of those bookings' prices, so it is frozen: retire it
    and publish a new rule instead (the deviations page keeps naming the old one)."""
    terms = _rule_terms(name, percent, min_area_m2, booth_type)
    write_transaction()
    try:
        rule = _locked_rule(show, rule_id)   # PostgreSQL: waits for a hold citing it (FOR SHARE)
        if rule.retired_at is not None:
            raise BoothError(_("The discount rule %(name)s is retired.", name=rule.name), "rule_retired", 409)
        cited = rule_bookings(rule.id)
        if cited:
            raise BoothError(_("The discount rule %(name)s is cited by bookings (%(n)s) and cannot be changed; "
                               "retire it and publish a new rule.", name=rule.name, n=cited), "rule_cited", 409)
        before = _rule_json(rule)
        for k, v in terms.items():
            setattr(rule, k, v)
        try:
            db.session.flush()
        except IntegrityError:
            raise BoothError(_("A discount rule named %(name)s exists already.", name=terms["name"]),
                             "duplicate", 409)
        audit("discount_rule.edit", rule, user=user, show_id=show.id, before=before, after=_rule_json(rule))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return rule


def retire_discount_rule(show: Show, rule_id, user=None) -> DiscountRule:
    """Withdraw a rule: no new booking may use it; bookings that cite it keep their price."""
    write_transaction()
    try:
        rule = _locked_rule(show, rule_id)
        if rule.retired_at is not None:
            raise BoothError(_("The discount rule %(name)s is retired.", name=rule.name), "rule_retired", 409)
        rule.retired_at = utcnow()
        audit("discount_rule.retire", rule, user=user, show_id=show.id, after=dict(_rule_json(rule), retired=True))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return rule


def discount_rules(show: Show, *, current_only: bool = False) -> list:
    """(rule, bookings citing it) for the show, current rules first."""
    return db.session.execute(discount_rules_stmt(show, current_only=current_only)).all()


def discount_rules_stmt(show: Show, *, current_only: bool = False):
    cited = (select(Booking.discount_rule_id, func.count(Booking.id).label("n"))
             .where(Booking.show_id == show.id, Booking.discount_rule_id.is_not(None))
             .group_by(Booking.discount_rule_id).subquery())
    stmt = (select(DiscountRule, func.coalesce(cited.c.n, 0))
            .outerjoin(cited, cited.c.discount_rule_id == DiscountRule.id)
            .where(DiscountRule.show_id == show.id)
            .order_by(DiscountRule.retired_at.is_not(None), DiscountRule.name))
    if current_only:
        stmt = stmt.where(DiscountRule.retired_at.is_(None))
    return stmt.order_by(DiscountRule.id)


def rule_json(rule: DiscountRule, cited: int | None = None) -> dict:
    out = dict(_rule_json(rule), id=rule.id, retired=rule.retired_at is not None,
               retired_at=rule.retired_at.isoformat() if rule.retired_at else None)
    if cited is not None:
        out["bookings"] = cited
    return out


def quote(booth: Booth, on: dt.date, pl: PriceList | None = None) -> dict:
    """The list price of a booth on a date, with its breakdown (all integers, minor units).
    Raises BoothError when the show has no published price for the booth's type."""
    pl = pl or db.session.scalar(select(PriceList).where(PriceList.show_id == booth.show_id))
    if pl is None or pl.published_at is None:
        raise BoothError(_("The show has no published price list."), "no_price")
    if booth.type not in (pl.rates or {}):
        raise BoothError(_("The price list has no price for %(type)s booths.", type=booth.type), "no_price")
    rate = int(pl.rates[booth.type])
    area = booth.width_cm * booth.depth_cm
    base = (rate * area + 5_000) // 10_000        # rounded half up to the fen
    corner = base * pl.corner_surcharge_pct // 100 if booth.type == "corner" else 0
    sides = base * pl.open_side_surcharge_pct * (booth.open_sides - 1) // 100
    early = 0
    if pl.early_bird_until and on <= pl.early_bird_until and pl.early_bird_pct:
        early = (base + corner + sides) * pl.early_bird_pct // 100
    total = base + corner + sides - early
    return {"currency": pl.currency, "rate_minor": rate, "area_cm2": area, "base_minor": base,
            "corner_minor": corner, "open_sides_minor": sides, "early_bird_minor": early, "total_minor": total}


def rule_applies(rule: DiscountRule, booth: Booth) -> bool:
    return (booth.width_cm * booth.depth_cm >= rule.min_area_cm2 and
            (not rule.booth_type or rule.booth_type == booth.type))


# --- bookings -----------------------------------------------------------------------------
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


def expire_holds(show: Show | None = None) -> int:
    """Release every hold past its time (also done lazily when a booth is read or booked);
    the waiting list gets its offers. Returns how many holds expired."""
    where = Booking.show_id == show.id if show is not None else True
    if not db.session.scalar(select(Booking.id).where(where, Booking.status == "held",
                                                      Booking.held_until < utcnow()).limit(1)):
        return 0
    write_transaction()
    try:
        stale = _expire_stale_holds(where)
        offers = [_offer_to_waitlist(b.booth) for b in stale]
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    for b in stale:
        signals.booking_changed.send(b, old="held", new="expired", user=None)
        signals.booth_released.send(b.booth)
    _announce_offers(offers)
    return len(stale)


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


def _apply_price(booking: Booking, booth: Booth, on: dt.date, rule: DiscountRule | None) -> None:
    q = quote(booth, on)
    booking.currency = q["currency"]
    booking.list_price_minor = q["total_minor"]
    booking.price_breakdown = q
    booking.discount_rule_id = None
    price = q["total_minor"]
    if rule is not None:
        if not rule_applies(rule, booth):
            raise BoothError(_("The discount %(name)s does not apply to booth %(code)s.", name=rule.name,
                               code=booth.code), "rule_not_applicable")
        cut = price * rule.percent // 100
        booking.discount_rule_id = rule.id
        booking.price_breakdown = dict(q, discount_rule=rule.name, discount_minor=cut)
        price -= cut
    booking.price_minor = price
    booking.exception_price_minor = None
    booking.exception_reason = ""
    booking.exception_requested_by_id = booking.exception_approved_by_id = None
    pl = db.session.scalar(select(PriceList).where(PriceList.show_id == booth.show_id))
    booking.deposit_minor = price * pl.deposit_pct // 100
    booking.balance_due = pl.balance_due


def hold_booth(show: Show, booth_code: str, exhibitor_id, *, discount_rule_id=None, minutes: int | None = None,
               user=None, portal: bool = False) -> Booking:
    """Put a time-limited hold on a free booth for an exhibitor. Refused (BoothError
    'booth_taken', 409) if any active booking has it — the database decides a race."""
    write_transaction()
    try:
        booth = booth_by_code(show, booth_code)
        if booth is None:
            raise BoothError(_("No booth %(code)s in this show.", code=booth_code), "unknown_booth", 404)
        if _blocked_now(booth):
            raise BoothError(_("Booth %(code)s is blocked.", code=booth.code), "booth_blocked", 409)
        exhibitor = _exhibitor(show, exhibitor_id)
        stale = _expire_stale_holds(Booking.booth_id == booth.id)
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
        rule = None
        if discount_rule_id:
            try:
                stmt = select(DiscountRule).where(DiscountRule.id == int(discount_rule_id),
                                                  DiscountRule.show_id == show.id)
            except (TypeError, ValueError):
                raise BoothError(_("No such discount rule in this show."), "unknown_rule", 404)
            # PostgreSQL: FOR SHARE so an edit of the rule cannot slip in before this hold cites it.
            rule = db.session.scalar(stmt if is_sqlite() else stmt.with_for_update(read=True))
            if rule is None:
                raise BoothError(_("No such discount rule in this show."), "unknown_rule", 404)
            if rule.retired_at is not None:
                raise BoothError(_("The discount rule %(name)s is retired.", name=rule.name), "rule_retired", 409)
        minutes = minutes if minutes is not None else int(setting(show, "booths.hold_minutes"))
        booking = Booking(show_id=show.id, booth_id=booth.id, exhibitor_id=exhibitor.id, status="held",
                          held_until=utcnow() + dt.timedelta(minutes=minutes))
        _apply_price(booking, booth, utcnow().date(), rule)
        db.session.add(booking)
        code = booth.code
        try:
            db.session.flush()
        except IntegrityError:
            # A parallel request won the race (PostgreSQL: the partial unique index decided).
            db.session.rollback()
            raise BoothError(_("Booth %(code)s is already taken.", code=code), "booth_taken", 409)
        audit("booking.hold", booking, user=user, after=booking_json(booking))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    for b in stale:
        signals.booking_changed.send(b, old="held", new="expired", user=None)
    signals.booking_changed.send(booking, old=None, new="held", user=user)
    return booking


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


def _transition(booking: Booking, allowed: tuple[str, ...], new: str, action: str, user, change=None,
                reason: str = "") -> Booking:
    write_transaction()
    released = None
    offer = None
    try:
        booking = _locked(booking)
        old = booking.status
        if old == "held" and booking.held_until and booking.held_until < utcnow():
            _expire_stale_holds(Booking.id == booking.id)
            offer = _offer_to_waitlist(booking.booth)     # the booth is free again: next in line
            db.session.commit()
            signals.booking_changed.send(booking, old="held", new="expired", user=None)
            signals.booth_released.send(booking.booth)
            _announce_offers([offer])
            raise BoothError(_("The hold on booth %(code)s expired.", code=booking.booth.code), "hold_expired", 409)
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
        if released is not None:
            offer = _offer_to_waitlist(released)
        audit(action, booking, user=user, before=before, after=booking_json(booking))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    signals.booking_changed.send(booking, old=old, new=new, user=user)
    if released is not None:
        signals.booth_released.send(released)
        _announce_offers([offer])
    return booking


def next_number(show_id: int, kind: str) -> int:
    """The next number of a document series, inside the caller's transaction (no gaps)."""
    n = db.session.scalar(update(DocumentCounter).where(DocumentCounter.show_id == show_id, DocumentCounter.kind == kind)
                          .values(last_no=DocumentCounter.last_no + 1).returning(DocumentCounter.last_no))
    if n is None:
        try:
            with db.session.begin_nested():
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
    write_transaction()
    try:
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
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise BoothError(_("The payment exceeds the balance."), "exceeds_balance")
    except BaseException:
        db.session.rollback()
        raise
    signals.payment_recorded.send(payment)
    if booking.status != old:
        signals.booking_changed.send(booking, old=old, new=booking.status, user=user)
    return payment


def move(booking: Booking, new_booth_code: str, user=None, reason: str = "") -> Booking:
    """Move an active booking to another free booth of the show: same booking, the price
    recomputed for the new booth (the discount rule kept if it still applies)."""
    write_transaction()
    try:
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
        code = target.code
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            raise BoothError(_("Booth %(code)s is already taken.", code=code), "booth_taken", 409)
        db.session.refresh(booking, ["booth"])
        offer = _offer_to_waitlist(old_booth)
        audit("booking.move", booking, user=user, before=before, after=dict(booking_json(booking), reason=reason))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    signals.booking_changed.send(booking, old=booking.status, new=booking.status, user=user)
    signals.booth_released.send(old_booth)
    _announce_offers([offer])
    return booking


# --- price deviations ---------------------------------------------------------------------
def request_price_exception(booking: Booking, price_minor: int, reason: str, user) -> Booking:
    if user is None:
        raise BoothError(_("A price exception needs a signed-in author."), "forbidden", 403)
    if not isinstance(price_minor, int) or price_minor < 0:
        raise BoothError(_("A price must be a whole, non-negative amount."), "bad_amount")
    if not (reason or "").strip():
        raise BoothError(_("A price exception needs a reason."), "reason_required")
    write_transaction()
    try:
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
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return booking


def approve_price_exception(booking: Booking, user) -> Booking:
    write_transaction()
    try:
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
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return booking


def price_deviations(show: Show):
    """Every active or past booking whose price differs from the list price, with why."""
    return db.session.execute(
        select(Booking, Booth.code, Organization.name_zh, Organization.name_en, DiscountRule.name)
        .join(Booth, Booth.id == Booking.booth_id).join(Exhibitor, Exhibitor.id == Booking.exhibitor_id)
        .join(Organization, Organization.id == Exhibitor.organization_id)
        .outerjoin(DiscountRule, DiscountRule.id == Booking.discount_rule_id)
        .where(Booking.show_id == show.id, Booking.price_minor != Booking.list_price_minor)
        .order_by(Booth.code)).all()


# --- waiting list ---------------------------------------------------------------------------
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
    write_transaction()
    try:
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
            raise BoothError(_("The exhibitor is already on this waiting list."), "duplicate", 409)
        entry = WaitlistEntry(show_id=show.id, exhibitor_id=exhibitor.id, booth_id=booth.id if booth else None,
                              booth_type="" if booth else booth_type, status="waiting")
        db.session.add(entry)
        try:
            db.session.flush()
        except IntegrityError:     # a parallel request put the same entry in first
            raise BoothError(_("The exhibitor is already on this waiting list."), "duplicate", 409)
        audit("waitlist.join", entry, user=user, show_id=show.id,
              after={"exhibitor_id": exhibitor.id, "booth": booth.code if booth else "", "booth_type": booth_type})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
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
    write_transaction()
    try:
        stmt = select(WaitlistEntry).where(WaitlistEntry.id == entry.id).execution_options(populate_existing=True)
        entry = db.session.scalar(stmt if is_sqlite() else stmt.with_for_update())
        if entry.status != "waiting":
            raise BoothError(_("This entry is no longer waiting (it is %(status)s).",
                               status=WAITLIST_TITLES[entry.status]), "bad_transition", 409)
        entry.status, entry.left_at = "left", utcnow()
        audit("waitlist.leave", entry, user=user, show_id=entry.show_id,
              before={"status": "waiting"}, after={"status": "left"})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
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
                        held_until=now + dt.timedelta(minutes=int(setting(show, "booths.offer_minutes"))))
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
            signals.booking_changed.send(offer, old=None, new="held", user=None)


# --- rebooking --------------------------------------------------------------------------------
def previous_show(show: Show) -> Show | None:
    """Shows form a series through the setting 'booths.previous_show' (the slug of the
    edition before this one)."""
    slug = setting(show, "booths.previous_show")
    return db.session.scalar(select(Show).where(Show.slug == slug)) if slug else None


def priority_points(show: Show) -> list[dict]:
    """Returning exhibitors of this show ranked for rebooking: 10 points per edition
    attended, 1 per 10 000 (major units) spent, 5 per edition paid in full by the due date."""
    org_editions = (select(Exhibitor.organization_id.label("org"), func.count(func.distinct(Booking.show_id)).label("n"),
                           func.sum(Booking.paid_minor).label("spent"),
                           func.sum(case((Booking.status == "paid", 1), else_=0)).label("paid"))
                    .join(Booking, Booking.exhibitor_id == Exhibitor.id)
                    .where(Booking.status.in_(("confirmed", "paid")), Booking.show_id != show.id)
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
    prev = previous_show(show)
    if prev is None:
        return None
    return db.session.scalar(
        select(Booth.code).join(Booking, Booking.booth_id == Booth.id).join(Exhibitor, Exhibitor.id == Booking.exhibitor_id)
        .where(Booking.show_id == prev.id, Exhibitor.organization_id == exhibitor.organization_id,
               Booking.status.in_(("confirmed", "paid"))).order_by(Booking.id.desc()).limit(1))


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
            made.append(hold_booth(show, code, exhibitor.id, minutes=int(setting(show, "booths.offer_minutes")),
                                   user=user))
        except BoothError:
            continue     # the booth is gone, blocked or taken: the exhibitor books like everyone else
    return made


# --- reading --------------------------------------------------------------------------------
def booking_json(b: Booking) -> dict:
    return {"id": b.id, "booth": b.booth.code if b.booth is not None else None, "exhibitor": b.exhibitor_id,
            "status": b.status, "held_until": b.held_until.isoformat() if b.held_until else None,
            "currency": b.currency, "list_price_minor": b.list_price_minor, "price_minor": b.price_minor,
            "paid_minor": b.paid_minor, "balance_minor": b.price_minor - b.paid_minor,
            "deposit_minor": b.deposit_minor, "contract_no": b.contract_no,
            "balance_due": b.balance_due.isoformat() if b.balance_due else None}


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


def booth_rows(show: Show, hall_id: int | None = None) -> list:
    """Every booth with its status and the exhibitor that has it — one query (floor plan, API).
    A hold past its time already counts as available here, before expire_holds() writes it."""
    return db.session.execute(_rows_stmt(show, hall_id, (Booth,))).all()


def booth_row(show: Show, booth_id: int):
    return db.session.execute(_rows_stmt(show, None, (Booth,)).where(Booth.id == booth_id)).first()


def plan_rows(show: Show, hall_id: int) -> list:
    """booth_rows for drawing: plain columns, no ORM objects (2,000 booths in a few ms)."""
    return db.session.execute(_rows_stmt(show, hall_id, (Booth.code, Booth.x_cm, Booth.y_cm, Booth.width_cm,
                                                          Booth.depth_cm))).all()


def plan_live(show: Show, hall_id: int) -> dict:
    """{booth id: (status, name_zh, name_en)} of the hall's taken or blocked booths — one
    query, run through the Core (no ORM rows): the floor plan's only per-render read."""
    stmt = (_rows_stmt(show, hall_id, (Booth.id,)).where(or_(Booth.blocked, Booking.id.is_not(None)))
            .order_by(None))
    return {r[0]: (r[1], r[4], r[5]) for r in db.session.connection().execute(stmt).all()}


def plan_geometry(hall_id: int) -> list:
    """(id, code, x, y, width, depth) of the hall's booths in drawing order (cached by the plan)."""
    return db.session.connection().execute(
        select(Booth.id, Booth.code, Booth.x_cm, Booth.y_cm, Booth.width_cm, Booth.depth_cm)
        .where(Booth.hall_id == hall_id).order_by(Booth.code)).all()


def hall_svg(show: Show, hall: Hall) -> str:
    from .floorplan import hall_svg as draw
    # The version straight from the database, not from a Hall the session may hold stale.
    version = db.session.scalar(select(Hall.layout_version).where(Hall.id == hall.id))
    return draw(hall, version, plan_live(show, hall.id), lambda: plan_geometry(hall.id))


def _rows_stmt(show: Show, hall_id: int | None, booth_columns: tuple):
    now = utcnow()
    # Joined in the ON clause (not a subquery) so both databases use the booth_id index.
    live = and_(Booking.booth_id == Booth.id, Booking.status.in_(ACTIVE_STATES),
                or_(Booking.status != "held", Booking.held_until >= now))
    status = case((Booth.blocked, "blocked"), (Booking.status == "held", "held"),
                  (Booking.status == "reserved", "reserved"), (Booking.status.is_not(None), "sold"),
                  else_="available")
    stmt = (select(*booth_columns, status.label("status"), Booking.id.label("booking_id"), Booking.exhibitor_id,
                   Organization.name_zh, Organization.name_en)
            .select_from(Booth)
            .outerjoin(Booking, live)
            .outerjoin(Exhibitor, Exhibitor.id == Booking.exhibitor_id)
            .outerjoin(Organization, Organization.id == Exhibitor.organization_id)
            .where(Booth.show_id == show.id).order_by(Booth.code))
    if hall_id is not None:
        stmt = stmt.where(Booth.hall_id == hall_id)
    return stmt


def halls(show: Show) -> list[Hall]:
    return db.session.scalars(select(Hall).where(Hall.show_id == show.id).order_by(Hall.code)).all()


def figures(show: Show) -> dict:
    """Booth figures in SQL aggregates. Net m² follows UFI net space: contracted stands only
    (reserved, confirmed or paid — holds are not contracts)."""
    contracted = ("reserved", "confirmed", "paid")
    area = Booth.width_cm * Booth.depth_cm
    total = db.session.execute(select(func.count(Booth.id), func.coalesce(func.sum(area), 0))
                               .where(Booth.show_id == show.id, Booth.blocked.is_(False))).one()
    # One grouped query (a handful of type × hall groups) gives every other figure.
    groups = db.session.execute(
        select(Booth.type, Hall.code, func.count(Booking.id), func.sum(area), func.sum(Booking.price_minor),
               func.sum(Booking.paid_minor))
        .join(Booking, Booking.booth_id == Booth.id).join(Hall, Hall.id == Booth.hall_id)
        .where(Booking.show_id == show.id, Booking.status.in_(contracted))
        .group_by(Booth.type, Hall.code)).all()
    by_type: dict = {}
    by_hall: dict = {}
    for type_, hall, _n, a, _price, _paid in groups:
        by_type[type_] = by_type.get(type_, 0) + int(a)
        by_hall[hall] = by_hall.get(hall, 0) + int(a)
    net = sum(int(g[3]) for g in groups)
    return {
        "booths": total[0], "gross_m2": int(total[1]) / 10_000, "contracted_booths": sum(g[2] for g in groups),
        "net_m2": net / 10_000, "revenue_booked_minor": sum(int(g[4]) for g in groups),
        "revenue_received_minor": sum(int(g[5]) for g in groups), "currency": show.currency,
        "occupancy_pct": round(100 * net / int(total[1]), 1) if total[1] else 0.0,
        "m2_by_type": {t: a / 10_000 for t, a in sorted(by_type.items())},
        "m2_by_hall": {h: a / 10_000 for h, a in sorted(by_hall.items())},
    }


def customer_history(organization, entries: list) -> None:
    """collect_customer_history handler: booth codes, m² and spend per edition."""
    rows = db.session.execute(
        select(Show.id, Show.slug, Show.name_zh, Show.name_en, func.count(Booking.id),
               func.sum(Booth.width_cm * Booth.depth_cm), func.sum(Booking.price_minor), func.sum(Booking.paid_minor),
               Show.currency)
        .join(Booking, Booking.show_id == Show.id).join(Booth, Booth.id == Booking.booth_id)
        .join(Exhibitor, Exhibitor.id == Booking.exhibitor_id)
        .where(Exhibitor.organization_id == organization.id, Booking.status.in_(("reserved", "confirmed", "paid")))
        .group_by(Show.id, Show.slug, Show.name_zh, Show.name_en, Show.currency).order_by(Show.id)).all()
    for sid, slug, name_zh, name_en, n, area, price, paid, currency in rows:
        codes = db.session.scalars(select(Booth.code).join(Booking, Booking.booth_id == Booth.id)
                                   .join(Exhibitor, Exhibitor.id == Booking.exhibitor_id)
                                   .where(Booking.show_id == sid, Exhibitor.organization_id == organization.id,
                                          Booking.status.in_(("reserved", "confirmed", "paid")))).all()
        entries.append({"show": name_zh or name_en, "kind": "booths", "label": _("Booths"),
                        "value": _("%(codes)s · %(m2)s m² · %(spend)s %(cur)s", codes=", ".join(codes),
                                   m2=f"{int(area or 0) / 10_000:g}", spend=f"{int(price or 0) / 100:,.2f}",
                                   cur=currency),
                        "url": f"/booths/?show={slug}"})


# --- import ---------------------------------------------------------------------------------
def import_rows(show: Show, rows: list[tuple[int, dict]], dry_run: bool) -> dict:
    """apply_rows for `crm-expo import booths`: one transaction for the batch. A row whose
    booth overlaps a booth already there or an earlier row is rejected naming both; a
    booth already there with the same geometry counts as unchanged."""
    from crm_expo.contacts.importing import RowProblem
    write_transaction()
    imported = unchanged = 0
    problems = []
    try:
        for rownum, v in rows:
            try:
                fields = check_booth_fields(v.get("code", ""), v.get("x"), v.get("y"), v.get("width"), v.get("depth"),
                                            (v.get("type") or "shell"), v.get("open_sides") or 1)
                existing = booth_by_code(show, fields["code"])
                if existing is not None:
                    same = all(getattr(existing, k) == fields[k] for k in ("x_cm", "y_cm", "width_cm", "depth_cm",
                                                                            "type", "open_sides"))
                    if same and existing.hall.code == v["hall"].strip().upper():
                        unchanged += 1
                        continue
                    raise BoothError(_("Booth %(code)s exists already with another position or size.",
                                       code=fields["code"]), "duplicate")
                hall = get_or_create_hall(show, v["hall"])
                _lock_hall(hall.id)
                with db.session.begin_nested():
                    _insert_booth(show, hall, fields)
                imported += 1
            except BoothError as exc:
                problems.append(RowProblem(rownum, "", str(exc)))
        if imported:
            audit("booth.import", None, show_id=show.id, object_type="Show", object_id=show.id,
                  after={"imported": imported, "rows": len(rows)})
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return {"imported": imported, "unchanged": unchanged, "problems": problems}


# --- generate -------------------------------------------------------------------------------
def generate(show: Show, counts: dict, rng) -> None:
    """counts['booths'] booths on a grid of halls (rows of 3 m × 3 m shell scheme booths, with
    corners and some raw space), a price list if none, and about 60 % of them booked to
    the show's exhibitors in various states. Bulk inserts; deterministic for a seed."""
    n = int(counts.get("booths") or 0)
    if n <= 0:
        return
    write_transaction()
    per_hall, per_row = 400, 25
    hall_count = (n + per_hall - 1) // per_hall
    halls_made = []
    for h in range(hall_count):
        code = chr(ord("A") + h % 26) + (str(h // 26) if h >= 26 else "")
        halls_made.append(get_or_create_hall(show, code, width_m=per_row * 4 + 4, depth_m=(per_hall // per_row) * 4 + 4))
    existing = set(db.session.scalars(select(Booth.code).where(Booth.show_id == show.id)).all())
    booths = []
    for i in range(n):
        hall = halls_made[i // per_hall]
        k = i % per_hall
        r, c = divmod(k, per_row)
        code = f"{hall.code}{r + 1:02d}{c + 1:02d}"
        if code in existing:
            continue
        kind = "corner" if c in (0, per_row - 1) else ("raw" if rng.random() < 0.15 else "shell")
        booths.append({"show_id": show.id, "hall_id": hall.id, "code": code, "x_cm": 200 + c * 400,
                       "y_cm": 200 + r * 400, "width_cm": 300, "depth_cm": 300, "type": kind,
                       "open_sides": 2 if kind == "corner" else 1, "blocked": rng.random() < 0.02})
    if booths:
        db.session.execute(Booth.__table__.insert(), booths)
        for hall in halls_made:
            _layout_changed(hall.id)
    if db.session.scalar(select(PriceList.id).where(PriceList.show_id == show.id)) is None:
        db.session.add(PriceList(show_id=show.id, currency=show.currency, published_at=utcnow(), deposit_pct=30,
                                 rates={"shell": 150_000, "raw": 120_000, "corner": 160_000, "peninsula": 170_000,
                                        "island": 180_000}, corner_surcharge_pct=10, open_side_surcharge_pct=5,
                                 balance_due=(show.start or utcnow().date()) - dt.timedelta(days=30)))
    db.session.flush()
    exhibitors = db.session.scalars(select(Exhibitor.id).where(Exhibitor.show_id == show.id,
                                                               Exhibitor.status.not_in(("rejected", "withdrawn")))
                                    .order_by(Exhibitor.id)).all()
    free = db.session.scalars(select(Booth).where(Booth.show_id == show.id, Booth.blocked.is_(False),
                                                  Booth.id.not_in(select(Booking.booth_id).where(
                                                      Booking.status.in_(ACTIVE_STATES))))
                              .order_by(Booth.code)).all()
    rng.shuffle(free)
    pl = db.session.scalar(select(PriceList).where(PriceList.show_id == show.id))
    contract = db.session.scalar(select(DocumentCounter).where(DocumentCounter.show_id == show.id,
                                                               DocumentCounter.kind == "contract"))
    if contract is None:
        contract = DocumentCounter(show_id=show.id, kind="contract", last_no=0)
        db.session.add(contract)
    bookings = []
    now = utcnow()
    for booth in free[: int(len(free) * 0.6)] if exhibitors else []:
        ex = rng.choice(exhibitors)
        q = quote(booth, now.date(), pl)
        status = rng.choices(("held", "reserved", "confirmed", "paid"), (1, 2, 3, 4))[0]
        price = q["total_minor"]
        deposit = price * pl.deposit_pct // 100
        paid = {"held": 0, "reserved": 0, "confirmed": deposit, "paid": price}[status]
        contract_no = None
        if status != "held":
            contract.last_no += 1
            contract_no = f"C-{contract.last_no:05d}"
        bookings.append({"show_id": show.id, "booth_id": booth.id, "exhibitor_id": ex, "status": status,
                         "held_until": now + dt.timedelta(days=3) if status == "held" else None,
                         "currency": q["currency"], "list_price_minor": price, "price_minor": price,
                         "price_breakdown": q, "paid_minor": paid, "deposit_minor": deposit,
                         "balance_due": pl.balance_due, "contract_no": contract_no, "created_at": now,
                         "updated_at": now, "exception_reason": "", "end_reason": ""})
    if bookings:
        db.session.execute(Booking.__table__.insert(), bookings)
    db.session.commit()
