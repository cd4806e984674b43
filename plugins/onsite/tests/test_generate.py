"""`crm-expo generate --scans N`: deterministic scans that obey the same invariants."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, select

from crm_expo.database import utcnow
from crm_expo.extensions import db
from plugins.onsite import operations as ops
from plugins.onsite import plugin
from plugins.onsite.models import Scan, ServiceEvent, ServiceRequest
from tests.factories import make_show

from .helpers import register, today_show


def _run(show, n, seed):
    plugin.generate(show, {"scans": n}, random.Random(seed))
    return db.session.execute(select(Scan.registration_id, Scan.day, Scan.gate, Scan.result)
                              .where(Scan.show_id == show.id).order_by(Scan.id)).all()


def test_generated_scans_are_deterministic_and_counted(app, request_ctx):
    coming = dt.date.today() + dt.timedelta(days=30)     # a benchmark's show: scans over all its days
    a, b = make_show(start=coming), make_show(start=coming)
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


def test_a_live_show_gets_nothing_after_now_and_a_past_one_only_closed_requests(app, request_ctx):
    live = today_show()
    past = make_show(start=dt.date.today() - dt.timedelta(days=400))
    for show in (live, past):
        for i in range(20):
            register(show, email=f"p{show.id}-{i}@x.cn")
        plugin.generate(show, {"scans": 300, "requests": 30}, random.Random(3))
    now = utcnow()
    live_scans = db.session.scalars(select(Scan.at).where(Scan.show_id == live.id)).all()
    assert live_scans and max(live_scans) <= now       # yesterday's scans, today's until now
    assert len(db.session.scalars(select(Scan.at).where(Scan.show_id == past.id)).all()) == 300
    for show in (live, past):
        assert db.session.scalar(select(func.count()).select_from(ServiceRequest)
                                 .where(ServiceRequest.show_id == show.id)) == 30
        last = db.session.scalar(select(func.max(ServiceEvent.at)).join(ServiceRequest)
                                 .where(ServiceRequest.show_id == show.id))
        assert last <= now
    statuses = set(db.session.scalars(select(ServiceRequest.status).where(ServiceRequest.show_id == past.id)))
    assert statuses == {"closed"}
    live_requests = db.session.scalars(select(ServiceRequest).where(ServiceRequest.show_id == live.id)).all()
    assert any(ops.is_overdue(r, now) for r in live_requests)     # the centre has work to chase
    assert any(r.status == "closed" for r in live_requests)
