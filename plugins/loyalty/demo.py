"""The demo's history: two editions before the previous one, imported as an organizer who
arrives with its Excel lists would (``loyalty_participation``, source import), for companies
of the previous and the current edition, so that the models have three ended editions and
every segment has customers. Then the segments are computed for both editions."""
from __future__ import annotations

from sqlalchemy import select

from crm_expo.database import executemany, new_ids, transaction, utcnow
from crm_expo.extensions import db
from crm_expo.operations import create_show, previous_edition
from plugins.exhibitors.models import Exhibitor

from .models import Participation

SIZES = (9, 9, 18, 18, 27, 36, 54, 72, 108)
RATE_MINOR = 1_380_000        # ¥13,800 per 9 m² shell booth


def _edition(series, year: int, like):
    slug = f"{series.slug}-{year}"
    show = create_show(slug, f"{year}{series.name_zh}", like.start.replace(year=year, day=min(like.start.day, 28)),
                       len(like.days), name_en=f"{series.name_en} {year}" if series.name_en else "",
                       venue=like.venue, halls=list(like.halls or []), timezone=like.timezone, currency=like.currency,
                       series=series)
    show.status = "closed"
    db.session.commit()
    return show


def demo(show, orgs: dict, rng) -> None:
    from .operations import LoyaltyError, recompute
    past = previous_edition(show)
    if past is None or show.series is None or past.start is None:
        return
    older = [_edition(show.series, past.start.year - k, past) for k in (2, 1)]
    past_orgs = list(db.session.scalars(select(Exhibitor.organization_id).where(Exhibitor.show_id == past.id)))
    now_orgs = list(db.session.scalars(select(Exhibitor.organization_id).where(Exhibitor.show_id == show.id)))
    rows = []

    def row(org_id, edition, size, trend=1.0):
        m2 = float(size)
        amount = int(RATE_MINOR * size / 9 * trend)
        satisfaction = rng.choice((None, 2, 3, 4, 4, 5, 5)) if rng.random() < 0.7 else None
        recommend = rng.choice((3, 6, 7, 8, 9, 9, 10)) if rng.random() < 0.6 else None
        rows.append((org_id, edition.id, m2, amount, rng.random() < 0.85, satisfaction, recommend))

    for org_id in past_orgs:
        size = rng.choice(SIZES)
        for edition, chance in zip(older, (0.45, 0.6), strict=True):
            if rng.random() < chance:
                row(org_id, edition, size, rng.choice((0.8, 1.0, 1.0, 1.2)))
    for org_id in now_orgs[: len(now_orgs) * 2 // 3]:
        size = rng.choice(SIZES)
        for edition, chance in zip(older + [past], (0.3, 0.4, 0.5), strict=True):
            if rng.random() < chance:
                row(org_id, edition, size, rng.choice((0.8, 1.0, 1.2)))
    exhibitor = orgs.get("exhibitor")
    if exhibitor is not None:
        for edition, size in zip(older + [past], (18, 27, 36), strict=True):
            rows.append((exhibitor.id, edition.id, float(size), RATE_MINOR * size // 9, True, 5, 9))
    rows = list({(r[0], r[1]): r for r in rows}.values())
    now = utcnow()
    with transaction():
            executemany(Participation.__table__, ["id", "organization_id", "show_id", "booth_m2", "amount_paid_minor",
                                              "paid_on_time", "co_exhibitor_of_id", "satisfaction", "would_recommend",
                                              "source", "created_at"],
                    [(i, o, s, m, a, p, None, sat, rec, "import", now)
                     for i, (o, s, m, a, p, sat, rec) in zip(new_ids(Participation.__table__, len(rows)), rows,
                                                             strict=True)])
    for target in (past, show):
        try:
            recompute(target)
        except LoyaltyError:
            pass

