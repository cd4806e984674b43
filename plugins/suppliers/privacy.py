"""The suppliers' part of a person's data (hook privacy.export): the suppliers they are a
contact of. Erasure keeps the links; the person's name goes with the Person."""
from __future__ import annotations

from sqlalchemy import select

from crm_expo.extensions import db
from crm_expo.models import Organization

from .models import Supplier, SupplierContact


def export(person) -> dict:
    rows = db.session.execute(
        select(SupplierContact, Organization.name_zh, Organization.name_en)
        .join(Supplier, Supplier.id == SupplierContact.supplier_id)
        .join(Organization, Organization.id == Supplier.organization_id)
        .where(SupplierContact.person_id == person.id).order_by(SupplierContact.id)).all()
    return {"supplier_contacts": [{"id": c.id, "supplier": zh or en, "role": c.role} for c, zh, en in rows]}
