"""The segment list of a show: filters by each model and stage, sorted, a page at a time, with
the counts per segment."""
from __future__ import annotations

from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.listing import Order, Position, count_rows, seek_page
from crm_expo.models import Organization

from ..models import MODELS, SEGMENT_TITLES, Segment

ORDERS = {
    "-score": Order((Segment.score, Segment.organization_id), (int, int), descending=True),
    "-amount": Order((Segment.amount_window_minor, Segment.organization_id), (int, int), descending=True),
    "amount": Order((Segment.amount_window_minor, Segment.organization_id), (int, int)),
    "-editions": Order((Segment.editions_total, Segment.organization_id), (int, int), descending=True),
}


def clean_filters(args) -> dict:
    """{model: segment} of the filters that name a known segment (others are ignored)."""
    return {m: args.get(m) for m in MODELS if args.get(m) in SEGMENT_TITLES[m]}


def segment_query(show, filters: dict | None = None):
    stmt = select(Segment).where(Segment.show_id == show.id)
    for model, value in (filters or {}).items():
        stmt = stmt.where(getattr(Segment, model) == value)
    return stmt


# Counts change only when the segments are recomputed: they are kept per (show, time of the
# last computation, filters), so a page of the list does not count 50,000 rows again. The key
# holds the computation's time from the database, so every server process sees a recompute.
_counted: dict[tuple, object] = {}


def _once_per_computation(show, what: str, filters: dict, compute):
    key = (show.id, last_computed(show), what, tuple(sorted((filters or {}).items())))
    if key not in _counted:
        if len(_counted) > 512:
            _counted.clear()
        _counted[key] = compute()
    return _counted[key]


def segment_page(show, filters: dict, position: Position, sort: str = "-score", per_page: int = 50):
    stmt = segment_query(show, filters)
    page = seek_page(stmt, ORDERS.get(sort, ORDERS["-score"]), position, per_page=per_page)
    page.total, page.total_exact = _once_per_computation(show, "total", filters, lambda: count_rows(stmt))
    ids = [s.organization_id for s in page.rows]
    names = dict(db.session.execute(select(Organization.id, func.coalesce(func.nullif(Organization.name_zh, ""),
                                                                           Organization.name_en))
                                    .where(Organization.id.in_(ids))).all()) if ids else {}
    return page, names


def segment_counts(show, filters: dict | None = None) -> dict[str, dict[str, int]]:
    """Per model, per segment: how many customers (within the other models' filters). One
    scan of the show's rows, grouped by every model at once; the counts are summed here."""
    return _once_per_computation(show, "counts", filters or {}, lambda: _segment_counts(show, filters))


def _segment_counts(show, filters: dict | None = None) -> dict[str, dict[str, int]]:
    cols = [getattr(Segment, m) for m in MODELS]
    combos = db.session.execute(select(*cols, func.count()).where(Segment.show_id == show.id).group_by(*cols)).all()
    filters = filters or {}
    out = {m: {k: 0 for k in SEGMENT_TITLES[m]} for m in MODELS}
    for *values, n in combos:
        row = dict(zip(MODELS, values, strict=True))
        for model in MODELS:
            if all(row[k] == v for k, v in filters.items() if k != model):
                out[model][row[model]] = out[model].get(row[model], 0) + n
    return out


def last_computed(show):
    return db.session.scalar(select(func.max(Segment.computed_at)).where(Segment.show_id == show.id))


def segment_of(show, organization_id: int) -> Segment | None:
    return db.session.scalar(select(Segment).where(Segment.show_id == show.id,
                                                   Segment.organization_id == organization_id))
