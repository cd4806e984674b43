"""The booths plugin's pieces of other plugins' pages (page hooks, crm_expo/hooks.py)."""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from .models import BOOKING_TITLES


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
