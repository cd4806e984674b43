"""show.copy hook: halls, booths, the price list and the current discount rules of the last
edition. (The core puts the new edition in the source's series, so its rebooking window
finds the source as its previous edition.)"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm_expo.copying import CopyError, clone_rows, count_rows, delete_rows, shift_date
from crm_expo.database import utcnow

from .models import Booking, Booth, DiscountRule, Hall, PriceList


def copy_show(source, target, report, replace: bool) -> None:
    if count_rows(Booth, target):
        if not replace:
            raise CopyError(_("The show %(slug)s has booths already; give --replace to replace its set-up.",
                              slug=target.slug), field="to")
        if count_rows(Booking, target):
            raise CopyError(_("The show %(slug)s has booth bookings; its booths cannot be replaced.",
                              slug=target.slug), field="to")
    if replace:
        for model in (DiscountRule, PriceList, Booth, Hall):
            delete_rows(model, target)
    offset = target.start - source.start
    halls = {old.id: new for old, new in clone_rows(Hall, source, target)}

    def booth(row, values):
        values["hall_id"] = halls[row.hall_id].id
        return values
    booths = clone_rows(Booth, source, target, change=booth)

    def price_list(_row, values):
        values.update(currency=target.currency, published_at=utcnow(),
                      early_bird_until=shift_date(values["early_bird_until"], offset),
                      balance_due=shift_date(values["balance_due"], offset))
        return values
    prices = clone_rows(PriceList, source, target, change=price_list)
    rules = clone_rows(DiscountRule, source, target, where=(DiscountRule.retired_at.is_(None),))
    report.add("booths.halls", _l("Halls"), len(halls))
    report.add("booths.booths", _l("Booths"), len(booths))
    report.add("booths.price_list", _l("Price list"), len(prices))
    report.add("booths.discount_rules", _l("Discount rules"), len(rules))
