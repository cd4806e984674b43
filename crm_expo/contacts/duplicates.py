"""Finding the same customer twice, and find-or-create through it.

Every plugin creates people and companies through :func:`get_or_create_person` /
:func:`get_or_create_organization` (or the bulk forms, for imports and generators), so that
the same customer is stored once (DOMAIN.md §1). A duplicate is: the same email, the same
phone (E.164), or the same folded name at the same company; a company is the same by its
licence number or its folded Chinese or English name.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, or_, select

from ..database import chunks, executemany, new_ids, tune_for_bulk, utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import gettext_anywhere as _
from ..models import Organization, Person
from .keys import name_key, person_keys, search_keys, sort_key
from .normalise import normalize_email, normalize_phone, optional
from .search import index_organizations, insert_person_rows


class CustomerError(DomainError):
    """A contact or merge the core refuses, with a message naming the problem."""


# --- finding duplicates ------------------------------------------------------------------------
def _org_ids_by_name(name: str) -> list[int]:
    key = name_key(name)
    if not key:
        return []
    return list(db.session.scalars(select(Organization.id).where(
        or_(Organization.name_key == key, Organization.name_en_key == key))))


def find_duplicate_persons(*, email: str = "", phone: str = "", name: str = "", organization_name: str = "",
                           organization_id: int | None = None, exclude_id: int | None = None) -> list[Person]:
    """People that are the same customer: same email, same phone, or same name at the same
    company. Inputs are normalised here (invalid email/phone are simply not matched)."""
    conds = []
    try:
        if email:
            conds.append(Person.email == normalize_email(email))
    except ValueError:
        pass
    try:
        if phone:
            conds.append(Person.phone == normalize_phone(phone))
    except ValueError:
        pass
    key = name_key(name)
    if key:
        org_ids = [organization_id] if organization_id else _org_ids_by_name(organization_name)
        if org_ids:
            conds.append(and_(Person.name_key == key, Person.organization_id.in_(org_ids)))
    if not conds:
        return []
    stmt = select(Person).where(or_(*conds), Person.erased_at.is_(None)).order_by(Person.id)
    if exclude_id is not None:
        stmt = stmt.where(Person.id != exclude_id)
    return list(db.session.scalars(stmt))


def find_duplicate_organizations(name_zh: str = "", name_en: str = "", licence_no: str = "",
                                 exclude_id: int | None = None) -> list[Organization]:
    """Organizations that are the same company: same licence number or same folded name (zh or en)."""
    conds = []
    if (licence_no or "").strip():
        conds.append(Organization.licence_no == licence_no.strip().upper())
    for key in {name_key(name_zh), name_key(name_en)} - {""}:
        conds.append(or_(Organization.name_key == key, Organization.name_en_key == key))
    if not conds:
        return []
    stmt = select(Organization).where(or_(*conds)).order_by(Organization.id)
    if exclude_id is not None:
        stmt = stmt.where(Organization.id != exclude_id)
    return list(db.session.scalars(stmt))


def existing_organizations(records: list[dict]) -> list[int | None]:
    """Bulk form of :func:`find_duplicate_organizations` for imports: for each record
    (``name_zh``, ``name_en``, ``licence_no``, normalised) the id of the company it is —
    same licence number first, else the same folded name (zh or en), the oldest record
    winning — or None. One query per 500 records."""
    by_licence: dict[str, int] = {}
    by_name: dict[str, int] = {}
    for part in chunks(records, 500):
        licences = {r["licence_no"] for r in part if r.get("licence_no")}
        keys = {name_key(r.get(f)) for r in part for f in ("name_zh", "name_en")} - {""}
        conds = [Organization.name_key.in_(keys), Organization.name_en_key.in_(keys)]
        if licences:
            conds.append(Organization.licence_no.in_(licences))
        for oid, lic, nk, nek in db.session.execute(
                select(Organization.id, Organization.licence_no, Organization.name_key, Organization.name_en_key)
                .where(or_(*conds)).order_by(Organization.id.desc())):
            if lic:
                by_licence[lic] = oid
            for k in (nk, nek):
                if k:
                    by_name[k] = oid     # descending ids: the oldest record is written last and wins

    def existing(r: dict) -> int | None:
        if r.get("licence_no") and r["licence_no"] in by_licence:
            return by_licence[r["licence_no"]]
        for f in ("name_zh", "name_en"):
            k = name_key(r.get(f))
            if k and k in by_name:
                return by_name[k]
        return None
    return [existing(r) for r in records]


# --- creating ------------------------------------------------------------------------------
ORG_FIELDS = ("name_zh", "name_en", "country", "region", "city", "address", "website", "email", "phone",
              "licence_no", "notes")
PERSON_FIELDS = ("name_zh", "name_en", "email", "phone", "job_title", "country", "birth_date", "id_number")


def _clean_org(fields: dict) -> dict:
    out = {k: (fields.get(k) or "") for k in ORG_FIELDS if fields.get(k) not in (None, "")}
    out["name_zh"] = (fields.get("name_zh") or "").strip()
    out["name_en"] = (fields.get("name_en") or "").strip()
    if not (out["name_zh"] or out["name_en"]):
        raise CustomerError(_("A company needs a name."))
    if out.get("email"):
        out["email"] = normalize_email(out["email"])
    if out.get("phone"):
        out["phone"] = normalize_phone(out["phone"])
    if out.get("licence_no"):
        out["licence_no"] = out["licence_no"].strip().upper()
    return out


def get_or_create_organization(fields: dict) -> tuple[Organization, bool]:
    """The existing company (same licence number or name) or a new one; blanks of an existing
    one are filled from ``fields``, nothing is overwritten. Flushes, does not commit."""
    try:
        clean = _clean_org(fields)
    except DomainError as exc:   # a malformed email or phone
        raise CustomerError(exc.message, field=exc.field) from exc
    found = find_duplicate_organizations(clean["name_zh"], clean["name_en"], clean.get("licence_no", ""))
    if found:
        org = found[0]
        for k, v in clean.items():
            if v and not getattr(org, k):
                if k == "licence_no" and db.session.scalar(
                        select(Organization.id).where(Organization.licence_no == v)):
                    continue
                setattr(org, k, v)
        return org, False
    org = Organization(**clean)
    db.session.add(org)
    db.session.flush()
    return org, True


def _company_from(fields: dict) -> Organization | None:
    if fields.get("organization") is not None:
        return fields["organization"]
    if fields.get("organization_id"):
        return db.session.get(Organization, fields["organization_id"])
    zh = (fields.get("company_zh") or fields.get("company") or fields.get("organization_name") or "").strip()
    en = (fields.get("company_en") or "").strip()
    if not (zh or en):
        return None
    org, _created = get_or_create_organization({"name_zh": zh, "name_en": en})
    return org


def get_or_create_person(fields: dict) -> tuple[Person, bool]:
    """The existing person (same email, phone, or name at the same company) or a new one.

    ``fields``: Person columns plus the company as ``organization`` / ``organization_id`` /
    ``company`` (name; ``company_en`` for the English one). Email and phone are normalised
    (CustomerError on an invalid one). Blanks of an existing person are filled, nothing is
    overwritten. Flushes, does not commit (the caller's transaction)."""
    try:
        email = optional(normalize_email, fields.get("email"))
        phone = optional(normalize_phone, fields.get("phone"))
    except DomainError as exc:   # a malformed email or phone
        raise CustomerError(exc.message, field=exc.field) from exc
    clean = {k: fields[k] for k in PERSON_FIELDS if fields.get(k) not in (None, "")}
    clean["email"], clean["phone"] = email, phone
    clean["name_zh"] = (fields.get("name_zh") or "").strip()
    clean["name_en"] = (fields.get("name_en") or "").strip()
    if not (clean["name_zh"] or clean["name_en"]):
        raise CustomerError(_("A person needs a name."))
    company = _company_from(fields)
    _lock_person_identity(email, phone, name_key(clean["name_zh"] or clean["name_en"]), company.id if company else None)
    found = find_duplicate_persons(email=email, phone=phone, name=clean["name_zh"] or clean["name_en"],
                                   organization_id=company.id if company else None)
    if found:
        person = found[0]
        for k, v in clean.items():
            if v and not getattr(person, k):
                setattr(person, k, v)
        if company is not None and person.organization_id is None:
            person.organization = company
        return person, False
    person = Person(**clean, organization=company)
    db.session.add(person)
    db.session.flush()
    return person, True


# --- serialising find-or-create -------------------------------------------------------------------
# persons.email / phone are not unique (a family shares an email; a person may lack one), so
# the database cannot stop two transactions from creating the same person. On PostgreSQL a
# transaction-scoped advisory lock does: bulk find-or-create (imports, generators) takes it
# exclusively, a single find-or-create takes it shared plus one lock per identity (email,
# phone, name at company), so single registrations still run side by side. The locks are
# released at commit/rollback. SQLite serialises writers already (BEGIN IMMEDIATE).
CUSTOMERS_LOCK_KEY = 0x63726D5F70657273   # "crm_pers"


def _is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def lock_persons_exclusive() -> None:
    """Hold the person find-or-create lock for the rest of the transaction (PostgreSQL)."""
    if _is_postgresql():
        db.session.connection().exec_driver_sql(f"SELECT pg_advisory_xact_lock({CUSTOMERS_LOCK_KEY})")


def _lock_person_identity(email: str, phone: str, key: str, organization_id) -> None:
    if not _is_postgresql():
        return
    conn = db.session.connection()
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({CUSTOMERS_LOCK_KEY})")
    idents = {f"e:{email}" if email else "", f"p:{phone}" if phone else "",
              f"n:{key}:{organization_id}" if key and organization_id else ""}
    for ident in sorted(i for i in idents if i):    # one order everywhere: no deadlock
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", ("crm-expo-identity:" + ident,))


# --- bulk find-or-create -----------------------------------------------------------------------------
def _existing_by(column: str, values: Iterable[str]) -> dict[str, int]:
    """value → id of the oldest live person whose ``column`` equals it: ONE query for the whole
    batch (an array on PostgreSQL, a JSON array on SQLite), each value an index lookup."""
    wanted = sorted(set(values) - {"", None})
    if not wanted:
        return {}
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        sql = (f"SELECT {column}, min(id) FROM persons WHERE {column} = ANY(%s) AND erased_at IS NULL "
               f"GROUP BY {column}")
        return dict(conn.exec_driver_sql(sql, (wanted,)).all())
    sql = (f"SELECT p.{column}, min(p.id) FROM json_each(?) AS j CROSS JOIN persons AS p "
           f"WHERE p.{column} = j.value AND p.erased_at IS NULL GROUP BY p.{column}")
    return dict(conn.exec_driver_sql(sql, (json.dumps(wanted, ensure_ascii=False),)).all())


def _existing_by_name(pairs: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """(name_key, organization_id) → id of the oldest live person with that name at that company."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT p.name_key, p.organization_id, min(p.id) FROM unnest(%s::text[], %s::bigint[]) AS t(k, o) "
            "JOIN persons AS p ON p.name_key = t.k AND p.organization_id = t.o WHERE p.erased_at IS NULL "
            "GROUP BY p.name_key, p.organization_id", ([k for k, _o in wanted], [o for _k, o in wanted])).all()
    else:
        rows = conn.exec_driver_sql(
            "SELECT p.name_key, p.organization_id, min(p.id) FROM json_each(?) AS j CROSS JOIN persons AS p "
            "WHERE p.name_key = j.value ->> 0 AND p.organization_id = j.value ->> 1 AND p.erased_at IS NULL "
            "GROUP BY p.name_key, p.organization_id", (json.dumps(wanted, ensure_ascii=False),)).all()
    return {(k, o): pid for k, o, pid in rows}


def bulk_get_or_create_persons(records: list[dict]) -> list[tuple[int, bool]]:
    """Bulk form of get_or_create_person for imports and generators: for each record (already
    normalised: ``name_zh``, ``name_en``, ``email``, ``phone`` E.164, optional
    ``organization_id`` and other Person columns) the existing person's id or a new one,
    and whether it was created. Three lookup queries and one multi-row INSERT per call,
    however many records; records that are the same person within the list get the same id.
    Existing people are left as they are. Run inside a write transaction (it takes the
    find-or-create lock on PostgreSQL, see lock_persons_exclusive); does not commit."""
    lock_persons_exclusive()
    tune_for_bulk()
    all_keys = [r.get("keys") or person_keys(r.get("name_zh") or "", r.get("name_en") or "") for r in records]
    emails = [r.get("email") or "" for r in records]
    phones = [r.get("phone") or "" for r in records]
    orgs = [r.get("organization_id") for r in records]
    by_email, by_phone = _existing_by("email", emails), _existing_by("phone", phones)
    by_name = _existing_by_name((k[0], o) for k, o in zip(all_keys, orgs, strict=False) if k[0] and o)
    result: list[tuple[int, bool] | None] = [None] * len(records)
    new_rows: list[dict] = []
    new_keys: list[tuple] = []
    pending: dict[Any, int] = {}    # identity → index in new_rows (duplicates inside the list)
    slots: list[tuple[int, int]] = []
    for i, (r, k, email, phone, org_id) in enumerate(zip(records, all_keys, emails, phones, orgs, strict=False)):
        name = (k[0], org_id) if k[0] and org_id else None
        pid = (email and by_email.get(email)) or (phone and by_phone.get(phone)) or (name and by_name.get(name))
        if pid:
            result[i] = (pid, False)
            continue
        idents = [x for x in (("e", email), ("p", phone), ("n", name)) if x[1]]
        j = next((pending[x] for x in idents if x in pending), None)
        if j is None:
            j = len(new_rows)
            new_rows.append(r)
            new_keys.append(k)
            for x in idents:
                pending[x] = j
        slots.append((i, j))
    if new_rows:
        ids = insert_person_rows(new_rows, new_keys)
        first_seen: set[int] = set()
        for i, j in slots:
            result[i] = (ids[j], j not in first_seen)
            first_seen.add(j)
    return result   # type: ignore[return-value]




def bulk_organizations(names: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(name_zh, name_en) → organization id, creating the companies not found by name: one
    IN query per 900 names, one multi-row INSERT, then their search tokens. Run inside a
    write transaction (new ids are drawn before the insert)."""
    wanted: dict[tuple[str, str], str] = {}
    for zh, en in names:
        key = name_key(zh) or name_key(en)
        if key:
            wanted[(zh, en)] = key
    found: dict[str, int] = {}
    for chunk in chunks(sorted(set(wanted.values())), 900):
        for k, k_en, oid in db.session.execute(
                select(Organization.name_key, Organization.name_en_key, Organization.id)
                .where(or_(Organization.name_key.in_(chunk), Organization.name_en_key.in_(chunk)))
                .order_by(Organization.id.desc())):     # the oldest record wins
            for key in (k, k_en):
                if key:
                    found[key] = oid
    missing: dict[str, tuple[str, str]] = {}
    for (zh, en), key in wanted.items():
        if key not in found and key not in missing:
            missing[key] = (zh, en)
    if missing:
        now = utcnow()
        cols = ["id", "name_zh", "name_en", "name_key", "name_en_key", "search_keys", "sort_name", "country",
                "region", "city", "address", "website", "email", "phone", "licence_no", "notes", "created_at",
                "updated_at"]
        ids = new_ids(Organization.__table__, len(missing))
        executemany(Organization.__table__, cols,
                    [(oid, zh, en, name_key(zh), name_key(en), search_keys(zh, en), sort_key(zh or en), "CN",
                      "", "", "", "", "", "", "", "", now, now) for oid, (zh, en) in zip(ids, missing.values(), strict=False)])
        index_organizations(ids)
        found.update(zip(missing, ids, strict=False))
    return {pair: found[key] for pair, key in wanted.items()}
