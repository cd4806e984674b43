"""The segment models, by name, with their reasons (DOMAIN.md §3, §10), and the lifecycle stage
(§4). Computed for one show over its series' history and stored in ``loyalty_segment``.

**The window**: the last ``loyalty.window_editions`` (3) *closed* editions of the show's series
whose first day is not after the show's (the show itself when it is closed). The customers
are the organizations that took part in a closed edition of the series up to then.

The figures per customer are aggregated in SQL (one statement over
``history.participation``: amounts, editions, attitude, punctuality, and the ABC cumulative
share by a window function); the medians and the rules below run over those rows.

- **ABC**: ordered by amount paid in the window (ties: lower organization id first); the
  share of the total paid by those *before* it < A % (80) → A, < B % (95) → B, else C;
  nothing paid → C.
- **Value matrix**: current value = amount paid in the latest closed edition; potential
  value = a score 0–100: 40 × spend trend across the window ((last − first) ÷ the larger,
  mapped from −1…1 to 0…1; one edition: ½) + 20 × share paid on time + 20 × satisfaction
  ((s − 1) ÷ 4) + 20 × would-recommend (r ÷ 10), a missing part's weight left out. High when
  ≥ the median of the customers that took part in the window (current value: and above 0).
  value (high, high), potential value (low, high), secondary value (high, low), low value.
- **Dick & Basu**: repeat rate = editions attended in the window ÷ editions in the window,
  high if ≥ ``loyalty.repeat_rate_high_pct`` (50 %); relative attitude = mean would-recommend
  (0–10) in the window, or when none mean satisfaction mapped to 0–10 ((s − 1) × 2.5), high
  if ≥ ``loyalty.attitude_high`` (7). loyal (high, high), latent loyal (low repeat, high
  attitude), spurious loyal (high repeat, low attitude), not loyal; unknown: no attitude.
- **Reinartz & Kumar**: profitability = amount paid in the window, high if above 0 and ≥ the
  median of the customers that took part in the window; duration = editions attended in the
  whole series, long if ≥ ``loyalty.long_editions`` (3). true friend (high, long), butterfly
  (high, short), barnacle (low, long), stranger (low, short).
- **Status**: lost = took part before but not in the latest closed edition and has no
  exhibitor record in the show (when the show is not closed yet); new = its only edition is
  the latest closed one; loyal = took part in each of the last 3 (the window's) closed
  editions, the window being full; repeat = any other with ≥ 2 editions including the
  latest closed one — and one that missed the latest but is back in this show.
- **Lifecycle stage**, first rule that holds: dissolution = lost; weakening = took part in the
  latest (or is back) and a churn signal shows: smaller booth or lower spend than at its
  previous edition in the window, satisfaction ≤ 2 or would-recommend ≤ 6 at the latest, a
  missed edition in the window since its first, paid late at the latest; cultivation = its
  first edition was the latest (or it is back after one); trust = loyal and ≥
  ``loyalty.long_editions`` editions; confirmation = any other.
- **Loyalty ladder** (our rules): suspect = lost; follower = one edition; member = two or
  more; advocate = member whose would-recommend in the window is ≥ 9 (a promoter); partner
  = advocate, loyal and A.
- **Importance tier** (our rules): VIP 贵宾型 = A with ≥ ``loyalty.long_editions`` editions;
  important 重要型 = A or B, or a value customer; ordinary 普遍型 = any other.
- **Score** (0–100, orders the follow-up work): value (A 50, B 30, C 10) + risk by stage
  (weakening 30, dissolution 20, cultivation 15, confirmation 10, trust 5) + potential by
  value matrix (value 20, potential value 15, secondary value 5, low value 0).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, delete, func, select

from crm_expo import signals
from crm_expo.database import executemany, new_ids, transaction, utcnow
from crm_expo.errors import DomainError
from crm_expo.extensions import db
from crm_expo.i18n import gettext_anywhere as _
from crm_expo.models import Show, ShowDay, audit, get_setting
from crm_expo.settings import SettingSpec
from plugins.exhibitors.models import Exhibitor

from ..models import MODELS, Segment, SegmentChange
from .history import participation

SETTINGS = {
    "loyalty.window_editions": SettingSpec(
        "int", 3, _l("Editions in the window"),
        _l("The models look at this many last closed editions of the series."), min=1, max=20),
    "loyalty.abc_a_pct": SettingSpec(
        "float", 80.0, _l("ABC: A up to (%)"),
        _l("A customer is A while the share paid by those ranked before it is below this."), min=0, max=100),
    "loyalty.abc_b_pct": SettingSpec(
        "float", 95.0, _l("ABC: B up to (%)"),
        _l("… and B while it is below this (above the A limit); the rest are C."), min=0, max=100,
        above="loyalty.abc_a_pct"),
    "loyalty.long_editions": SettingSpec(
        "int", 3, _l("Long relationship from (editions)"),
        _l("Reinartz & Kumar: a relationship of at least this many editions is long."), min=1, max=100),
    "loyalty.repeat_rate_high_pct": SettingSpec(
        "float", 50.0, _l("Dick & Basu: high repeat rate from (%)"),
        _l("Editions attended in the window, as a share of the window's editions."), min=0, max=100),
    "loyalty.attitude_high": SettingSpec(
        "float", 7.0, _l("Dick & Basu: high attitude from (0–10)"),
        _l("Would-recommend (0–10), or satisfaction mapped to 0–10 when it is missing."), min=0, max=10),
}

STAGE_ACTIONS = {
    "cultivation": _l("Promotion: make the show known to it — invite it to the next edition and show what the "
                      "show brings to a company like it."),
    "confirmation": _l("Raise the show's effect and deliver value: send its leads and visitor figures, offer "
                       "the booth and services that make its next edition better."),
    "trust": _l("Track its changing needs and meet them: plan the next booth and services together, keep its "
                "contact person close."),
    "weakening": _l("Find why it is dissatisfied, remove the causes and win its trust back — call before the "
                    "rebooking window opens."),
    "dissolution": _l("Limit the damage of the loss: ask why it left, send a personal message that names the "
                      "lapse, and renew the show so that it stays attractive."),
}


class LoyaltyError(DomainError):
    """The models cannot be computed (no series, no closed edition) or a request is refused."""

    code = "invalid"
    status = 422


@dataclass(frozen=True)
class Window:
    editions: list[tuple[int, object]]      # (show id, first day) of the window, oldest first
    series_ids: list[int]                   # every closed edition of the series up to the show

    @property
    def ids(self) -> list[int]:
        return [i for i, _d in self.editions]

    @property
    def latest(self) -> int:
        return self.editions[-1][0]


def settings_for(show) -> dict:
    return {key.removeprefix("loyalty."): get_setting(key, show) for key in SETTINGS}


def window_of(show: Show, size: int | None = None) -> Window:
    """The window of ``show``; LoyaltyError saying what is missing when there is none."""
    if show.series_id is None:
        raise LoyaltyError(_("This show is not part of a series, so it has no earlier editions to learn from: "
                             "put it in a series (Admin → Shows) or import its history."), field="series")
    size = size or get_setting("loyalty.window_editions", show)
    first = select(ShowDay.show_id, func.min(ShowDay.date).label("first")).group_by(ShowDay.show_id).subquery()
    stmt = (select(Show.id, first.c.first).join(first, first.c.show_id == Show.id)
            .where(Show.series_id == show.series_id, Show.status == "closed"))
    if show.start is not None:
        stmt = stmt.where(first.c.first <= show.start)
    rows = db.session.execute(stmt.order_by(first.c.first, Show.id)).all()
    if not rows:
        raise LoyaltyError(_("The series %(series)s has no closed edition yet: the models need at least one "
                             "edition that has ended (close the previous edition, or import the history of "
                             "earlier ones with “crm-expo import history”).", series=show.series.name),
                           field="series")
    return Window(editions=[(r[0], r[1]) for r in rows[-size:]], series_ids=[r[0] for r in rows])


def _figures(window: Window):
    """Per customer, in SQL: editions in the series and in the window, amounts, attitude,
    punctuality, the ABC cumulative share before it."""
    p = participation(window.series_ids).subquery("p")
    in_window = p.c.show_id.in_(window.ids)
    latest = p.c.show_id == window.latest
    agg = select(
        p.c.organization_id,
        func.count().label("editions_total"),
        func.sum(case((in_window, 1), else_=0)).label("editions_window"),
        func.sum(case((in_window, p.c.amount_paid_minor), else_=0)).label("amount_window"),
        func.sum(case((latest, p.c.amount_paid_minor), else_=0)).label("amount_latest"),
        func.max(case((latest, 1), else_=0)).label("in_latest"),
        func.avg(case((in_window, p.c.would_recommend))).label("recommend"),
        func.avg(case((in_window, p.c.satisfaction))).label("satisfaction"),
        func.sum(case((and_(in_window, p.c.paid_on_time.is_not(None)), p.c.paid_on_time))).label("on_time"),
        func.sum(case((and_(in_window, p.c.paid_on_time.is_not(None)), 1))).label("on_time_of"),
    ).group_by(p.c.organization_id).subquery("agg")
    amount = agg.c.amount_window
    before = func.coalesce(func.sum(amount).over(order_by=(amount.desc(), agg.c.organization_id),
                                                 rows=(None, -1)), 0)
    stmt = select(agg, before.label("paid_before"), func.sum(amount).over().label("paid_total"))
    rows = db.session.execute(stmt).mappings().all()
    per_edition = db.session.execute(
        select(p.c.organization_id, p.c.show_id, p.c.booth_m2, p.c.amount_paid_minor, p.c.paid_on_time,
               p.c.satisfaction, p.c.would_recommend).where(in_window)).all()
    return rows, per_edition


def _median(values: list) -> float:
    return float(statistics.median(values)) if values else 0.0


def _pct(a, b) -> float:
    return round(100.0 * a / b, 1) if b else 0.0


def compute(show: Show) -> list[dict]:
    """Every customer's models for ``show`` (not stored): dicts with the Segment columns."""
    window = window_of(show)
    cfg = settings_for(show)
    rows, per_edition = _figures(window)
    order = {sid: i for i, sid in enumerate(window.ids)}
    editions: dict[int, list] = {}
    for org_id, sid, m2, amount, on_time, sat, rec in per_edition:
        editions.setdefault(org_id, []).append((order[sid], float(m2 or 0), int(amount or 0), on_time, sat, rec))
    for values in editions.values():
        values.sort()
    booked = set()
    if show.status != "closed":
        booked = set(db.session.scalars(select(Exhibitor.organization_id).where(
            Exhibitor.show_id == show.id, Exhibitor.status.not_in(("rejected", "withdrawn")))))
    n_window = len(window.ids)
    full_window = n_window >= cfg["window_editions"]

    def potential(org_id, r) -> tuple[float, dict]:
        eds = editions.get(org_id, [])
        parts, weights = {}, {}
        if eds:
            first, last = eds[0][2], eds[-1][2]
            top = max(first, last)
            trend = (last - first) / top if top and len(eds) > 1 else 0.0
            parts["trend"], weights["trend"] = (trend + 1) / 2, 40
        if r["on_time_of"]:
            parts["on_time"], weights["on_time"] = r["on_time"] / r["on_time_of"], 20
        if r["satisfaction"] is not None:
            parts["satisfaction"], weights["satisfaction"] = (float(r["satisfaction"]) - 1) / 4, 20
        if r["recommend"] is not None:
            parts["recommend"], weights["recommend"] = float(r["recommend"]) / 10, 20
        total = sum(weights.values())
        score = round(100 * sum(parts[k] * weights[k] for k in parts) / total, 1) if total else 0.0
        return score, {k: round(v * 100, 1) for k, v in parts.items()}

    pots = {r["organization_id"]: potential(r["organization_id"], r) for r in rows}
    in_window = [r for r in rows if r["editions_window"]]
    median_latest = _median([int(r["amount_latest"] or 0) for r in in_window])
    median_window = _median([int(r["amount_window"] or 0) for r in in_window])
    median_potential = _median([pots[r["organization_id"]][0] for r in in_window])
    out = []
    for r in rows:
        org_id = r["organization_id"]
        amount = int(r["amount_window"] or 0)
        total = int(r["paid_total"] or 0)
        before = int(r["paid_before"] or 0)
        ew, et = int(r["editions_window"] or 0), int(r["editions_total"])
        in_latest = bool(r["in_latest"])
        eds = editions.get(org_id, [])
        reasons: dict = {}
        # ABC
        share_before = _pct(before, total)
        if amount <= 0:
            abc = "C"
        elif share_before < cfg["abc_a_pct"]:
            abc = "A"
        elif share_before < cfg["abc_b_pct"]:
            abc = "B"
        else:
            abc = "C"
        reasons["abc"] = {"amount_minor": amount, "share_before_pct": share_before, "total_minor": total,
                          "a_pct": cfg["abc_a_pct"], "b_pct": cfg["abc_b_pct"]}
        # value matrix
        current = int(r["amount_latest"] or 0)
        pot, parts = pots[org_id]
        high_current = current > 0 and current >= median_latest
        high_potential = pot >= median_potential and bool(in_window)
        value_matrix = {(True, True): "value", (False, True): "potential_value", (True, False): "secondary_value",
                        (False, False): "low_value"}[(high_current, high_potential)]
        reasons["value_matrix"] = {"current_minor": current, "current_median_minor": median_latest,
                                   "potential": pot, "potential_median": median_potential, "potential_parts": parts}
        # Dick & Basu
        repeat_rate = _pct(ew, n_window)
        if r["recommend"] is not None:
            attitude, attitude_from = round(float(r["recommend"]), 1), "would_recommend"
        elif r["satisfaction"] is not None:
            attitude, attitude_from = round((float(r["satisfaction"]) - 1) * 2.5, 1), "satisfaction"
        else:
            attitude, attitude_from = None, ""
        high_repeat = repeat_rate >= cfg["repeat_rate_high_pct"]
        if attitude is None:
            dick_basu = "unknown"
        else:
            dick_basu = {(True, True): "loyal", (False, True): "latent_loyal", (True, False): "spurious_loyal",
                         (False, False): "not_loyal"}[(high_repeat, attitude >= cfg["attitude_high"])]
        reasons["dick_basu"] = {"attended": ew, "window": n_window, "repeat_rate_pct": repeat_rate,
                                "repeat_high_pct": cfg["repeat_rate_high_pct"], "attitude": attitude,
                                "attitude_from": attitude_from, "attitude_high": cfg["attitude_high"]}
        # Reinartz & Kumar
        profitable = amount > 0 and amount >= median_window
        long = et >= cfg["long_editions"]
        reinartz_kumar = {(True, True): "true_friend", (True, False): "butterfly", (False, True): "barnacle",
                          (False, False): "stranger"}[(profitable, long)]
        reasons["reinartz_kumar"] = {"amount_minor": amount, "median_minor": median_window, "editions_total": et,
                                     "long_from": cfg["long_editions"]}
        # status
        back = org_id in booked
        if not in_latest and not back:
            status = "lost"
        elif in_latest and et == 1:
            status = "new"
        elif in_latest and full_window and ew == n_window:
            status = "loyal"
        else:
            status = "repeat"
        reasons["status"] = {"editions_total": et, "in_latest": in_latest, "attended": ew, "window": n_window,
                             "booked_now": back}
        # lifecycle stage
        signs = []
        if len(eds) >= 2 and eds[-1][0] == n_window - 1:
            prev, last = eds[-2], eds[-1]
            if last[1] < prev[1]:
                signs.append({"sign": "smaller_booth", "before": prev[1], "now": last[1]})
            if last[2] < prev[2]:
                signs.append({"sign": "lower_spend", "before": prev[2], "now": last[2]})
        if eds and eds[-1][0] == n_window - 1:
            last = eds[-1]
            if last[4] is not None and last[4] <= 2:
                signs.append({"sign": "unsatisfied", "satisfaction": last[4]})
            if last[5] is not None and last[5] <= 6:
                signs.append({"sign": "detractor", "would_recommend": last[5]})
            if last[3] == 0:
                signs.append({"sign": "paid_late"})
        if eds:
            missed = (n_window - eds[0][0]) - len(eds)
            if missed > 0 and status != "lost":
                signs.append({"sign": "missed_edition", "missed": missed})
        if status == "lost":
            stage = "dissolution"
        elif signs:
            stage = "weakening"
        elif status == "new" or et == 1:
            stage = "cultivation"
        elif status == "loyal" and et >= cfg["long_editions"]:
            stage = "trust"
        else:
            stage = "confirmation"
        reasons["stage"] = {"signs": signs, "editions_total": et}
        # ladder and tier
        promoter = r["recommend"] is not None and float(r["recommend"]) >= 9
        if status == "lost":
            ladder = "suspect"
        elif et <= 1:
            ladder = "follower"
        elif promoter and status == "loyal" and abc == "A":
            ladder = "partner"
        elif promoter:
            ladder = "advocate"
        else:
            ladder = "member"
        if abc == "A" and et >= cfg["long_editions"]:
            tier = "vip"
        elif abc in ("A", "B") or value_matrix == "value":
            tier = "important"
        else:
            tier = "ordinary"
        score = ({"A": 50, "B": 30, "C": 10}[abc]
                 + {"weakening": 30, "dissolution": 20, "cultivation": 15, "confirmation": 10, "trust": 5}[stage]
                 + {"value": 20, "potential_value": 15, "secondary_value": 5, "low_value": 0}[value_matrix])
        out.append({"organization_id": org_id, "abc": abc, "value_matrix": value_matrix, "dick_basu": dick_basu,
                    "reinartz_kumar": reinartz_kumar, "status": status, "stage": stage, "ladder": ladder,
                    "tier": tier, "score": score, "amount_window_minor": amount, "editions_window": ew,
                    "editions_total": et, "reasons": reasons})
    return out


def recompute(show: Show, user=None) -> dict:
    """Compute and store every customer's models for ``show`` (one transaction): the rows of
    the show are replaced; a customer whose segment of some model changed gets a
    ``loyalty_segment_change`` row per model and one ``segment_changed`` signal. Returns
    {customers, changed}."""
    computed = compute(show)
    now = utcnow()
    with transaction():
        old = {org_id: row for org_id, *row in db.session.execute(
            select(Segment.organization_id, *[getattr(Segment, m) for m in MODELS])
            .where(Segment.show_id == show.id))}
        db.session.execute(delete(Segment).where(Segment.show_id == show.id))
        cols = ["id", "show_id", "organization_id", "computed_at", *MODELS, "score", "amount_window_minor",
                "editions_window", "editions_total", "reasons"]
        ids = new_ids(Segment.__table__, len(computed))
        import json
        is_pg = db.session.get_bind().dialect.name == "postgresql"
        executemany(Segment.__table__, cols, [
            (i, show.id, c["organization_id"], now, *[c[m] for m in MODELS], c["score"], c["amount_window_minor"],
             c["editions_window"], c["editions_total"],
             json.dumps(c["reasons"], ensure_ascii=False) if not is_pg else json.dumps(c["reasons"]))
            for i, c in zip(ids, computed, strict=True)])
        changes = []
        changed_orgs = {}
        for c in computed:
            before = old.get(c["organization_id"])
            if before is None:
                continue
            diff = {m: (b, c[m]) for m, b in zip(MODELS, before, strict=True) if b != c[m]}
            if diff:
                changed_orgs[c["organization_id"]] = diff
                changes.extend((show.id, c["organization_id"], now, m, o, n) for m, (o, n) in diff.items())
        if changes:
            executemany(SegmentChange.__table__, ["id", "show_id", "organization_id", "changed_at", "model", "old", "new"],
                        [(i, *row) for i, row in zip(new_ids(SegmentChange.__table__, len(changes)), changes,
                                                     strict=True)])
        audit("loyalty.recompute", show, user=user, show_id=show.id,
              after={"customers": len(computed), "changed": len(changed_orgs)})
        for org_id, diff in changed_orgs.items():
            signals.send_after_commit(signals.segment_changed, show, organization_id=org_id, changes=diff)
    return {"customers": len(computed), "changed": len(changed_orgs)}


def on_show_status_changed(show, old=None, new=None, **_kw) -> None:
    """After an edition closes, the models of its series' shows are recomputed: the closed
    one and every later edition of the series that is not closed."""
    if new != "closed" or show.series_id is None:
        return
    targets = [show] + [s for s in db.session.scalars(select(Show).where(
        Show.series_id == show.series_id, Show.status != "closed", Show.id != show.id))
        if s.start and show.start and s.start > show.start]
    for target in targets:
        try:
            recompute(target)
        except LoyaltyError:
            continue
