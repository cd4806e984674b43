"""Set up a new edition from the last one: ``crm-expo shows copy FROM TO --start DATE``.

The core creates the new show (or takes an empty one), puts it in the source's series (a
source without a series gets one first: its code without the year, see
``operations.series_slug_of``; a target already in a series keeps it), copies its own part
(the show's halls list and its settings), then asks every loaded plugin, in ``requires`` order, to copy its
part through the page hook ``show.copy`` (``handler(source, target, report, replace)``).
A plugin refuses to copy onto a show that already has its set-up (booths: a show with
booths) unless ``replace``. The copy, with the creation of the new show, is one transaction: a
plugin that fails leaves nothing copied and no new show. Dates that belong to the edition
(a discount's deadline, a day's admission rule) move by the distance between the two first days.

A plugin's copy handler lives in ``plugins/<name>/copying.py`` and uses :func:`clone_rows`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy import inspect as sa_inspect

from .errors import DomainError
from .extensions import db
from .models import Setting, Show, audit


class CopyError(DomainError):
    """A copy refused (unknown show, a target that has booths already, …)."""

    code = "copy_refused"


class CopyReport:
    """What was copied: a count per kind, in the order the kinds were copied."""

    def __init__(self):
        self.counts: dict[str, tuple[Any, int]] = {}

    def add(self, kind: str, title, count: int) -> None:
        old = self.counts.get(kind, (title, 0))[1]
        self.counts[kind] = (title, old + count)

    def lines(self) -> list[str]:
        return [f"{title}: {count}" for title, count in self.counts.values()]

    def as_dict(self) -> dict[str, int]:
        return {kind: count for kind, (_title, count) in self.counts.items()}


def shift_date(day: dt.date | None, offset: dt.timedelta) -> dt.date | None:
    return None if day is None else day + offset


def clone_rows(model, source: Show, target: Show, *, where=(), change: Callable[[Any, dict], dict | None] | None = None,
               ) -> list[tuple[Any, Any]]:
    """Copy every row of ``model`` that belongs to ``source`` into ``target``: all columns but
    the id, with ``show_id`` set to the target's. ``change(row, values)`` may adjust the values
    (mapped ids, shifted dates) or return None to leave the row out. Returns (old, new) pairs."""
    columns = [attr.key for attr in sa_inspect(model).column_attrs if attr.key not in ("id", "show_id")]
    pairs = []
    for row in db.session.scalars(select(model).where(model.show_id == source.id, *where).order_by(model.id)):
        values = {key: getattr(row, key) for key in columns}
        if change is not None:
            values = change(row, values)
            if values is None:
                continue
        new = model(show_id=target.id, **values)
        db.session.add(new)
        pairs.append((row, new))
    db.session.flush()
    return pairs


def count_rows(model, show: Show) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(model.show_id == show.id)) or 0


def delete_rows(model, show: Show) -> None:
    db.session.execute(delete(model).where(model.show_id == show.id))


def _copy_core(source: Show, target: Show, report: CopyReport, replace: bool) -> None:
    target.halls = list(source.halls or [])
    if replace:
        delete_rows(Setting, target)
    have = set(db.session.scalars(select(Setting.key).where(Setting.show_id == target.id)))
    copied = clone_rows(Setting, source, target, change=lambda row, values: None if row.key in have else values)
    report.add("settings", _l("Settings"), len(copied))


def _join_series(source: Show, target: Show, created: bool, user) -> None:
    from .operations import series_for, series_name_of, series_slug_of, set_show_series
    if source.series is None:
        series = series_for(series_slug_of(source.slug), name_zh=series_name_of(source.name_zh or source.name_en),
                            name_en=series_name_of(source.name_en), user=user)
        set_show_series(source, series, user=user)
    if created or target.series is None:
        set_show_series(target, source.series, user=user)


def copy_show(source_slug: str, target_slug: str, start: dt.date, *, name: str | None = None,
              replace: bool = False, user=None) -> tuple[Show, CopyReport]:
    """Copy ``source_slug``'s set-up into ``target_slug`` (created when it does not exist)."""
    from . import hooks
    from .database import transaction
    from .operations import create_show
    source = db.session.scalar(select(Show).where(Show.slug == source_slug))
    if source is None:
        raise CopyError(_("No show with the code %(slug)s.", slug=source_slug), field="from")
    report = CopyReport()
    with transaction():     # one transaction with the new show: a copy that fails leaves no show behind
        target = db.session.scalar(select(Show).where(Show.slug == target_slug))
        created = target is None
        if created:
            target = create_show(target_slug, name or source.name_zh, start, len(source.days) or 1,
                                 name_en="" if name else source.name_en, venue=source.venue, halls=source.halls,
                                 timezone=source.timezone, currency=source.currency, user=user)
        elif target.id == source.id:
            raise CopyError(_("A show cannot be copied onto itself."), field="to")
        elif start != target.start:
            _move_days(target, start)
        _join_series(source, target, created, user)
        _copy_core(source, target, report, replace)
        for _plugin, handler in hooks.handlers("show.copy"):
            handler(source=source, target=target, report=report, replace=replace)
        audit("show.copy", target, user=user, show_id=target.id,
              after={"from": source.slug, "replace": replace, "copied": report.as_dict()})
    return target, report


def _move_days(target: Show, start: dt.date) -> None:
    from .models import ShowDay
    hours = [(d.opens, d.closes, d.trade_only) for d in target.days]
    target.days.clear()
    db.session.flush()
    for i, (opens, closes, trade_only) in enumerate(hours):
        target.days.append(ShowDay(date=start + dt.timedelta(days=i), opens=opens, closes=closes,
                                   trade_only=trade_only))
    db.session.flush()

