"""Figures read from the bookings: occupancy and revenue, price deviations, customer history."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.i18n import local_name, money
from crm_expo.models import Organization, Show
from plugins.exhibitors.models import Exhibitor

from ..models import (
    Booking,
    Booth,
    DiscountRule,
    Hall,
)


def price_deviations(show: Show):
    """Every active or past booking whose price differs from the list price, with why."""
    return db.session.execute(
        select(Booking, Booth.code, Organization.name_zh, Organization.name_en, DiscountRule.name)
        .join(Booth, Booth.id == Booking.booth_id).join(Exhibitor, Exhibitor.id == Booking.exhibitor_id)
        .join(Organization, Organization.id == Exhibitor.organization_id)
        .outerjoin(DiscountRule, DiscountRule.id == Booking.discount_rule_id)
        .where(Booking.show_id == show.id, Booking.price_minor != Booking.list_price_minor)
        .order_by(Booth.code)).all()


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
    for sid, slug, name_zh, name_en, _n, area, price, _paid, currency in rows:
        codes = db.session.scalars(select(Booth.code).join(Booking, Booking.booth_id == Booth.id)
                                   .join(Exhibitor, Exhibitor.id == Booking.exhibitor_id)
                                   .where(Booking.show_id == sid, Exhibitor.organization_id == organization.id,
                                          Booking.status.in_(("reserved", "confirmed", "paid")))).all()
        entries.append({"show": local_name(name_zh, name_en), "kind": "booths", "label": _("Booths"),
                        "value": _("%(codes)s · %(m2)s m² · %(spend)s", codes=", ".join(codes),
                                   m2=f"{int(area or 0) / 10_000:g}", spend=money(int(price or 0), currency)),
                        "url": url_for("booths.index", slug=slug)})


def participation(show_ids=None):
    """The ``customer.participation`` hook: one row per booking that was not cancelled,
    released or expired — ``exhibitor_id``, ``booth_m2`` (the booth's area), ``amount_paid_minor``
    (its payments) and ``paid_on_time`` (1: paid in full by its balance due date, or by the
    price list's when the booking has none; 0: not; NULL: nothing to pay). The loyalty
    plugin sums these per exhibitor record; a SELECT, so it runs inside loyalty's SQL."""
    from sqlalchemy import Float, and_, case, cast, func, null, select

    from ..models import Booking, Booth, Payment, PriceList
    due = func.coalesce(Booking.balance_due, PriceList.balance_due)
    paid = (select(Payment.booking_id, func.sum(Payment.amount_minor).label("paid"),
                   func.sum(case((Payment.paid_on <= due, Payment.amount_minor), else_=0)).label("in_time"))
            .join(Booking, Booking.id == Payment.booking_id)
            .outerjoin(PriceList, PriceList.show_id == Booking.show_id)
            .group_by(Payment.booking_id))
    if show_ids is not None:
        paid = paid.where(Payment.show_id.in_(show_ids))
    paid = paid.subquery("booth_paid")
    in_time = func.coalesce(paid.c.in_time, 0)
    stmt = (select(Booking.exhibitor_id.label("exhibitor_id"),
                   (cast(Booth.width_cm, Float) * Booth.depth_cm / 10000.0).label("booth_m2"),
                   func.coalesce(paid.c.paid, 0).label("amount_paid_minor"),
                   case((Booking.price_minor == 0, null()),
                        (and_(due.is_(None), func.coalesce(paid.c.paid, 0) >= Booking.price_minor), 1),
                        (in_time >= Booking.price_minor, 1), else_=0).label("paid_on_time"))
            .join(Booth, Booth.id == Booking.booth_id)
            .outerjoin(PriceList, PriceList.show_id == Booking.show_id)
            .outerjoin(paid, paid.c.booking_id == Booking.id)
            .where(Booking.status.not_in(("cancelled", "released", "expired"))))
    if show_ids is not None:
        stmt = stmt.where(Booking.show_id.in_(show_ids))
    return stmt
