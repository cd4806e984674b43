"""The booths' part of an erasure (hook privacy.erase): bookings are a company's contracts,
not a person's data; free text naming the person is redacted. An erasure of a contact person of a company with an unpaid booking says
that the booking is kept, and why."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from crm_expo.extensions import db
from crm_expo.models import Organization, Show
from crm_expo.privacy import holds, redact_text
from plugins.exhibitors.models import Exhibitor

from .models import ACTIVE_STATES, Booking, Payment


def erase(person, idents, report) -> None:
    """Free text that names the person (a payment's reference, a booking's reasons) is
    redacted; amounts, dates, numbers and states stay."""
    if idents:
        for payment in db.session.scalars(select(Payment).where(holds(Payment.reference, idents))):
            payment.reference = redact_text(payment.reference, idents)
        for booking in db.session.scalars(select(Booking).where(
                holds(Booking.end_reason, idents) | holds(Booking.exception_reason, idents))):
            booking.end_reason = redact_text(booking.end_reason, idents)
            booking.exception_reason = redact_text(booking.exception_reason, idents)
    if person.organization_id is None:
        return
    rows = db.session.execute(
        select(Booking, Show.slug, Organization.name_zh, Organization.name_en)
        .join(Exhibitor, Exhibitor.id == Booking.exhibitor_id).join(Show, Show.id == Booking.show_id)
        .join(Organization, Organization.id == Exhibitor.organization_id)
        .where(Exhibitor.organization_id == person.organization_id, Booking.status.in_(ACTIVE_STATES),
               Booking.paid_minor < Booking.price_minor).order_by(Booking.id)).all()
    for booking, slug, zh, en in rows:
        report.kept.append(_(
            "Kept the unpaid booking %(contract)s of %(company)s (%(show)s, %(balance)s %(currency)s due): it is "
            "the company's contract, and its amounts stay in the accounts and the revenue figures until it is "
            "settled; only this person's name and contacts were erased from it.",
            contract=booking.contract_no or f"#{booking.id}", company=zh or en, show=slug,
            balance=f"{(booking.price_minor - booking.paid_minor) / 100:,.2f}", currency=booking.currency))
