"""Data for the booths tests, made through the real operations."""
from __future__ import annotations

from crm_expo.extensions import db
from plugins.booths import operations as ops
from plugins.exhibitors.models import Exhibitor
from tests.factories import make_org, make_show

RATES = {"shell": 100_000, "raw": 80_000, "corner": 120_000, "peninsula": 130_000, "island": 140_000}


def make_exhibitor(show, name_zh=None, status="approved", org=None) -> Exhibitor:
    org = org or make_org(name_zh)
    ex = Exhibitor(show_id=show.id, organization_id=org.id, status=status, kind="main")
    db.session.add(ex)
    db.session.commit()
    return ex


def booth_show(n_booths: int = 4, **price):
    """A show with a published price list and a row of 3 m × 3 m shell booths A101…"""
    show = make_show()
    ops.publish_price_list(show, RATES, **price)
    for i in range(n_booths):
        ops.add_booth(show, "A", f"A{101 + i}", i * 3, 0, 3, 3, "shell", 1)
    return show
