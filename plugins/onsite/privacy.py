"""The on-site part of a person's data (hooks privacy.export and privacy.erase): their scans,
badge prints, the leads exhibitors took of them, and the service requests they gave as contact."""
from __future__ import annotations

from sqlalchemy import select

from crm_expo.extensions import db
from crm_expo.models import Organization
from crm_expo.privacy import REDACTED, blank, holds, identifiers, redact_text
from plugins.exhibitors.models import Exhibitor
from plugins.visitors.models import Registration

from .models import BadgePrint, Lead, Scan, ServiceEvent, ServiceRequest


def _registration_ids(person) -> list[int]:
    return list(db.session.scalars(select(Registration.id).where(Registration.person_id == person.id)))


def _requests(person, idents):
    if not idents:
        return []
    return db.session.scalars(select(ServiceRequest).where(holds(ServiceRequest.contact, idents))
                              .order_by(ServiceRequest.id)).all()


def export(person) -> dict:
    ids = _registration_ids(person)
    scans = db.session.scalars(select(Scan).where(Scan.registration_id.in_(ids)).order_by(Scan.id)).all()
    prints = db.session.scalars(select(BadgePrint).where(BadgePrint.registration_id.in_(ids))
                                .order_by(BadgePrint.id)).all()
    leads = db.session.execute(
        select(Lead, Organization.name_zh, Organization.name_en)
        .join(Exhibitor, Exhibitor.id == Lead.exhibitor_id).join(Organization, Organization.id == Exhibitor.organization_id)
        .where(Lead.registration_id.in_(ids)).order_by(Lead.id)).all()
    requests = _requests(person, identifiers(person))
    return {
        "scans": [{"id": s.id, "registration_id": s.registration_id, "day": s.day, "at": s.at, "gate": s.gate,
                   "direction": s.direction, "result": s.result, "reason": s.reason} for s in scans],
        "badge_prints": [{"id": p.id, "registration_id": p.registration_id, "at": p.at, "reprint": p.reprint,
                          "reason": p.reason} for p in prints],
        "leads": [{"id": lead.id, "exhibitor": zh or en, "rating": lead.rating, "notes": lead.notes,
                   "tags": lead.tags, "scans": lead.scans, "created_at": lead.created_at}
                  for lead, zh, en in leads],
        "service_requests": [{"id": r.id, "kind": r.kind, "category": r.category, "location": r.location,
                              "description": r.description, "contact": r.contact, "status": r.status,
                              "created_at": r.created_at, "satisfaction": r.satisfaction,
                              "events": [{"at": e.at, "action": e.action, "note": e.note} for e in r.events]}
                             for r in requests],
    }


def erase(person, idents, report) -> None:
    """Scans and leads stay (attendance, lead counts) without what identifies the person: the
    answers kept for replays (they greet the person by name), the exhibitor's notes on them."""
    ids = _registration_ids(person)
    if ids:
        for scan in db.session.scalars(select(Scan).where(Scan.registration_id.in_(ids), Scan.answer.is_not(None))):
            scan.answer = redact_text(dict(scan.answer), idents)
            report.add("scans")
        for bp in db.session.scalars(select(BadgePrint).where(BadgePrint.registration_id.in_(ids),
                                                              BadgePrint.reason != "")):
            bp.reason = redact_text(bp.reason, idents)
        for lead in db.session.scalars(select(Lead).where(Lead.registration_id.in_(ids))):
            lead.notes = blank(lead.notes)
            lead.tags = redact_text(lead.tags, idents)
            report.add("leads")
    for req in _requests(person, idents):
        req.contact = REDACTED
        req.description = redact_text(req.description, idents)
        req.location = redact_text(req.location, idents)
        for event in db.session.scalars(select(ServiceEvent).where(ServiceEvent.request_id == req.id)):
            event.note = redact_text(event.note, idents)
        report.add("service_requests")
