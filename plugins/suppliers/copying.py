"""show.copy hook: the official contractors' appointments and their service catalogues
(order deadlines move with the show's dates)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm_expo.copying import clone_rows, delete_rows, shift_date
from crm_expo.database import utcnow
from crm_expo.extensions import db

from .models import Appointment, CatalogueItem


def copy_show(source, target, report, replace: bool) -> None:
    if replace:
        delete_rows(CatalogueItem, target)
        delete_rows(Appointment, target)
    offset = target.start - source.start
    appointed = set(db.session.scalars(select(Appointment.supplier_id).where(Appointment.show_id == target.id)))

    def appointment(row, values):
        if row.supplier_id in appointed:
            return None
        values["appointed_at"] = utcnow()
        return values
    appointments = clone_rows(Appointment, source, target, change=appointment)

    def item(_row, values):
        values["currency"] = target.currency
        for key in ("early_order_deadline", "final_order_deadline"):
            values[key] = shift_date(values[key], offset)
        return values
    items = clone_rows(CatalogueItem, source, target, where=(CatalogueItem.active.is_(True),), change=item)
    report.add("suppliers.appointments", _l("Supplier appointments"), len(appointments))
    report.add("suppliers.catalogue", _l("Service catalogue items"), len(items))
