"""Data for the onsite tests, made through the real operations."""
from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from crm_expo.operations import create_token
from plugins.visitors import operations as visitor_ops
from tests.factories import make_show

_n = itertools.count(1)


def today_show(**kw):
    """A show open today (show-local date), so that real-time scans fall on a show day."""
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    return make_show(start=kw.pop("start", today - dt.timedelta(days=1)), days=kw.pop("days", 3), **kw)


def register(show, category="public", name_zh="", name_en="", company="", share=False, verified=True, **person):
    n = next(_n)
    reg = visitor_ops.register_visitor(
        show, dict(name_zh=name_zh or f"访客{n}", name_en=name_en or f"Visitor {n}",
                   email=person.pop("email", f"visitor{n}@example.com"), organization_name=company, **person),
        category, consents={"marketing": False, "share_with_exhibitors": share}, source="test")
    if category == "trade" and verified:
        visitor_ops.verify_registration(reg, "verified")
    return reg


def desk_token(show, role="desk"):
    return create_token(show, role, name="gate A")[1]
