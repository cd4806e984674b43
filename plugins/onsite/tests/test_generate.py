"""`crm-expo generate --scans N`: deterministic scans that obey the same invariants."""
from __future__ import annotations

import random

from sqlalchemy import func, select

from crm_expo.extensions import db
from plugins.onsite import operations as ops
from plugins.onsite import plugin
from plugins.onsite.models import Scan, ServiceRequest

from .helpers import register, today_show


def _run(show, n, seed):
    plugin.generate(show, {"scans": n}, random.Random(seed))
    return db.session.execute(select(Scan.registration_id, Scan.day, Scan.gate, Scan.result)
                              .where(Scan.show_id == show.id).order_by(Scan.id)).all()


def test_generated_scans_are_deterministic_and_counted(app, request_ctx):
    a, b = today_show(), today_show()
    for show in (a, b):
        for i in range(30):
            register(show, "trade" if i % 3 == 0 else "public", verified=i % 2 == 0, email=f"g{show.id}-{i}@x.cn")
    ra, rb = _run(a, 400, 7), _run(b, 400, 7)
    assert len(ra) == 400 and [r[2:] for r in ra] == [r[2:] for r in rb]
    results = {r[3] for r in ra}
    assert {"ok", "already_in", "not_allowed"} <= results
    f = ops.attendance(a)
    unique = db.session.scalar(select(func.count(func.distinct(Scan.registration_id))).where(
        Scan.show_id == a.id, Scan.result == "ok"))
    assert f["unique_visitors"] == unique and f["entries"] >= unique
    assert db.session.scalar(select(func.count()).select_from(ServiceRequest).where(ServiceRequest.show_id == a.id)) == 2
    # run again on top: the one-entry-per-day invariant still holds (no IntegrityError)
    _run(a, 100, 8)
