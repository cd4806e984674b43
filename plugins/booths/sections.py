"""The booths plugin's pieces of other plugins' pages (page hooks, crm_expo/hooks.py)."""
from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

BOOKING_TITLES = {"held": _l("Held"), "reserved": _l("Reserved"), "confirmed": _l("Confirmed"), "paid": _l("Paid"),
                  "cancelled": _l("Cancelled"), "released": _l("Released"), "expired": _l("Expired")}


def exhibitor_bookings(show, exhibitor) -> Markup | None:
    """exhibitor.sections: the exhibitor's booth bookings on its record page, for those who
    may see bookings (the page itself is open to more roles)."""
    from crm_expo.permissions import can

    from .operations import bookings_for_exhibitor
    if not can("booths.view"):
        return None
    bookings = bookings_for_exhibitor(exhibitor.id)
    return Markup(render_template("booths/_exhibitor_bookings.html", show=show, bookings=bookings,
                                  titles=BOOKING_TITLES))
