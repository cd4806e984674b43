"""Merging two records of one customer: every row of every table (core or plugin) that points
at the merged record is moved to the survivor, and the audit entry keeps what moved, what
was dropped and the merged record as it was (its history is kept)."""
from __future__ import annotations

from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint, delete, select, update

from .. import signals
from ..database import transaction
from ..extensions import db
from ..i18n import gettext_anywhere as _
from ..models import Organization, Person, audit
from .duplicates import CustomerError

# --- merging ---------------------------------------------------------------------------------------
_NOT_MOVED = {"person_search_tokens", "organization_search_tokens"}


def _unique_sets(table):
    """(columns, partial-index predicate or None) of every unique constraint/index and the PK."""
    for c in table.constraints:
        if isinstance(c, (UniqueConstraint, PrimaryKeyConstraint)):
            yield list(c.columns), None
    for ix in table.indexes:
        if ix.unique:
            where = ix.dialect_options["postgresql"].get("where")
            if where is None:
                where = ix.dialect_options["sqlite"].get("where")
            yield [c for c in ix.columns], where
    for col in table.columns:
        if col.unique:
            yield [col], None


def _repoint(target, old_id, new_id, moved: dict, dropped: list) -> None:
    """Point every foreign key to ``target``.id = old_id at new_id. A referencing row that
    would then collide with a unique constraint (e.g. both people registered for the same
    show) is itself merged into the survivor's row: its own references are re-pointed the
    same way, then it is deleted and recorded in ``dropped``."""
    for table in db.metadata.sorted_tables:
        if table.name in _NOT_MOVED:
            continue
        for fk in table.foreign_keys:
            if fk.column.table is not target:
                continue
            col = fk.parent
            pk = list(table.primary_key.columns)
            for cols, where in _unique_sets(table):
                if col not in cols:
                    continue
                rows = select(table).where(col == old_id)
                if where is not None:       # a partial unique index only counts rows it covers
                    rows = rows.where(where)
                for row in db.session.execute(rows).mappings().all():
                    others = [c for c in cols if c is not col]
                    if any(row[c.name] is None for c in others):
                        continue            # NULLs never collide
                    twin = select(*pk).where(col == new_id, *[c == row[c.name] for c in others])
                    if where is not None:
                        twin = twin.where(where)
                    twin = db.session.execute(twin).first()
                    if twin is None:
                        continue
                    if len(pk) == 1:
                        _repoint(table, row[pk[0].name], twin[0], moved, dropped)
                    db.session.execute(delete(table).where(*[c == row[c.name] for c in pk]))
                    dropped.append({"table": table.name, "row": dict(row)})
            n = db.session.execute(update(table).where(col == old_id).values({col.name: new_id})).rowcount
            if n:
                key = f"{table.name}.{col.name}"
                moved[key] = moved.get(key, 0) + n


def _merge(survivor, merged, fields, user, action, signal):
    if survivor.id == merged.id:
        raise CustomerError(_("A record cannot be merged with itself."))
    survivor_id, merged_id = survivor.id, merged.id
    model = type(survivor)
    before = {f: getattr(merged, f) for f in ("id",) + fields}
    fill = {f: getattr(merged, f) for f in fields if getattr(merged, f) and not getattr(survivor, f)}
    moved: dict[str, int] = {}
    dropped: list[dict] = []
    with transaction():
        db.session.flush()
        _repoint(model.__table__, merged_id, survivor_id, moved, dropped)
        db.session.execute(delete(model).where(model.id == merged_id))
        db.session.expire_all()
        survivor = db.session.get(model, survivor_id)
        for f, v in fill.items():
            setattr(survivor, f, v)
        audit(action, survivor, user=user, before={"merged": before},
              after={"survivor_id": survivor_id, "filled": fill, "moved": moved, "dropped": dropped})
        signals.send_after_commit(signal, survivor, merged_id=merged_id, user=user)
    return survivor


def merge_persons(survivor: Person, merged: Person, user=None) -> Person:
    """Merge ``merged`` into ``survivor``: every row of every table (core or plugin) that points
    at the merged person now points at the survivor; blanks of the survivor are filled; the
    merged row is deleted; an audit entry records what moved and what was dropped."""
    if survivor.erased_at or merged.erased_at:
        raise CustomerError(_("An erased person cannot be merged."))
    return _merge(survivor, merged, ("name_zh", "name_en", "email", "phone", "organization_id", "job_title",
                                     "birth_date", "id_number"), user, "person.merge", signals.persons_merged)


def merge_organizations(survivor: Organization, merged: Organization, user=None) -> Organization:
    """Merge two organizations (see merge_persons): people, users, exhibitor and supplier
    records … all move to the survivor."""
    return _merge(survivor, merged, ("name_zh", "name_en", "region", "city", "address", "website", "email", "phone",
                                     "licence_no"), user, "organization.merge", signals.organizations_merged)


