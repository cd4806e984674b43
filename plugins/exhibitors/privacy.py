"""The exhibitors' part of a person's data (hook privacy.export): the stands they staffed.
Erasure keeps the links (the stand's head count); the person's name goes with the Person."""
from __future__ import annotations

from sqlalchemy import select

from crm_expo.extensions import db
from crm_expo.models import Organization, Show

from .models import Exhibitor, ExhibitorStaff


def export(person) -> dict:
    rows = db.session.execute(
        select(ExhibitorStaff, Show.slug, Organization.name_zh, Organization.name_en)
        .join(Exhibitor, Exhibitor.id == ExhibitorStaff.exhibitor_id).join(Show, Show.id == Exhibitor.show_id)
        .join(Organization, Organization.id == Exhibitor.organization_id)
        .where(ExhibitorStaff.person_id == person.id).order_by(ExhibitorStaff.id)).all()
    return {"exhibitor_staff": [{"id": s.id, "show": slug, "exhibitor": zh or en, "role": s.role}
                                for s, slug, zh, en in rows]}
