"""Domain logic of the exhibitors plugin: plain functions, no request object.

Each public function is one transaction: it checks, writes, audits, commits, and only then
sends signals. Refusals raise :class:`ExhibitorError` with a message for the user."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import zlib
from collections.abc import Iterable

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, or_, select, text
from sqlalchemy.orm import contains_eager, selectinload

from crm_expo import signals
from crm_expo.contacts import duplicates, search
from crm_expo.contacts.duplicates import get_or_create_organization
from crm_expo.contacts.keys import fold_query
from crm_expo.database import transaction, utcnow
from crm_expo.errors import DomainError
from crm_expo.extensions import db
from crm_expo.listing import PER_PAGE, Order, Page, Position, seek_page, unindexed
from crm_expo.models import Organization, Person, Setting, Show, User, audit, get_setting

from .models import (
    DOCUMENT_KINDS,
    DOCUMENT_TITLES,
    KINDS,
    REVIEW_STATES,
    STATUS_TITLES,
    STATUSES,
    TRANSITIONS,
    Exhibitor,
    ExhibitorCategory,
    ExhibitorCategoryLink,
    ExhibitorDocument,
    ExhibitorStaff,
)

REQUIRED_DOCUMENTS_KEY = "exhibitors.required_documents"
DEFAULT_REQUIRED_DOCUMENTS = ["licence"]
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# Recognised by content (magic bytes), never by the file name's extension.
MAGIC = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


class ExhibitorError(DomainError):
    """A request the exhibitors plugin refuses, with a message naming the problem."""

    code = "invalid"


class DuplicateExhibitor(ExhibitorError):
    """The company is already an exhibitor of this show."""

    code, status = "conflict", 409


# --- licence number (统一社会信用代码, GB 32100-2015) --------------------------------------
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"   # no I, O, S, V, Z
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def validate_licence_no(raw: str) -> str:
    """The unified social credit code, upper case; '' stays ''. Raises ExhibitorError."""
    code = (raw or "").strip().upper().replace(" ", "")
    if not code:
        return ""
    if len(code) != 18:
        raise ExhibitorError(_("The business licence number %(no)s must have 18 characters, not %(n)d.",
                               no=code, n=len(code)))
    bad = sorted({c for c in code if c not in USCC_CHARS})
    if bad:
        raise ExhibitorError(_("The business licence number %(no)s contains characters that are not allowed: "
                               "%(chars)s.", no=code, chars=" ".join(bad)))
    if uscc_check_char(code[:17]) != code[17]:
        raise ExhibitorError(_("The business licence number %(no)s is not valid: its check digit is wrong.",
                               no=code))
    return code


# --- settings ---------------------------------------------------------------------------------
def required_documents(show: Show) -> list[str]:
    """Document kinds an exhibitor of this show must have accepted before approval."""
    value = get_setting(REQUIRED_DOCUMENTS_KEY, show)
    return [k for k in DOCUMENT_KINDS if k in (value or [])]


def set_required_documents(show: Show, kinds: Iterable[str], user=None) -> list[str]:
    kinds = list(dict.fromkeys(kinds))
    unknown = [k for k in kinds if k not in DOCUMENT_KINDS]
    if unknown:
        raise ExhibitorError(_("Unknown document kind: %(kinds)s", kinds=", ".join(unknown)))
    with transaction():
        before = required_documents(show)
        row = db.session.scalar(select(Setting).where(Setting.show_id == show.id,
                                                      Setting.key == REQUIRED_DOCUMENTS_KEY))
        if row is None:
            db.session.add(Setting(show_id=show.id, key=REQUIRED_DOCUMENTS_KEY, value=kinds))
        else:
            row.value = kinds
        audit("exhibitors.required_documents", show, user=user, show_id=show.id, object_type="Show",
              before={"required": before}, after={"required": kinds})
    return kinds


# --- categories -----------------------------------------------------------------------------
def categories_for_show(show: Show) -> list[ExhibitorCategory]:
    return list(db.session.scalars(select(ExhibitorCategory).where(ExhibitorCategory.show_id == show.id)
                                   .order_by(ExhibitorCategory.code)))


def add_category(show: Show, code: str, name_zh: str, name_en: str = "", user=None) -> ExhibitorCategory:
    code, name_zh, name_en = _clean(code).lower(), _clean(name_zh), _clean(name_en)
    if not code or len(code) > 40:
        raise ExhibitorError(_("A category needs a code of 1 to 40 characters."))
    if not (name_zh or name_en):
        raise ExhibitorError(_("A category needs a name."))
    taken = ExhibitorError(_("The category code %(code)s exists already in this show.", code=code), field="code")
    with transaction(constraint_errors={"uq_exhibitors_category_show_code": taken}):
        cat = ExhibitorCategory(show_id=show.id, code=code, name_zh=name_zh, name_en=name_en)
        db.session.add(cat)
        db.session.flush()
        audit("exhibitors.category.create", cat, user=user, show_id=show.id,
              after={"code": code, "name_zh": name_zh, "name_en": name_en})
    return cat


# --- exhibitors -------------------------------------------------------------------------------
def get_exhibitor(show: Show, exhibitor_id) -> Exhibitor | None:
    try:
        exhibitor_id = int(exhibitor_id)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(select(Exhibitor).where(Exhibitor.id == exhibitor_id, Exhibitor.show_id == show.id))


def exhibitor_for_organization(show: Show, organization_id) -> Exhibitor | None:
    return db.session.scalar(select(Exhibitor).where(Exhibitor.show_id == show.id,
                                                     Exhibitor.organization_id == organization_id))


def _clean(value) -> str:
    return (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()


def lock_company_name(*names: str) -> None:
    """PostgreSQL: serialise concurrent creations of the same company name until commit, so
    two simultaneous requests cannot both miss the other's new row (SQLite's BEGIN IMMEDIATE
    already serialises every writer)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted({fold_query(n) for n in names if n}):
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(key.encode())})


def _find_or_create_organization(fields: dict) -> Organization:
    """One Organization per company (DOMAIN.md §1), through the core's deduplication."""
    lock_company_name(fields.get("name_zh", ""), fields.get("name_en", ""))
    try:
        org, _created = get_or_create_organization(dict(fields))
    except DomainError as exc:   # a malformed email or phone, named by the core
        raise ExhibitorError(exc.message, field=exc.field) from exc
    return org
    conditions = []
    if fields.get("licence_no"):
        conditions.append(Organization.licence_no == fields["licence_no"])
    if fields.get("name_zh"):
        conditions.append(Organization.name_zh == fields["name_zh"])
    if fields.get("name_en"):
        conditions.append(func.lower(Organization.name_en) == fields["name_en"].lower())
    org = db.session.scalar(select(Organization).where(or_(*conditions)).order_by(Organization.id).limit(1))
    if org is None:
        org = Organization(**{k: v for k, v in fields.items() if v})
        org.refresh_keys()
        db.session.add(org)
        db.session.flush()
    return org


def _country(value: str) -> str:
    value = _clean(value).upper()
    if value and (len(value) != 2 or not value.isalpha()):
        raise ExhibitorError(_("The country must be a two-letter code such as CN, FR or US, not %(value)s.",
                               value=value))
    return value


def _account_manager(user_id) -> User | None:
    if user_id in (None, "", 0):
        return None
    manager = db.session.get(User, int(user_id))
    if manager is None or manager.role != "account_manager" or not manager.active:
        raise ExhibitorError(_("User %(id)s is not an active account manager.", id=user_id))
    return manager


def _main_exhibitor(show: Show, main_id, own_id=None) -> Exhibitor:
    main = get_exhibitor(show, main_id)
    if main is None:
        raise ExhibitorError(_("A co-exhibitor needs the main exhibitor whose stand it shares "
                               "(no exhibitor %(id)s in this show).", id=main_id))
    if main.kind != "main":
        raise ExhibitorError(_("%(name)s is itself a co-exhibitor; choose a main exhibitor.", name=main.name))
    if own_id is not None and main.id == own_id:
        raise ExhibitorError(_("An exhibitor cannot be its own main exhibitor."))
    return main


def create_exhibitor(show: Show, *, organization: Organization | None = None, name_zh: str = "", name_en: str = "",
                     user=None, country: str = "", region: str = "", licence_no: str = "", email: str = "",
                     phone: str = "", website: str = "", address: str = "", kind: str = "main",
                     main_exhibitor_id=None, account_manager_id=None, category_ids: Iterable[int] = (),
                     notes: str = "", status: str = "applied", new_organization: bool = False) -> Exhibitor:
    """Register an organization as an exhibitor of the show (status ``applied`` by default).
    Without ``organization`` the company is found by licence number / name or created;
    ``new_organization`` creates it even if look-alikes exist (the user confirmed it is a
    different company)."""
    name_zh, name_en = _clean(name_zh), _clean(name_en)
    if status not in ("applied", "under_review"):
        raise ExhibitorError(_("A new exhibitor starts as applied or under review."))
    if kind not in KINDS:
        raise ExhibitorError(_("Unknown exhibitor kind %(kind)s.", kind=kind))
    licence_no = validate_licence_no(licence_no)
    country = _country(country)
    if organization is None:
        if not (name_zh or name_en):
            raise ExhibitorError(_("An exhibitor needs a company name."))
        if len(name_zh) > 200 or len(name_en) > 200:
            raise ExhibitorError(_("A company name has at most 200 characters."))
    # Two requests registering the same company at once: the unique index decides.
    twice = DuplicateExhibitor(_("This company is already an exhibitor of this show."))
    with transaction(constraint_errors={"uq_exhibitors_exhibitor_show_org": twice}):
        manager = _account_manager(account_manager_id)
        main = _main_exhibitor(show, main_exhibitor_id) if kind == "co" else None
        if organization is None:
            fields = {"name_zh": name_zh, "name_en": name_en, "country": country or "CN", "region": _clean(region),
                      "licence_no": licence_no, "email": _clean(email), "phone": _clean(phone),
                      "website": _clean(website), "address": _clean(address)}
            if new_organization:
                organization = Organization(**fields)
                db.session.add(organization)
                db.session.flush()
            else:
                organization = _find_or_create_organization(fields)
        elif licence_no and not organization.licence_no:
            organization.licence_no = licence_no
            organization.refresh_keys()
        existing = exhibitor_for_organization(show, organization.id)
        if existing is not None:
            raise DuplicateExhibitor(_("%(name)s is already an exhibitor of this show (exhibitor %(id)d).",
                                   name=existing.organization.name_zh or existing.organization.name_en, id=existing.id))
        exhibitor = Exhibitor(show_id=show.id, organization_id=organization.id, status=status, kind=kind,
                              main_exhibitor_id=main.id if main else None,
                              account_manager_id=manager.id if manager else None,
                              country=country or organization.country or "CN",
                              region=_clean(region) or organization.region, notes=_clean(notes))
        db.session.add(exhibitor)
        db.session.flush()
        _set_categories(show, exhibitor, category_ids)
        audit("exhibitor.create", exhibitor, user=user, show_id=show.id,
              after={"organization_id": organization.id, "name": organization.name_zh or organization.name_en,
                     "status": status, "kind": kind})
    return exhibitor


def _set_categories(show: Show, exhibitor: Exhibitor, category_ids: Iterable) -> None:
    ids = {int(i) for i in category_ids or () if str(i).strip()}
    if ids:
        found = set(db.session.scalars(select(ExhibitorCategory.id).where(
            ExhibitorCategory.show_id == show.id, ExhibitorCategory.id.in_(ids))))
        if found != ids:
            raise ExhibitorError(_("Unknown product category: %(ids)s",
                                   ids=", ".join(str(i) for i in sorted(ids - found))))
    db.session.execute(delete(ExhibitorCategoryLink).where(ExhibitorCategoryLink.exhibitor_id == exhibitor.id))
    if ids:
        db.session.execute(insert(ExhibitorCategoryLink),
                           [{"exhibitor_id": exhibitor.id, "category_id": i} for i in sorted(ids)])
    db.session.expire(exhibitor, ["categories"])


ORG_FIELDS = ("name_zh", "name_en", "licence_no", "email", "phone", "website", "address")
EXHIBITOR_FIELDS = ("kind", "main_exhibitor_id", "account_manager_id", "country", "region", "notes")


def update_exhibitor(exhibitor: Exhibitor, fields: dict, user=None, *, portal: bool = False) -> Exhibitor:
    """Change the exhibitor record and its organization's profile. ``portal`` (the
    exhibitor's own users) may only change the profile, never workflow or sales fields."""
    show = db.session.get(Show, exhibitor.show_id)
    allowed = ORG_FIELDS + (("region", "country") if portal else EXHIBITOR_FIELDS + ("category_ids",))
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ExhibitorError(_("These fields cannot be changed here: %(fields)s", fields=", ".join(unknown)))
    with transaction(constraint_errors={"uq_organizations_licence_no": ExhibitorError(
            _("The change conflicts with another record."), field="licence_no")}):
        org = exhibitor.organization
        before = {f: getattr(org, f) for f in ORG_FIELDS} | {f: getattr(exhibitor, f) for f in EXHIBITOR_FIELDS}
        before["category_ids"] = [c.id for c in exhibitor.categories]
        for f in ORG_FIELDS:
            if f in fields:
                value = _clean(fields[f])
                if f == "licence_no":
                    value = validate_licence_no(value)
                if f in ("name_zh", "name_en") and len(value) > 200:
                    raise ExhibitorError(_("A company name has at most 200 characters."))
                setattr(org, f, value)
        if not (org.name_zh or org.name_en):
            raise ExhibitorError(_("An exhibitor needs a company name."))
        if "country" in fields:
            exhibitor.country = _country(fields["country"]) or "CN"
        if "region" in fields:
            exhibitor.region = _clean(fields["region"])
        if "notes" in fields:
            exhibitor.notes = _clean(fields["notes"])
        if "account_manager_id" in fields:
            manager = _account_manager(fields["account_manager_id"])
            exhibitor.account_manager_id = manager.id if manager else None
        if "kind" in fields or "main_exhibitor_id" in fields:
            kind = fields.get("kind", exhibitor.kind)
            if kind not in KINDS:
                raise ExhibitorError(_("Unknown exhibitor kind %(kind)s.", kind=kind))
            if kind == "co":
                main = _main_exhibitor(show, fields.get("main_exhibitor_id", exhibitor.main_exhibitor_id), exhibitor.id)
                has_co = db.session.scalar(select(func.count()).where(Exhibitor.main_exhibitor_id == exhibitor.id))
                if has_co:
                    raise ExhibitorError(_("%(name)s has co-exhibitors on its stand; it must stay a main exhibitor.",
                                           name=exhibitor.name))
                exhibitor.kind, exhibitor.main_exhibitor_id = "co", main.id
            else:
                exhibitor.kind, exhibitor.main_exhibitor_id = "main", None
        if "category_ids" in fields:
            _set_categories(show, exhibitor, fields["category_ids"])
        org.refresh_keys()
        after = {f: getattr(org, f) for f in ORG_FIELDS} | {f: getattr(exhibitor, f) for f in EXHIBITOR_FIELDS}
        after["category_ids"] = sorted(int(i) for i in fields.get("category_ids", before["category_ids"]))
        changed = {k for k in after if after[k] != before[k]}
        if changed:
            audit("exhibitor.update", exhibitor, user=user, show_id=exhibitor.show_id,
                  before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    return exhibitor


def missing_documents(exhibitor: Exhibitor) -> list[tuple[str, str]]:
    """[(kind, why)] for each required document that is missing, not reviewed or rejected."""
    show = db.session.get(Show, exhibitor.show_id)
    best: dict[str, str] = {}
    for doc in exhibitor.documents:
        # accepted beats pending beats rejected: one good copy is enough
        rank = {"accepted": 2, "pending": 1, "rejected": 0}
        if rank[doc.review] >= rank.get(best.get(doc.kind, ""), -1):
            best[doc.kind] = doc.review
    problems = []
    for kind in required_documents(show):
        state = best.get(kind)
        if state is None:
            problems.append((kind, "missing"))
        elif state != "accepted":
            problems.append((kind, "pending" if state == "pending" else "rejected"))
    return problems


def describe_missing(problems: list[tuple[str, str]]) -> str:
    parts = []
    for kind, why in problems:
        title = str(DOCUMENT_TITLES[kind])
        if why == "missing":
            parts.append(_("%(doc)s is missing", doc=title))
        elif why == "pending":
            parts.append(_("%(doc)s is not reviewed yet", doc=title))
        else:
            parts.append(_("%(doc)s was rejected", doc=title))
    return "; ".join(parts)


def change_status(exhibitor: Exhibitor, new: str, *, reason: str = "", user=None) -> Exhibitor:
    """Move the application: applied → under review → approved / rejected / withdrawn."""
    old = exhibitor.status
    reason = _clean(reason)
    if new not in STATUSES:
        raise ExhibitorError(_("Unknown status %(status)s.", status=new))
    if new not in TRANSITIONS[old]:
        raise ExhibitorError(_("An application cannot go from %(old)s to %(new)s.",
                               old=STATUS_TITLES[old], new=STATUS_TITLES[new]))
    if new in ("rejected", "withdrawn") and not reason:
        raise ExhibitorError(_("Give a reason to reject or withdraw an application."))
    with transaction():
        db.session.refresh(exhibitor)
        if exhibitor.status != old:   # someone else moved it meanwhile
            raise ExhibitorError(_("The application changed meanwhile; reload the page."))
        if new == "approved":
            problems = missing_documents(exhibitor)
            if problems:
                raise ExhibitorError(_("Cannot approve %(name)s: %(problems)s.", name=exhibitor.name,
                                       problems=describe_missing(problems)))
        exhibitor.status = new
        exhibitor.status_reason = reason
        if new in ("approved", "rejected"):
            exhibitor.reviewer_id = getattr(user, "id", None)
            exhibitor.decided_at = utcnow()
        audit("exhibitor.status", exhibitor, user=user, show_id=exhibitor.show_id,
              before={"status": old}, after={"status": new, "reason": reason})
        signals.send_after_commit(signals.exhibitor_status_changed, exhibitor, old=old, new=new, user=user)
        if new == "approved":
            signals.send_after_commit(signals.exhibitor_approved, exhibitor, user=user)
    return exhibitor


# --- stand staff ------------------------------------------------------------------------------
def add_staff(exhibitor: Exhibitor, *, name_zh: str = "", name_en: str = "", email: str = "", phone: str = "",
              role: str = "", person: Person | None = None, user=None) -> ExhibitorStaff:
    name_zh, name_en = _clean(name_zh), _clean(name_en)
    if person is None and not (name_zh or name_en):
        raise ExhibitorError(_("A staff member needs a name."))
    on_staff = ExhibitorError(_("This person is already on the stand staff."))
    with transaction(constraint_errors={"uq_exhibitors_staff": on_staff}):
        if person is None:
            fields = {"name_zh": name_zh, "name_en": name_en, "email": _clean(email), "phone": _clean(phone),
                      "organization_id": exhibitor.organization_id}
            try:
                person, _created = duplicates.get_or_create_person(fields)
            except DomainError as exc:   # a malformed email or phone
                raise ExhibitorError(exc.message, field=exc.field) from exc
        link = ExhibitorStaff(exhibitor_id=exhibitor.id, person_id=person.id, role=_clean(role))
        db.session.add(link)
        db.session.flush()
        audit("exhibitor.staff.add", exhibitor, user=user, show_id=exhibitor.show_id,
              after={"person_id": person.id, "role": link.role})
    return link


def remove_staff(exhibitor: Exhibitor, staff_id: int, user=None) -> None:
    with transaction():
        link = db.session.scalar(select(ExhibitorStaff).where(ExhibitorStaff.id == staff_id,
                                                              ExhibitorStaff.exhibitor_id == exhibitor.id))
        if link is None:
            raise ExhibitorError(_("No such staff member on this stand."))
        audit("exhibitor.staff.remove", exhibitor, user=user, show_id=exhibitor.show_id,
              before={"person_id": link.person_id, "role": link.role})
        db.session.delete(link)


# --- documents ----------------------------------------------------------------------------------
def document_folder() -> str:
    path = os.path.join(current_app.instance_path, "uploads", "exhibitors")
    os.makedirs(path, exist_ok=True)
    return path


def document_path(doc: ExhibitorDocument) -> str:
    return os.path.join(document_folder(), doc.stored_name)


def sniff_content_type(data: bytes) -> str | None:
    for magic, content_type in MAGIC:
        if data.startswith(magic):
            return content_type
    return None


def add_document(exhibitor: Exhibitor, kind: str, filename: str, data: bytes, user=None) -> ExhibitorDocument:
    """Store an uploaded document. The type comes from the bytes (PDF/PNG/JPEG), the file is
    saved under a random name outside any served folder, and it is only ever sent back as an
    attachment."""
    if kind not in DOCUMENT_KINDS:
        raise ExhibitorError(_("Unknown document kind %(kind)s.", kind=kind))
    filename = os.path.basename(_clean(filename).replace("\\", "/"))[:200] or "document"
    if not data:
        raise ExhibitorError(_("The file %(name)s is empty.", name=filename))
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ExhibitorError(_("The file %(name)s is too big: %(size)s MB; the limit is %(max)s MB.",
                               name=filename, size=f"{len(data) / 1048576:.1f}",
                               max=MAX_DOCUMENT_BYTES // 1048576))
    content_type = sniff_content_type(data)
    if content_type is None:
        raise ExhibitorError(_("The file %(name)s is not a PDF, PNG or JPEG document (checked by its content, "
                               "not its name).", name=filename))
    stored = secrets.token_hex(16)
    path = os.path.join(document_folder(), stored)
    with open(path, "xb") as fh:
        fh.write(data)
    try:
        with transaction():
            doc = ExhibitorDocument(exhibitor_id=exhibitor.id, kind=kind, filename=filename, stored_name=stored,
                                    content_type=content_type, size=len(data),
                                    sha256=hashlib.sha256(data).hexdigest(), uploaded_by_id=getattr(user, "id", None))
            db.session.add(doc)
            db.session.flush()
            audit("exhibitor.document.upload", exhibitor, user=user, show_id=exhibitor.show_id,
                  after={"document_id": doc.id, "kind": kind, "filename": filename, "size": len(data)})
    except BaseException:
        os.remove(path)   # nothing half-written: no file without its row
        raise
    return doc


def get_document(exhibitor: Exhibitor, document_id) -> ExhibitorDocument | None:
    try:
        document_id = int(document_id)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(select(ExhibitorDocument).where(ExhibitorDocument.id == document_id,
                                                             ExhibitorDocument.exhibitor_id == exhibitor.id))


def review_document(doc: ExhibitorDocument, decision: str, *, note: str = "", user=None) -> ExhibitorDocument:
    if decision not in REVIEW_STATES or decision == "pending":
        raise ExhibitorError(_("A review decision is accepted or rejected."))
    note = _clean(note)
    if decision == "rejected" and not note:
        raise ExhibitorError(_("Say why the document is rejected."))
    with transaction():
        before = {"review": doc.review, "note": doc.review_note}
        doc.review, doc.review_note = decision, note
        doc.reviewer_id, doc.reviewed_at = getattr(user, "id", None), utcnow()
        exhibitor = doc.exhibitor
        audit("exhibitor.document.review", exhibitor, user=user, show_id=exhibitor.show_id,
              before=before | {"document_id": doc.id}, after={"review": decision, "note": note, "document_id": doc.id})
    return doc


# --- lists and search ---------------------------------------------------------------------------
# Every order ends with the organization id: one exhibitor per organization and show, so rows
# that tie on the visible key (two companies of one name) still have one fixed place; the
# organizations sort_name index holds (sort_name, id) in that order.
ORDERS = {
    "name": Order((Organization.sort_name, Organization.id), (str, int)),
    "-name": Order((Organization.sort_name, Organization.id), (str, int), descending=True),
    "applied": Order((Exhibitor.applied_at, Exhibitor.id), (dt.datetime, int)),
    "-applied": Order((Exhibitor.applied_at, Exhibitor.id), (dt.datetime, int), descending=True),
    "status": Order((Exhibitor.status, Organization.sort_name, Organization.id), (str, str, int), grouped=True),
    "country": Order((Exhibitor.country, Organization.sort_name, Organization.id), (str, str, int), grouped=True),
}
SORTS = {key: tuple(order.clauses()) for key, order in ORDERS.items()}


def _exhibitor_filters(show: Show, *, q: str = "", status: str = "", category_id=None, country: str = "",
                       account_manager_id=None, organization_id=None, walk_names: bool = False) -> list:
    """WHERE conditions on exhibitor columns only (so that counting needs no company join)."""
    # walk_names: SQLite plans without statistics; hide the show's indexes so that the
    # organizations sort_name index drives the join (unindexed is a no-op on PostgreSQL).
    conds = [(unindexed(Exhibitor.show_id) if walk_names else Exhibitor.show_id) == show.id]
    if organization_id is not None:
        conds.append(Exhibitor.organization_id == organization_id)
    if q and q.strip():
        conds.append(Exhibitor.organization_id.in_(search.organization_ids_matching(q)))
    if status:
        conds.append(Exhibitor.status == status)
    if country:
        conds.append(Exhibitor.country == country.upper())
    if account_manager_id:
        conds.append(Exhibitor.account_manager_id == int(account_manager_id))
    if category_id:
        conds.append(Exhibitor.id.in_(select(ExhibitorCategoryLink.exhibitor_id).where(
            ExhibitorCategoryLink.category_id == int(category_id))))
    return conds


def exhibitor_query(show: Show, *, sort: str = "name", walk_names: bool = False, **filters):
    """SELECT of the show's exhibitors with filters, ordered; the caller paginates (the list
    page by keyset: exhibitor_page). ``walk_names``: plan for a large set sorted by name —
    read companies in name order and keep this show's exhibitors, instead of sorting them all."""
    # The list shows company, categories and manager of every row: load them with the page,
    # not one query per row.
    stmt = (select(Exhibitor).join(Organization, Organization.id == Exhibitor.organization_id)
            .options(contains_eager(Exhibitor.organization), selectinload(Exhibitor.categories),
                     selectinload(Exhibitor.account_manager))
            .where(*_exhibitor_filters(show, walk_names=walk_names, **filters)))
    if walk_names:
        stmt = stmt.where(Organization.sort_name >= "")   # always true: lets the planner seek the index
    return stmt.order_by(*SORTS.get(sort, SORTS["name"]))


def exhibitor_count(show: Show, **filters) -> int:
    """How many exhibitors the filters select (exhibitor rows only: no company join)."""
    filters.pop("sort", None)
    return db.session.scalar(select(func.count()).select_from(Exhibitor).where(*_exhibitor_filters(show, **filters)))


def exhibitor_page(show: Show, position: Position, *, per_page: int = PER_PAGE, **filters) -> Page:
    """One page of the show's exhibitor list with its exact total, fast at any depth
    (keyset pagination: crm_expo.listing)."""
    sort = filters.get("sort") if filters.get("sort") in ORDERS else "name"
    filters["sort"] = sort
    total = exhibitor_count(show, **dict(filters))
    if total == 0:
        return Page(rows=[], total=0)
    # A small set (total² ≤ per_page × show size, where both plans cost the same) is filtered
    # first and sorted; a large one sorted by name is read in company-name order, stopping
    # after a page; otherwise the order's own index serves.
    show_size = total if not any(v for k, v in filters.items() if k != "sort") else \
        db.session.scalar(select(func.count()).where(Exhibitor.show_id == show.id))
    small = total * total <= per_page * show_size
    walk = sort in ("name", "-name") and not small
    stmt = exhibitor_query(show, walk_names=walk, **filters).order_by(None)
    page = seek_page(stmt, ORDERS[sort], position, per_page=per_page, small=small)
    page.total = total
    return page


def status_counts(show: Show) -> dict[str, int]:
    rows = db.session.execute(select(Exhibitor.status, func.count()).where(Exhibitor.show_id == show.id)
                              .group_by(Exhibitor.status)).all()
    return {s: 0 for s in STATUSES} | dict(rows)


def account_managers() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role == "account_manager", User.active.is_(True))
                                   .order_by(User.name, User.email)))


# --- remember the customer -----------------------------------------------------------------------
def on_collect_customer_history(organization, entries: list, **_kw) -> None:
    """Our part of the organization page: every edition applied for, and its outcome."""
    from flask import url_for
    rows = db.session.execute(select(Exhibitor, Show).join(Show, Show.id == Exhibitor.show_id)
                              .where(Exhibitor.organization_id == organization.id)).all()
    for exhibitor, show in rows:
        value = str(STATUS_TITLES[exhibitor.status])
        if exhibitor.status_reason:
            value += f" — {exhibitor.status_reason}"
        entries.append({"show": show, "kind": "exhibitors.edition", "label": _("Exhibitor application"),
                        "value": value, "url": url_for("exhibitors.detail", slug=show.slug, exhibitor_id=exhibitor.id)})

