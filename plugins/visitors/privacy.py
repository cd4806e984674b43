"""The visitors' part of a person's data (hooks privacy.export and privacy.erase): their
registrations (answers, verification notes), badge codes and business cards."""
from __future__ import annotations

from sqlalchemy import select

from crm_expo.extensions import db
from crm_expo.models import Show
from crm_expo.privacy import REDACTED, blank, redact_text

from .models import BadgeCode, BusinessCard, Question, Registration


def _registrations(person):
    return db.session.scalars(select(Registration).where(Registration.person_id == person.id)
                              .order_by(Registration.id)).all()


def export(person) -> dict:
    regs = _registrations(person)
    slugs = dict(db.session.execute(select(Show.id, Show.slug).where(Show.id.in_({r.show_id for r in regs}))).all())
    ids = [r.id for r in regs]
    cards = db.session.scalars(select(BusinessCard).where(BusinessCard.registration_id.in_(ids))
                               .order_by(BusinessCard.id)).all() if ids else []
    return {
        "registrations": [{"id": r.id, "show": slugs.get(r.show_id), "category": r.category,
                           "verification": r.verification, "verification_note": r.verification_note,
                           "evidence_company": r.evidence_company, "concession": r.concession,
                           "badge_code": r.badge_code, "answers": r.answers, "source": r.source,
                           "created_at": r.created_at, "cancelled_at": r.cancelled_at} for r in regs],
        "business_cards": [{"id": c.id, "registration_id": c.registration_id, "filename": c.filename,
                            "content_type": c.content_type, "uploaded_at": c.uploaded_at, "file": c.data}
                           for c in cards],
    }


def erase(person, idents, report) -> None:
    """Free text and cards go; categories, verification states, badge codes and dates stay
    (attendance and the visitor figures count them). Answers to choice questions are kept
    (codes such as an industry, the demographic figures); answers to free-text ones go."""
    regs = _registrations(person)
    for reg in regs:
        text_keys = set(db.session.scalars(select(Question.key).where(Question.show_id == reg.show_id,
                                                                      Question.kind == "text")))
        reg.answers = {k: (blank(v) if k in text_keys else redact_text(v, idents))
                       for k, v in (reg.answers or {}).items()}
        reg.verification_note = blank(reg.verification_note)
        reg.evidence_company = blank(reg.evidence_company)
        report.add("registrations")
    ids = [r.id for r in regs]
    if not ids:
        return
    for card in db.session.scalars(select(BusinessCard).where(BusinessCard.registration_id.in_(ids))):
        card.data, card.size, card.filename = b"", 0, REDACTED
        report.add("business_cards")
    for code in db.session.scalars(select(BadgeCode).where(BadgeCode.registration_id.in_(ids),
                                                           BadgeCode.revoke_reason != "")):
        code.revoke_reason = redact_text(code.revoke_reason, idents)
