"""The published price list, discount rules, and the price of a booth (integers, minor units)."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import func, select

from crm_expo.database import is_sqlite, transaction, utcnow
from crm_expo.extensions import db
from crm_expo.models import Show, audit

from ..models import (
    BOOTH_TYPES,
    Booking,
    Booth,
    DiscountRule,
    PriceList,
)
from .common import (
    BoothError,
)


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
    with transaction():
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
    with transaction(constraint_errors=_rule_name_taken(terms["name"])):
        rule = DiscountRule(show_id=show.id, **terms)
        db.session.add(rule)
        db.session.flush()
        audit("discount_rule.create", rule, user=user, show_id=show.id, after=_rule_json(rule))
    return rule


def _rule_name_taken(name: str) -> dict:
    return {"uq_booths_discount_rule_show_id": BoothError(
        _("A discount rule named %(name)s exists already.", name=name), "duplicate", 409, field="name")}


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
    with transaction(constraint_errors=_rule_name_taken(terms["name"])):
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
        db.session.flush()
        audit("discount_rule.edit", rule, user=user, show_id=show.id, before=before, after=_rule_json(rule))
    return rule


def retire_discount_rule(show: Show, rule_id, user=None) -> DiscountRule:
    """Withdraw a rule: no new booking may use it; bookings that cite it keep their price."""
    with transaction():
        rule = _locked_rule(show, rule_id)
        if rule.retired_at is not None:
            raise BoothError(_("The discount rule %(name)s is retired.", name=rule.name), "rule_retired", 409)
        rule.retired_at = utcnow()
        audit("discount_rule.retire", rule, user=user, show_id=show.id, after=dict(_rule_json(rule), retired=True))
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
