"""List pages that stay fast at any depth: keyset ("seek") pagination and honest totals.

A page is fetched by the sort key of the row just before it (``after=``) or just after it
(``before=``), carried in the Next / Previous links as an opaque cursor, so that page 4,000
costs what page 1 costs: an index seek, never an OFFSET over the rows before it. The last
column of every sort order is unique (an id), so rows that tie on the visible sort key
(two people called 张伟) are neither skipped nor repeated across pages.

Small page numbers (``page=2``) still work, by OFFSET, up to ``MAX_PAGE_NUMBER``.

Totals: exact when counting is cheap (an index range); otherwise counted up to a cap and
shown as "more than N" — never a wrong exact number.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import and_, func, select, tuple_
from sqlalchemy import inspect as sa_inspect

from .errors import DomainError
from .extensions import db

PER_PAGE = 50
MAX_PAGE_NUMBER = 20          # page=N by OFFSET up to here (at most 950 rows skipped)
MAX_CURSOR_LENGTH = 1000


class ListRequestError(DomainError):
    """A list URL the server cannot honour (bad page number or cursor); the message names it."""

    code, status = "bad_request", 400


@dataclass(frozen=True)
class Order:
    """A sort order: SQL column expressions, all in one direction, the last one unique
    within the listed rows (the tie-break). ``kinds`` are the Python types of the columns,
    checked when a cursor comes back from a URL."""
    columns: tuple
    kinds: tuple
    descending: bool = False
    # The first column has few values (a status, a country) and the rest sorts within each:
    # a page is sought within its value first, then from the following values — two index
    # friendly queries instead of one row comparison that would sort every later row.
    grouped: bool = False

    def clauses(self, backwards: bool = False, small: bool = False) -> list:
        """ORDER BY; ``small``: the filtered set is small — filter first, then sort (on SQLite
        the sort columns are hidden from its planner, which would otherwise walk a whole sort
        index looking for the few matching rows)."""
        desc = self.descending != backwards
        return [c.desc() if desc else c.asc() for c in self._columns(small)]

    def seek(self, values, backwards: bool = False, small: bool = False):
        """WHERE: rows after ``values`` in this order (before them when ``backwards``) — a row
        value comparison that an index on the columns answers with a seek."""
        cols = self._columns(small)
        left, right = tuple_(*cols), tuple_(*values)
        if self.descending != backwards:
            return and_(cols[0] <= values[0], left < right)
        # The redundant bound on the first column lets a planner seek an index on it even when
        # the columns come from two tables (PostgreSQL does not split the row comparison).
        return and_(cols[0] >= values[0], left > right)

    def _columns(self, small: bool):
        return [unindexed(c) for c in self.columns] if small else list(self.columns)


def unindexed(column):
    """``column`` as an expression no index answers (SQLite: ``+column``), to steer SQLite's
    planner, which has no statistics: e.g. to read people in name order rather than every
    registration of a show and sort them. PostgreSQL plans from statistics: unchanged there."""
    if db.session.get_bind().dialect.name != "sqlite":
        return column
    from sqlalchemy.sql import operators
    from sqlalchemy.sql.elements import UnaryExpression
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


# --- cursors ----------------------------------------------------------------------------
def encode_cursor(values) -> str:
    out = [{"t": v.isoformat()} if isinstance(v, dt.datetime) else v for v in values]
    raw = json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(raw: str, order: Order) -> tuple:
    """The sort key a cursor carries, checked against the order's column types."""
    bad = ListRequestError(_("This list link is not valid (its position marker is damaged or from another "
                             "sort order). Start again from the first page."))
    if not raw or len(raw) > MAX_CURSOR_LENGTH:
        raise bad
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise bad from exc
    if not isinstance(values, list) or len(values) != len(order.kinds):
        raise bad
    out = []
    for value, kind in zip(values, order.kinds, strict=True):
        if kind is dt.datetime:
            try:
                value = dt.datetime.fromisoformat(value["t"])
            except (TypeError, KeyError, ValueError) as exc:
                raise bad from exc
        elif kind is int:
            if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= 2 ** 63:
                raise bad
        elif not isinstance(value, kind):
            raise bad
        out.append(value)
    return tuple(out)


# --- where the user is in the list ------------------------------------------------------
@dataclass(frozen=True)
class Position:
    page: int = 1                 # by number (OFFSET), when no cursor is given
    after: str = ""
    before: str = ""
    last: bool = False

    @property
    def is_first(self) -> bool:
        return self.page == 1 and not (self.after or self.before or self.last)


def position_from(args) -> Position:
    """Read page / after / before / last from the query string; ListRequestError names what
    is wrong (never a silent jump to some other page)."""
    raw = (args.get("page") or "1").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 10 ** 6:
        raise ListRequestError(_("“%(value)s” is not a page number.", value=raw[:20]))
    page = int(raw)
    if page > MAX_PAGE_NUMBER:
        raise ListRequestError(_("Pages beyond %(n)d are reached with Next, Previous and Last, not by number.",
                                 n=MAX_PAGE_NUMBER))
    after, before = args.get("after", ""), args.get("before", "")
    last = args.get("last", "") in ("1", "true")
    if sum(map(bool, (after, before, last, page > 1))) > 1:
        raise ListRequestError(_("Give only one of page, after, before and last."))
    return Position(page=page, after=after, before=before, last=last)


# --- a page -----------------------------------------------------------------------------
@dataclass
class Page:
    rows: list
    total: int | None = None
    total_exact: bool = True
    next_cursor: str = ""         # after=… for the Next link ("" = no next page)
    prev_cursor: str = ""         # before=… for the Previous link ("" = no previous page)
    is_last: bool = False
    args: dict = field(default_factory=dict)   # the filters, for the links

    @property
    def has_next(self) -> bool:
        return bool(self.next_cursor)

    @property
    def has_prev(self) -> bool:
        return bool(self.prev_cursor)


def seek_page(stmt, order: Order, position: Position, *, per_page: int = PER_PAGE, small: bool = False) -> Page:
    """One page of ``stmt`` (a SELECT of one entity, filtered, without ORDER BY) in ``order``
    at ``position``. ``small``: the caller knows the filtered set is small (see Order.clauses)."""
    # The page is found on narrow rows (primary key and sort key: a sort, when there is one,
    # moves little), then its rows are loaded whole, with the caller's loader options.
    mapper = sa_inspect(stmt.column_descriptions[0]["entity"])
    pk = mapper.primary_key[0]
    pk_attr = mapper.get_property_by_column(pk).key
    keyed = stmt.with_only_columns(pk, *order.columns, maintain_column_froms=True)

    def run(q, backwards=False, offset=0):
        q = q.order_by(*order.clauses(backwards, small)).limit(per_page + 1)
        if offset:
            q = q.offset(offset)
        return [(row[0], tuple(row[1:])) for row in db.session.execute(q)]

    def seek(values, backwards=False):
        if not order.grouped:
            return run(keyed.where(order.seek(values, backwards, small)), backwards)
        head = order.columns[0]
        rest = Order(order.columns[1:], order.kinds[1:], order.descending)
        rows = run(keyed.where(head == values[0], rest.seek(values[1:], backwards, small)), backwards)
        if len(rows) <= per_page:
            later = head < values[0] if order.descending != backwards else head > values[0]
            rows = (rows + run(keyed.where(later), backwards))[:per_page + 1]
        return rows

    backwards = bool(position.before) or position.last
    if position.after:
        rows = seek(decode_cursor(position.after, order))
        more_before = True
    elif position.before:
        rows = seek(decode_cursor(position.before, order), backwards=True)
        if len(rows) <= per_page:
            # Nothing before these: show the true first page (a full one), not a short one.
            return seek_page(stmt, order, Position(), per_page=per_page, small=small)
    elif position.last:
        rows = run(keyed, True)
    else:
        rows = run(keyed, offset=(position.page - 1) * per_page)
        more_before = position.page > 1
    if backwards:
        more_after = not position.last
        more_before = len(rows) > per_page
        rows = list(reversed(rows[:per_page]))
    else:
        more_after = len(rows) > per_page
        rows = rows[:per_page]
    ids = [i for i, _key in rows]
    loaded = {getattr(obj, pk_attr): obj for obj in db.session.scalars(stmt.where(pk.in_(ids)))} if ids else {}
    return Page(rows=[loaded[i] for i in ids if i in loaded],
                next_cursor=encode_cursor(rows[-1][1]) if rows and more_after else "",
                prev_cursor=encode_cursor(rows[0][1]) if rows and more_before else "",
                is_last=not more_after)


def count_rows(stmt, cap: int | None = None) -> tuple[int, bool]:
    """How many rows ``stmt`` selects: (n, True) exactly, or (cap, False) meaning "more than
    cap" when counting is capped (stops after cap + 1 rows: a count that cannot be answered
    from an index costs one probe per row)."""
    inner = stmt.order_by(None).with_only_columns(func.count().label("n") if cap is None else _one(),
                                                  maintain_column_froms=True)
    if cap is None:
        return db.session.scalar(inner), True
    n = db.session.scalar(select(func.count()).select_from(inner.limit(cap + 1).subquery()))
    return (n, True) if n <= cap else (cap, False)


def _one():
    from sqlalchemy import literal_column
    return literal_column("1").label("one")
