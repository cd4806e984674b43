"""A person's personal data (PIPL, GDPR; DOMAIN.md §9): export it, erase it.

Both go through the page hooks ``privacy.export`` and ``privacy.erase`` (crm_expo/hooks.py)
so that each plugin gives, and erases, its own part; the core does the person, the consents,
the mails of the outbox, the audit log and the files waiting in the uploads folder.

**Erasure replaces, never deletes**: names, phones, emails, ID numbers, free text and
uploaded files become :data:`REDACTED` (or empty); ids, counts, categories, dates and money
stay, so every report's totals (attendance, revenue) are the same after it. The Person row
stays with ``erased_at`` set.

**Erasure and the audit chain**: audit entries that hold the person's data are redacted in
place (the person's values replaced, nothing removed). A redacted entry of the hash chain
(crm_expo.models.audit) keeps its ``entry_hash``, so the links stay whole; its contents no
longer give that hash. The erasure writes one chained ``privacy.erase`` entry that lists each
redacted entry with the digest of its redacted contents, and ``verify_chain`` accepts a
changed entry only when a ``privacy.erase`` entry later in the chain recorded exactly those
contents. Changing a redacted entry again, or redacting one without such a record, still
breaks the chain."""
from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, or_, select

from .database import transaction, utcnow
from .errors import DomainError
from .exports import safe_cell
from .extensions import db
from .hooks import handlers
from .models import Consent, Person
from .models.audit import AuditEntry, audit, entry_digest
from .models.mail import OutboxMail
from .titles import register

# What an erasure counts (ErasureReport.counts); a plugin adds its kinds with titles.extend.
register("privacy.kind", {
    "people": _l("People"), "mails": _l("Mails"), "audit_entries": _l("Audit entries"), "files": _l("Files"),
    "registrations": _l("Registrations"), "business_cards": _l("Business cards"), "scans": _l("Scans"),
    "leads": _l("Leads"), "service_requests": _l("Service requests"),
})

REDACTED = "[erased]"
REDACTED_NAME_ZH = "[已删除]"
# Folders of the instance whose files may hold a person's data verbatim (import files waiting
# for their confirmation). Exhibitors' documents are a company's, not a person's.
SCANNED_UPLOADS = ("uploads/imports", "uploads/visitors")


class PrivacyError(DomainError):
    code = "privacy"
    status = 400


class UnknownPerson(PrivacyError):
    code = "unknown_person"
    status = 404


@dataclass
class ErasureReport:
    """What an erasure changed (counts per kind) and what it kept, and why."""
    people: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    redacted_audit: dict[str, str] = field(default_factory=dict)   # entry id → digest of its redacted contents

    def add(self, kind: str, n: int = 1) -> None:
        if n:
            self.counts[kind] = self.counts.get(kind, 0) + n


# --- finding the person and what holds their data ---------------------------------------------
def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def people_with_email(email: str) -> list[Person]:
    """The (not yet erased) people with this email; UnknownPerson when there are none."""
    address = normalise_email(email)
    found = db.session.scalars(select(Person).where(Person.email == address, Person.erased_at.is_(None))
                               .order_by(Person.id)).all() if address else []
    if not found:
        raise UnknownPerson(_("No person with the email %(email)s (or already erased).", email=address or "-"),
                            field="email")
    return list(found)


def identifiers(person: Person) -> list[str]:
    """The values that identify the person, longest first (so a name inside an email goes with it)."""
    values = {person.name_zh, person.name_en, person.email, person.phone, (person.phone or "").lstrip("+"),
              person.id_number}
    return sorted((v for v in values if v and len(v) >= 2), key=len, reverse=True)


def _variants(value: str) -> list[str]:
    """The value and its form inside stored JSON (non-ASCII escaped as \\uXXXX)."""
    escaped = json.dumps(value)[1:-1]
    return [value] if escaped == value else [value, escaped]


def holds(column, idents: list[str]):
    """SQL: the (text or JSON) column contains one of the identifiers."""
    text_col = cast(column, String)
    return or_(*[text_col.contains(v, autoescape=True) for i in idents for v in _variants(i)])


def redact_text(value: Any, idents: list[str]) -> Any:
    """``value`` (a string, or JSON: lists and dicts) with every identifier replaced."""
    if isinstance(value, str):
        for ident in idents:
            value = value.replace(ident, REDACTED)
        return value
    if isinstance(value, list):
        return [redact_text(v, idents) for v in value]
    if isinstance(value, dict):
        return {k: redact_text(v, idents) for k, v in value.items()}
    return value


def blank(value: str) -> str:
    """Free text: the redaction if there was any text, else empty."""
    return REDACTED if value else value


# --- export ------------------------------------------------------------------------------------
def _row(obj, columns) -> dict:
    return {c: getattr(obj, c) for c in columns}


def _core_export(person: Person) -> dict[str, list[dict]]:
    consents = db.session.scalars(select(Consent).where(Consent.person_id == person.id).order_by(Consent.id))
    mails = db.session.scalars(select(OutboxMail).where(or_(OutboxMail.person_id == person.id,
                                                            OutboxMail.recipient == person.email))
                               .order_by(OutboxMail.id))
    idents = identifiers(person)
    entries = db.session.scalars(select(AuditEntry).where(or_(
        (AuditEntry.object_type == "Person") & (AuditEntry.object_id == str(person.id)),
        holds(AuditEntry.before, idents), holds(AuditEntry.after, idents))).order_by(AuditEntry.id))
    company = person.organization
    return {
        "person": [dict(_row(person, ("id", "name_zh", "name_en", "email", "phone", "job_title", "country",
                                      "birth_date", "id_number", "created_at", "updated_at")),
                        company=(company.name_zh or company.name_en) if company else "")],
        "consents": [_row(c, ("id", "purpose", "granted", "at", "source")) for c in consents],
        "mails": [_row(m, ("id", "recipient", "subject", "text", "purpose", "status", "created_at", "sent_at"))
                  for m in mails],
        "audit": [_row(e, ("id", "at", "action", "object_type", "object_id", "before", "after")) for e in entries],
    }


def export_data(email: str) -> dict[str, list[dict]]:
    """Every section of the person's data: the core's, then each plugin's (``privacy.export``)."""
    return export_people(people_with_email(email))


def export_people(people: list[Person]) -> dict[str, list[dict]]:
    sections: dict[str, list[dict]] = {}
    for person in people:
        parts = [_core_export(person)] + [handler(person=person) for _name, handler in handlers("privacy.export")]
        for part in parts:
            for name, rows in (part or {}).items():
                sections.setdefault(name, []).extend(rows)
    return sections


def _plain(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if value is None:
        return ""
    return value if isinstance(value, (int, float, str)) else str(value)


def export_zip(email: str) -> bytes:
    """The person's data as a zip: ``data.json`` (every section), one CSV per section
    (formula-safe, UTF-8 with BOM for spreadsheets), and the uploaded files under ``files/``."""
    return _zip(export_data(email), normalise_email(email))


def export_zip_people(people: list[Person]) -> bytes:
    """:func:`export_zip` for given people (a show's visitors before their retention ends)."""
    return _zip(export_people(people), "")


def _zip(sections: dict[str, list[dict]], email: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, rows in sections.items():
            for row in rows:
                for key, value in list(row.items()):
                    if isinstance(value, bytes):
                        path = f"files/{name}/{row.get('id', len(zf.namelist()))}-{os.path.basename(str(row.get('filename') or key))}"
                        zf.writestr(path, value)
                        row[key] = path
        zf.writestr("data.json", json.dumps({"email": email, "exported_at": utcnow(),
                                             "sections": sections}, ensure_ascii=False, indent=2, default=str))
        for name, rows in sections.items():
            out = io.StringIO()
            header = list(dict.fromkeys(k for row in rows for k in row))
            writer = csv.writer(out)
            writer.writerow(header)
            for row in rows:
                writer.writerow([safe_cell(_plain(row.get(k))) for k in header])
            zf.writestr(f"{name}.csv", "\ufeff" + out.getvalue())
    return buf.getvalue()


# --- erasure -----------------------------------------------------------------------------------
def _erase_core(person: Person, idents: list[str], report: ErasureReport) -> None:
    for mail in db.session.scalars(select(OutboxMail).where(or_(OutboxMail.person_id == person.id,
                                                                OutboxMail.recipient == person.email))):
        mail.recipient = REDACTED
        mail.subject = redact_text(mail.subject, idents)
        mail.text = redact_text(mail.text, idents)
        mail.html = redact_text(mail.html, idents)
        mail.headers = redact_text(dict(mail.headers or {}), idents)
        mail.last_error = redact_text(mail.last_error, idents)
        report.add("mails")
    entries = db.session.scalars(select(AuditEntry).where(or_(holds(AuditEntry.before, idents),
                                                              holds(AuditEntry.after, idents)))
                                 .order_by(AuditEntry.id)).all()
    for entry in entries:
        entry.before = redact_text(entry.before, idents)
        entry.after = redact_text(entry.after, idents)
        if entry.entry_hash is not None:
            report.redacted_audit[str(entry.id)] = entry_digest(entry)
        report.add("audit_entries")
    person.name_zh, person.name_en = REDACTED_NAME_ZH, REDACTED
    person.email = person.phone = person.id_number = person.job_title = ""
    person.birth_date = None
    person.erased_at = utcnow()
    report.add("people")


def _erase_files(idents: list[str], report: ErasureReport) -> None:
    """Remove the waiting import files that hold the person's data verbatim (they are copies
    made for a preview; the import itself is in the database)."""
    needles = {i.encode(enc) for i in idents for enc in ("utf-8", "utf-16-le", "gb18030")}
    for folder in SCANNED_UPLOADS:
        root = os.path.join(current_app.instance_path, folder)
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    data = _readable_bytes(path)
                except OSError:
                    continue
                if any(n in data for n in needles):
                    os.remove(path)
                    report.add("files")


def _readable_bytes(path: str) -> bytes:
    """A file's bytes; for an XLSX (a zip), its XML parts' bytes."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data.startswith(b"PK"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return b"".join(zf.read(n) for n in zf.namelist() if n.endswith(".xml"))
        except zipfile.BadZipFile:
            pass
    return data


def erase(email: str, reason: str, user=None, actor: str | None = None) -> ErasureReport:
    """Erase the personal data of the people with ``email`` (see the module's docstring), in
    one transaction with one chained ``privacy.erase`` audit entry per person."""
    if not (reason or "").strip():
        raise PrivacyError(_("Say why the data is erased (the request, the retention period …)."), field="reason")
    return erase_people(people_with_email(email), reason, user=user, actor=actor)


def erase_people(people: list[Person], reason: str, user=None, actor: str | None = None) -> ErasureReport:
    """:func:`erase` for given people (the retention job: people without an email too)."""
    reason = (reason or "").strip()
    if not reason:
        raise PrivacyError(_("Say why the data is erased (the request, the retention period …)."), field="reason")
    report = ErasureReport()
    files_of: list[list[str]] = []
    with transaction():
        for person in people:
            if person.erased_at is not None:
                continue
            idents = identifiers(person)
            files_of.append(idents)
            before = dict(report.counts)
            redacted_before = set(report.redacted_audit)
            # Every plugin's part, none skipped: an erasure that left one plugin's copy is no erasure.
            for _name, handler in handlers("privacy.erase"):
                handler(person=person, idents=idents, report=report)
            _erase_core(person, idents, report)
            db.session.flush()
            audit("privacy.erase", user=user, actor=actor, object_type="Person", object_id=person.id,
                  after={"reason": redact_text(reason, idents),
                         "counts": {k: v - before.get(k, 0) for k, v in report.counts.items()
                                    if v != before.get(k, 0)},
                         "redacted": {k: v for k, v in report.redacted_audit.items() if k not in redacted_before},
                         "kept": report.kept})
            report.people.append(person.id)
    for idents in files_of:
        _erase_files(idents, report)
    return report


def redactions() -> dict[int, str]:
    """Entry id → the digest its redacted contents must give, from every ``privacy.erase`` entry
    of the chain (the latest erasure of an entry wins)."""
    found: dict[int, str] = {}
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.erase",
                                                       AuditEntry.entry_hash.is_not(None)).order_by(AuditEntry.id))
    for entry in rows:
        for key, digest in ((entry.after or {}).get("redacted") or {}).items():
            if str(key).isdigit():
                found[int(key)] = digest
    return found
