"""Data for the surveys tests, made through the real operations."""
from __future__ import annotations

import itertools

from crm_expo.operations import create_token
from plugins.onsite.operations import check_in
from plugins.visitors import operations as visitor_ops

_n = itertools.count(1)


def visitor(show, category="trade", *, consent=True, came=False, name_zh=None, name_en="", country="CN"):
    n = next(_n)
    reg = visitor_ops.register_visitor(
        show, dict(name_zh=name_zh if name_zh is not None else f"访客{n}", name_en=name_en or f"Visitor {n}",
                   email=f"guest{n}@example.com", country=country),
        category, consents={"marketing": consent, "share_with_exhibitors": False}, source="test")
    if category == "trade":
        visitor_ops.verify_registration(reg, "verified")
    if came:
        assert check_in(show, reg.badge_code, "A")["result"] == "ok"
    return reg


def token(show, role="organizer"):
    return create_token(show, role, name="surveys")[1]


def auth(tok):
    return {"Authorization": f"Bearer {tok}"}
