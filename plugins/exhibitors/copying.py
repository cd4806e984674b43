"""show.copy hook: the show's product categories (the taxonomy exhibitors pick from). A
category the new edition has already (same code) is kept as it is, also with ``replace``:
its exhibitors may have picked it, and deleting it would drop their choice in silence."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm_expo.copying import clone_rows
from crm_expo.extensions import db

from .models import ExhibitorCategory


def copy_show(source, target, report, replace: bool) -> None:
    have = set(db.session.scalars(select(ExhibitorCategory.code).where(ExhibitorCategory.show_id == target.id)))
    copied = clone_rows(ExhibitorCategory, source, target, change=lambda row, v: None if row.code in have else v)
    report.add("exhibitors.categories", _l("Product categories"), len(copied))
