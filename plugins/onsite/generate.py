"""Synthetic on-site data for `crm-expo generate --scans N`: gate scans spread over the show
days and gates (first entries, re-entry attempts, refusals, unknown codes) and a few service
requests (``counts["requests"]``, else one per 200 scans). Deterministic for a given rng;
bulk inserts.

A show that has begun gets no scan and no request step after now (a live show's later
hours are still to come), and one that has ended has only closed requests, dated in its
last days; a show still to come (a benchmark's) gets scans over all of its days."""
from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from crm_expo.database import utcnow
from crm_expo.extensions import db
from crm_expo.models import get_setting
from plugins.visitors.models import Registration

from . import operations as ops
from .models import Scan, ServiceEvent, ServiceRequest

GATES = ("North", "South", "East", "West")
BATCH = 5000
COMPLAINTS = [("power_internet", "展台断电", "Stand has no power"), ("cleaning", "通道未清扫", "Aisle not cleaned"),
              ("rental", "租用的椅子没送到", "Rented chairs not delivered"), ("security", "展品丢失", "Exhibit missing"),
              ("badges", "证件打印错误", "Badge printed wrongly"), ("power_internet", "网络很慢", "Internet very slow")]


def generate(show, counts: dict, rng: random.Random) -> None:
    n = int(counts.get("scans") or 0)
    if n <= 0:
        return
    regs = db.session.execute(select(Registration.id, Registration.category, Registration.verification,
                                     Registration.badge_code, Registration.cancelled_at)
                              .where(Registration.show_id == show.id).order_by(Registration.id)).all()
    days = [d for d in show.days]
    tz = ZoneInfo(show.timezone)
    taken = set(db.session.execute(select(Scan.registration_id, Scan.day).where(
        Scan.show_id == show.id, Scan.first_entry.is_(True))).all())
    reentry = bool(get_setting("onsite.reentry", show))
    now = utcnow()
    begun = days and dt.datetime.combine(days[0].date, days[0].opens).replace(tzinfo=tz) \
        .astimezone(dt.UTC).replace(tzinfo=None) <= now
    rows = []
    for _ in range(n):
        d = rng.choice(days)
        local = dt.datetime.combine(d.date, d.opens) + dt.timedelta(
            seconds=rng.randrange(max(1, int((dt.datetime.combine(d.date, d.closes) -
                                              dt.datetime.combine(d.date, d.opens)).total_seconds()))))
        at = local.replace(tzinfo=tz).astimezone(dt.UTC).replace(tzinfo=None)
        row = {"show_id": show.id, "gate": rng.choice(GATES), "desk": "generated", "device": "", "direction": "in",
               "day": d.date, "at": at, "first_entry": None, "nonce": None, "answer": None, "user_id": None,
               "registration_id": None, "category": ""}
        reg = None
        if not regs or rng.random() < 0.02:
            code = "".join(rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(12))
        else:
            reg = regs[rng.randrange(len(regs))]
        if begun and at > now:
            continue        # the same draws either way: only the hour of the run decides
        if reg is None:
            row.update(code=code, result="unknown", reason="unknown_code")
        else:
            row.update(code=reg.badge_code, registration_id=reg.id, category=reg.category)
            if reg.cancelled_at is not None:
                row.update(result="not_allowed", reason="cancelled")
            elif reg.category == "trade" and reg.verification != "verified":
                row.update(result="not_allowed", reason="trade_not_verified")
            elif (reg.id, d.date) not in taken:
                taken.add((reg.id, d.date))
                row.update(result="ok", reason="admitted", first_entry=True)
            elif reentry:
                row.update(result="ok", reason="reentry")
            else:
                row.update(result="already_in", reason="already_in")
        rows.append(row)
        if len(rows) >= BATCH:
            db.session.execute(insert(Scan), rows)
            rows = []
    if rows:
        db.session.execute(insert(Scan), rows)
    _service_requests(show, int(counts.get("requests") or max(1, n // 200)), rng)
    db.session.commit()


def _service_requests(show, n: int, rng: random.Random) -> None:
    """Requests in every stage of the loop, so the centre's lists and KPIs have content:
    logged in the two days before now (or before the end of a show that is over), each step
    after the last, none after now; a show that is over has closed them all."""
    now = utcnow()
    last = show.days[-1] if show.days else None
    end = dt.datetime.combine(last.date, last.closes).replace(tzinfo=ZoneInfo(show.timezone)) \
        .astimezone(dt.UTC).replace(tzinfo=None) if last else now
    over, now = end < now, min(now, end)
    sla = ops.DEFAULT_SETTINGS["onsite.sla_minutes"]
    steps = ("new", "assigned", "in_progress", "resolved", "closed")
    for _ in range(n):
        category, zh, en = rng.choice(COMPLAINTS)
        priority = rng.choice(("low", "normal", "normal", "high", "urgent"))
        ago = rng.randrange(10, 3000)
        stage = "closed" if over else rng.choice(steps[:-1] + ("closed",))
        reached = steps[:steps.index(stage) + 1]
        # minutes to the first response, to the resolution, to the feedback
        waits = [rng.randrange(2, 60), rng.randrange(5, 240), rng.randrange(1, 30)]
        taken = waits[0] * ("assigned" in reached) + waits[1] * ("resolved" in reached) + \
            waits[2] * ("closed" in reached)
        created = now - dt.timedelta(minutes=max(ago, taken + 1))    # no step after now
        req = ServiceRequest(show_id=show.id, kind=rng.choice(("request", "complaint", "complaint")),
                             channel=rng.choice(tuple(ops.CHANNELS)), category=category, priority=priority,
                             location=f"{rng.choice('ABCDE')}-{rng.randrange(1, 300)}", description=f"{zh} / {en}",
                             status="new", created_at=created,
                             due_at=created + dt.timedelta(minutes=sla[priority]))
        req.events.append(ServiceEvent(at=created, action="open", to_status="new", note=req.description))
        t = created
        if "assigned" in reached:
            t += dt.timedelta(minutes=waits[0])
            req.status, req.first_response_at, req.department = "assigned", t, "engineering"
            req.events.append(ServiceEvent(at=t, action="assign", from_status="new", to_status="assigned"))
        if "in_progress" in reached:
            req.status = "in_progress"
        if "resolved" in reached:
            t += dt.timedelta(minutes=waits[1])
            req.status, req.resolved_at = "resolved", t
            req.events.append(ServiceEvent(at=t, action="resolve", from_status="in_progress", to_status="resolved"))
        if "closed" in reached:
            t += dt.timedelta(minutes=waits[2])
            req.status, req.feedback_at, req.closed_at, req.satisfaction = "closed", t, t, rng.choice((4, 5))
            req.events.append(ServiceEvent(at=t, action="close", from_status="resolved", to_status="closed"))
        db.session.add(req)
