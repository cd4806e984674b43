"""The one customer record: normalising contacts, finding duplicates, merging, searching.

Every plugin creates people and companies through :func:`get_or_create_person` /
:func:`get_or_create_organization` (or the bulk forms, for imports and generators), so that
the same customer is stored once (DOMAIN.md §1). A duplicate is: the same email, the same
phone (E.164), or the same folded name at the same company.

Search is a handful of index range scans ``value >= q AND value < next(q)`` (exact and
prefix matches in one go): over the indexed person columns name_key (the folded name),
sort_name (its full pinyin), email and phone, and over a small token table for what those
do not cover (initials, given name, English words); companies have their own token table
(every suffix of the Chinese name too), and a company match brings its people.
ORM changes keep keys and tokens in step through a session hook (models/contacts.py); code
that writes persons with bulk SQL uses :func:`insert_persons` or calls :func:`index_persons`.
"""
from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import operator
import re
import sqlite3
from typing import Any, Iterable

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Date, DateTime, and_, delete, exists, literal, or_, select, union_all, update

from . import signals
from .database import tune_for_bulk, utcnow, write_transaction
from .extensions import db
from .imports import gettext_anywhere as _
from .models import Organization, Person, audit
from .models.contacts import OrganizationSearchToken, PersonSearchToken
from .search import fold_query, name_key, organization_tokens, person_tokens, prefix_upper_bound, sort_key


class CustomerError(ValueError):
    """A contact or merge the core refuses, with a message naming the problem."""


# --- normalising ------------------------------------------------------------------------------
_PHONE_NOISE = re.compile(r"[\s\-().]")
_CN_MOBILE = re.compile(r"^(?:\+86|0086|86)?(1[3-9]\d{9})$")
_EMAIL_FAST = re.compile(r"^[a-z0-9_%+\-]+(?:\.[a-z0-9_%+\-]+)*@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+"
                         r"([a-z]{2,63})$")
_SPECIAL_TLDS = {"arpa", "invalid", "local", "localhost", "onion", "test"}


@functools.lru_cache(maxsize=None)
def _cn_mobile_block_valid(prefix: str) -> bool:
    """Whether phonenumbers accepts mobile numbers of this 4-digit block (138x, 199x …)."""
    return phonenumbers.is_valid_number(phonenumbers.parse("+86" + prefix + "1234567"))


def normalize_phone(raw: str, region: str = "CN") -> str:
    """A phone number in E.164 (+8613800138000); numbers without a country code are read in
    ``region``. Raises ValueError naming the number when it cannot be a real one.
    Chinese mobile numbers take a fast path (an import of 100,000 rows would otherwise spend
    most of its time in the phonenumbers parser)."""
    text = (raw or "").strip()
    if not text:
        raise ValueError(_("no phone number given"))
    compact = _PHONE_NOISE.sub("", text)
    m = _CN_MOBILE.match(compact)
    if m and (region == "CN" or compact.startswith(("+86", "0086"))) and _cn_mobile_block_valid(m.group(1)[:4]):
        return "+86" + m.group(1)
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValueError(_("not a phone number: %(phone)s", phone=raw))
    if not phonenumbers.is_valid_number(number):
        raise ValueError(_("not a valid phone number: %(phone)s", phone=raw))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    """A syntactically valid email address, lower case (no DNS lookup: venues are offline).
    Plain ASCII addresses are checked by a strict pattern; anything else by email-validator."""
    text = (raw or "").strip()
    if not text:
        raise ValueError(_("no email address given"))
    lower = text.lower()
    m = _EMAIL_FAST.match(lower)
    if m and len(lower) <= 254 and lower.index("@") <= 64 and m.group(1) not in _SPECIAL_TLDS:
        return lower
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(_("not a valid email address: %(email)s (%(why)s)", email=raw, why=str(exc)))


def _opt(fn, value):
    return fn(value) if (value or "").strip() else ""


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
    except ValueError as exc:
        raise CustomerError(str(exc))
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
        email = _opt(normalize_email, fields.get("email"))
        phone = _opt(normalize_phone, fields.get("phone"))
    except ValueError as exc:
        raise CustomerError(str(exc))
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


@functools.lru_cache(maxsize=65536)    # names repeat across a big import; pinyin is slow
def person_keys(name_zh: str, name_en: str) -> tuple[str, str, tuple[str, ...]]:
    """(name_key, sort_name, sorted search tokens) of a person's names. Importers compute
    them where the cells are checked (``Column(derive=…)``, on the other core) and pass them
    to bulk_get_or_create_persons / insert_persons as a record's ``keys``."""
    name = name_zh or name_en
    return name_key(name), sort_key(name), tuple(sorted(person_tokens(name_zh, name_en)))


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
    by_name = _existing_by_name((k[0], o) for k, o in zip(all_keys, orgs) if k[0] and o)
    result: list[tuple[int, bool] | None] = [None] * len(records)
    new_rows: list[dict] = []
    new_keys: list[tuple] = []
    pending: dict[Any, int] = {}    # identity → index in new_rows (duplicates inside the list)
    slots: list[tuple[int, int]] = []
    for i, (r, k, email, phone, org_id) in enumerate(zip(records, all_keys, emails, phones, orgs)):
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
        ids = _insert_person_rows(new_rows, new_keys)
        first_seen: set[int] = set()
        for i, j in slots:
            result[i] = (ids[j], j not in first_seen)
            first_seen.add(j)
    return result   # type: ignore[return-value]


_PERSON_DEFAULTS = {"name_zh": "", "name_en": "", "email": "", "phone": "", "organization_id": None,
                    "job_title": "", "country": "CN", "birth_date": None, "id_number": "", "search_keys": "",
                    "sort_name": "", "name_key": "", "erased_at": None}
_PERSON_COLUMNS = tuple(_PERSON_DEFAULTS) + ("created_at", "updated_at", "id")


def new_ids(table, n: int) -> list[int]:
    """n fresh primary keys of ``table``, so a bulk insert needs no RETURNING (slow for big
    batches on SQLite) and related rows can be built before the insert. PostgreSQL: from the
    table's sequence. SQLite: after the current maximum — safe because bulk inserts run in a
    write transaction (BEGIN IMMEDIATE holds the write lock)."""
    from sqlalchemy import func, text
    if n == 0:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        return list(db.session.scalars(text(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, :n)"),
            {"n": n}))
    start = (db.session.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(start, start + n))


_new_ids = new_ids


def insert_persons(rows: list[dict]) -> list[int]:
    """Multi-row INSERT of prepared person rows (keys: Person columns; missing or empty ones
    get their defaults, keys computed when blank or taken from ``keys``, see person_keys),
    returning their ids in order, and their search tokens. Use for generators and imports,
    inside a write transaction."""
    unknown = set().union(*rows) - set(_PERSON_DEFAULTS) - {"created_at", "updated_at", "keys"} if rows else set()
    if unknown:
        raise ValueError(f"insert_persons: not Person columns: {', '.join(sorted(unknown))}")
    return _insert_person_rows(rows)


def _insert_person_rows(rows: list[dict], keys: list[tuple] | None = None) -> list[int]:
    """insert_persons without the column check: ``rows`` may carry other keys (ignored);
    ``keys[i]``, when given, are rows[i]'s person_keys. Written for speed (it runs for every
    imported person in the process that holds the write lock): one tuple per row, no
    intermediate dicts."""
    now = driver_datetime(utcnow())
    ids = new_ids(Person.__table__, len(rows))
    full, tokens = [], []
    for i, (pid, r) in enumerate(zip(ids, rows)):
        get = r.get
        name_zh, name_en, email, phone = get("name_zh") or "", get("name_en") or "", get("email") or "", get("phone") or ""
        nk, sn, found = (keys[i] if keys else get("keys")) or person_keys(name_zh, name_en)
        nk, sn = get("name_key") or nk, get("sort_name") or sn
        full.append((name_zh, name_en, email, phone, get("organization_id"), get("job_title") or "",
                     get("country") or "CN", get("birth_date") or None, get("id_number") or "",
                     get("search_keys") or " ".join([nk, sn, *found, email, phone.lstrip("+")]).strip(),
                     sn, nk, get("erased_at"), get("created_at") or now, get("updated_at") or now, pid))
        tokens += zip(found, itertools.repeat(pid, len(found)))
    executemany(Person.__table__, list(_PERSON_COLUMNS), full)
    tokens.sort()     # in key order the (token, person_id) B-tree is filled page by page
    executemany(PersonSearchToken.__table__, ["token", "person_id"], tokens)
    return ids


def executemany(table, cols: list[str], rows: list[tuple], ready: Iterable[str] = ()) -> None:
    """INSERT many rows straight through the driver: SQLAlchemy's per-row parameter
    processing costs more than the database's own work at 100,000 rows. Values are bound
    parameters as always. ``ready``: date/time columns whose values are all given in the
    stored form already (:func:`driver_datetime`), which saves looking at them row by row."""
    if not rows:
        return
    conn = db.session.connection()
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        # COPY: one stream instead of a statement per row (10× faster at 100,000 rows).
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy(f'COPY {table.name} ({", ".join(cols)}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        return
    if conn.dialect.name == "sqlite":
        # dates as SQLAlchemy stores them in SQLite (the driver's own adapters differ)
        dates = [i for i, c in enumerate(cols) if isinstance(table.c[c].type, (Date, DateTime))
                 and c not in ready and any(isinstance(r[i], dt.date) for r in rows)]
        if dates:
            rows = [_sqlite_dates(r, dates) for r in rows]
        if _insert_from_json(conn, table, cols, rows):
            return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f'INSERT INTO {table.name} ({", ".join(cols)}) VALUES ({", ".join([mark] * len(cols))})'
    for chunk in _chunks(rows, 20000):
        conn.exec_driver_sql(sql, chunk)


_JSON_SCALARS = (str, int, float, bool, type(None))
_JSON_MIN_CONSTANT, _JSON_MAX_VARYING = 2, 6     # where the JSON path measured faster


def _insert_from_json(conn, table, cols: list[str], rows: list[tuple]) -> bool:
    """SQLite: ``INSERT … SELECT … FROM json_each(?)``, the rows as one JSON array per chunk.

    The driver's executemany binds every value of every row, converting each from Python;
    at 100,000 rows that costs more than the insert itself. Here a column with one value in
    every row (the show, the import's timestamp, a default) is bound once for the chunk and
    the varying ones travel as JSON that SQLite parses in C. Each ``->>`` parses its row's
    JSON again, so this pays only for narrow rows with several constant columns: replaying a
    100,000-row visitors import, registrations (6 varying, 7 constant columns) took 2.1–2.5 →
    1.3–1.8 s and consents 1.4–1.7 → 0.8–1.1 s, while persons (10 varying) got slower and
    stay on executemany. Still one bound parameter per value: nothing is spliced into the
    SQL. Returns False (nothing done) when the rows do not suit it, a value is not a plain
    JSON scalar of the same meaning (bytes, NaN…) or SQLite predates ``->>`` (3.38)."""
    def suits(same: list[int]) -> bool:
        return len(same) >= _JSON_MIN_CONSTANT and 0 < len(cols) - len(same) <= _JSON_MAX_VARYING

    if sqlite3.sqlite_version_info < (3, 38) or len(rows) < 2:
        return False
    first, middle, last = rows[0], rows[len(rows) // 2], rows[-1]
    # Three rows rule out most columns at once; the rest are checked over every row.
    maybe_same = [i for i, value in enumerate(first) if middle[i] == value and last[i] == value]
    if not suits(maybe_same):
        return False
    same = []
    for i in maybe_same:
        column = list(map(operator.itemgetter(i), rows))        # C loops: 100,000 rows in ~2 ms
        if column.count(first[i]) == len(column) and set(map(type, column)) == {type(first[i])}:
            same.append(i)
    if not suits(same) or any(type(first[i]) not in _JSON_SCALARS for i in same):
        return False
    varying = [i for i in range(len(cols)) if i not in same]
    pick = operator.itemgetter(*varying) if len(varying) > 1 else (lambda r: (r[varying[0]],))
    position = {i: n for n, i in enumerate(varying)}
    select = ", ".join(f"value ->> {position[i]}" if i in position else "?" for i in range(len(cols)))
    sql = f'INSERT INTO {table.name} ({", ".join(cols)}) SELECT {select} FROM json_each(?)'
    try:
        payloads = [json.dumps([pick(r) for r in chunk], ensure_ascii=False, allow_nan=False)
                    for chunk in _chunks(rows, 20000)]
    except (TypeError, ValueError):
        return False
    constants = tuple(first[i] for i in same)
    for payload in payloads:
        conn.exec_driver_sql(sql, (*constants, payload))
    return True


def driver_datetime(value: dt.datetime):
    """``value`` as :func:`executemany` stores it: the SQLite text form, else unchanged."""
    return _sqlite_date(value) if db.session.get_bind().dialect.name == "sqlite" else value


@functools.lru_cache(maxsize=1024)
def _sqlite_date(value):
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _sqlite_dates(row: tuple, positions: list[int]) -> tuple:
    row = list(row)
    for i in positions:
        if row[i] is not None:
            row[i] = _sqlite_date(row[i])
    return tuple(row)


def _chunks(seq, n):
    seq = list(seq)
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


# --- the token index -----------------------------------------------------------------------------
def _insert_person_tokens(people: Iterable[tuple]) -> None:  # (id, name_zh, name_en)
    executemany(PersonSearchToken.__table__, ["token", "person_id"],
                 [(t, pid) for pid, *f in people for t in person_tokens(*f)])


def index_persons(person_ids: Iterable[int]) -> None:
    """Recompute the search keys (name_key, sort_name, tokens) of these persons: call after
    inserting or updating persons with bulk SQL; ORM changes are indexed automatically."""
    from sqlalchemy import bindparam
    table = Person.__table__
    for chunk in _chunks(sorted(set(person_ids)), 900):
        rows = db.session.execute(select(Person.id, Person.name_zh, Person.name_en).where(Person.id.in_(chunk))).all()
        if not rows:
            continue
        db.session.execute(table.update().where(table.c.id == bindparam("pid"))
                           .values(name_key=bindparam("nk"), sort_name=bindparam("sn")),
                           [{"pid": r.id, "nk": name_key(r.name_zh or r.name_en), "sn": sort_key(r.name_zh or r.name_en)}
                            for r in rows])
        db.session.execute(delete(PersonSearchToken).where(PersonSearchToken.person_id.in_(chunk)))
        _insert_person_tokens(rows)


def index_organizations(org_ids: Iterable[int]) -> None:
    for chunk in _chunks(sorted(set(org_ids)), 900):
        db.session.execute(delete(OrganizationSearchToken).where(OrganizationSearchToken.organization_id.in_(chunk)))
        rows = sorted((t, o.id)
                      for o in db.session.execute(select(Organization.id, Organization.name_zh, Organization.name_en,
                                                         Organization.email, Organization.phone,
                                                         Organization.licence_no, Organization.website)
                                                  .where(Organization.id.in_(chunk)))
                      for t in organization_tokens(o.name_zh, o.name_en, o.email, o.phone, o.licence_no, o.website))
        executemany(OrganizationSearchToken.__table__, ["token", "organization_id"], rows)


# --- search ----------------------------------------------------------------------------------------
# Rows read per index scan: a short query ("z") matches tens of thousands of people and the
# page shows 20, so each scan stops early; ranking happens over these candidates.
CANDIDATES = 100


def _range_matches(id_col, value_col, q: str) -> tuple[list[int], list[int]]:
    """(ids whose value equals q, ids whose value starts with q): one index range scan."""
    rows = db.session.execute(select(id_col, value_col).where(value_col >= q, value_col < prefix_upper_bound(q))
                              .order_by(value_col).limit(CANDIDATES)).all()
    exact = [i for i, v in rows if v == q]
    return exact, [i for i, v in rows if v != q]


def _token_matches(token_col, id_col, q: str) -> tuple[list[int], list[int]]:
    exact, prefix = _range_matches(id_col, token_col, q)
    return list(dict.fromkeys(exact)), list(dict.fromkeys(prefix))


def _person_matches(q: str, phone: bool) -> tuple[list[int], list[int]]:
    """Exact and prefix matches over the token table and the indexed person columns."""
    if phone:
        # stored E.164; people type the national number (default region China) or +CC…
        sources = [(Person.phone, "+" + q), (Person.phone, "+86" + q)]
    else:
        sources = [(PersonSearchToken.token, q), (Person.name_key, q), (Person.sort_name, q), (Person.email, q)]
    # one statement (UNION ALL of bounded index scans): a search is one round trip
    parts = []
    for col, value in sources:
        id_col = PersonSearchToken.person_id if col is PersonSearchToken.token else Person.id
        scan = (select(id_col.label("id"), col.label("value")).where(col >= value, col < prefix_upper_bound(value))
                .order_by(col).limit(CANDIDATES).subquery())
        parts.append(select(scan.c.id, scan.c.value, literal(value).label("q")))
    rows = db.session.execute(union_all(*parts)).all()
    exact = [r.id for r in rows if r.value == r.q]
    prefix = [r.id for r in rows if r.value != r.q]
    return list(dict.fromkeys(exact)), list(dict.fromkeys(prefix))


_PHONE_QUERY = re.compile(r"^\+?[\d\s()\-]{5,}$")


def _query_words(q: str) -> tuple[list[str], bool]:
    """The folded query, then its words; and whether it is a phone number (digits only)."""
    text = (q or "").strip()
    if _PHONE_QUERY.match(text):
        digits = "".join(c for c in text if c.isdigit())
        if text.startswith("00"):
            digits = digits[2:]
        elif not text.startswith("+") and digits.startswith("0"):
            digits = digits[1:]               # 010 6552 9988: trunk prefix, not part of +86 10 …
        return [digits], True
    compact = fold_query(q)
    words = [fold_query(w) for w in text.split()]
    return [compact] + [w for w in words if w and w != compact], False


def _ranked(model, groups: list[list[int]], limit: int, extra=None) -> list[int]:
    """Ids ordered by group (exact, prefix, …), then by sort_name."""
    rank: dict[int, int] = {}
    for g, ids in enumerate(groups):
        for i in ids:
            rank.setdefault(i, g)
    if not rank:
        return []
    stmt = select(model.id, model.sort_name).where(model.id.in_(list(rank)))
    if extra is not None:
        stmt = stmt.where(extra)
    rows = db.session.execute(stmt).all()
    rows.sort(key=lambda r: (rank[r.id], r.sort_name, r.id))
    return [r.id for r in rows[:limit]]


def search_organizations(q: str, limit: int = 20) -> list[int]:
    """Ids of companies matching ``q`` by Chinese (simplified or traditional), pinyin,
    initials, English name, a part of the Chinese name, email, phone or licence number."""
    words, _phone = _query_words(q)
    if not words[0]:
        return []
    exact, prefix = _token_matches(OrganizationSearchToken.token, OrganizationSearchToken.organization_id, words[0])
    return _ranked(Organization, [exact, prefix], limit)


def organization_ids_matching(q: str):
    """A SELECT of the ids of companies whose search tokens start with the folded query
    (characters, pinyin, initials, English, email, phone): a prefix range on the token
    index, uncapped, for list filters whose totals must be exact (``search_organizations``
    ranks but returns at most ``limit``)."""
    folded = fold_query(q)
    return select(OrganizationSearchToken.organization_id).where(
        OrganizationSearchToken.token >= folded, OrganizationSearchToken.token < prefix_upper_bound(folded))


def _show_filter(show):
    """Persons linked to the show through any table that has both person_id and show_id
    (e.g. visitor registrations), found from the metadata so the core needs no plugin."""
    conds = []
    for table in db.metadata.sorted_tables:
        if "show_id" in table.c and "person_id" in table.c and any(
                fk.column.table.name == "persons" for fk in table.c.person_id.foreign_keys):
            conds.append(exists().where(table.c.person_id == Person.id, table.c.show_id == show.id))
    return or_(*conds) if conds else Person.id.is_(None)


def search_persons(q: str, limit: int = 20, show=None) -> list[int]:
    """Ids of people matching ``q`` by name (characters, traditional or simplified, full
    pinyin, initials, given name), English name, email, phone, or their company's name.
    Exact token matches first, then prefix matches, then people of matching companies; each
    group by sort_name. ``show`` keeps people linked to that show. Erased people never match."""
    words, phone = _query_words(q)
    if not words[0]:
        return []
    exact, prefix = _person_matches(words[0], phone)
    if len(words) > 2 and not exact and not prefix:
        # "张伟 华为": every word must match a token of the person or of the company.
        sets = []
        for w in words[1:]:
            e, p = _person_matches(w, False)
            ids = set(e) | set(p)
            org_ids = search_organizations(w, CANDIDATES)
            if org_ids:
                ids |= set(db.session.scalars(select(Person.id).where(Person.organization_id.in_(org_ids))
                                              .limit(CANDIDATES * 5)))
            sets.append(ids)
        exact = sorted(set.intersection(*sets)) if sets else []
    company: list[int] = []
    if len(exact) + len(prefix) < limit and not phone:
        org_ids = search_organizations(words[0], 10)
        if org_ids:
            company = list(db.session.scalars(select(Person.id).where(Person.organization_id.in_(org_ids))
                                              .order_by(Person.sort_name).limit(limit)))
    extra = Person.erased_at.is_(None)
    if show is not None:
        extra = and_(extra, _show_filter(show))
    return _ranked(Person, [exact, prefix, company], limit, extra)


# --- merging ---------------------------------------------------------------------------------------
_NOT_MOVED = {"person_search_tokens", "organization_search_tokens"}


def _unique_sets(table):
    """(columns, partial-index predicate or None) of every unique constraint/index and the PK."""
    from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint
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
    write_transaction()
    moved: dict[str, int] = {}
    dropped: list[dict] = []
    try:
        db.session.flush()
        _repoint(model.__table__, merged_id, survivor_id, moved, dropped)
        db.session.execute(delete(model).where(model.id == merged_id))
        db.session.expire_all()
        survivor = db.session.get(model, survivor_id)
        for f, v in fill.items():
            setattr(survivor, f, v)
        audit(action, survivor, user=user, before={"merged": before},
              after={"survivor_id": survivor_id, "filled": fill, "moved": moved, "dropped": dropped})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    signal.send(survivor, merged_id=merged_id, user=user)
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


# --- importing contacts -------------------------------------------------------------------------
from .imports import Column, ImportReport, RowProblem, parse_email, parse_phone  # noqa: E402  (after the functions they call)

_HAN_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# Header names people use for contact columns; plugins reuse these in their own importers.
NAME = Column("name", ("姓名", "name", "名字", "full name", "联系人", "contact"), required=True)
NAME_EN = Column("name_en", ("英文名", "english name", "name en", "英文姓名"))
EMAIL = Column("email", ("邮箱", "email", "电子邮件", "电子邮箱", "e-mail", "mail", "邮件"), parse=parse_email,
               unique=True)
PHONE = Column("phone", ("手机", "phone", "电话", "手机号", "手机号码", "mobile", "联系电话", "tel", "telephone",
                         "cell"), parse=parse_phone, unique=True)
COMPANY = Column("company", ("公司", "company", "单位", "公司名称", "工作单位", "organization", "organisation",
                             "企业", "company name"))
COMPANY_EN = Column("company_en", ("公司英文名", "company en", "english company name", "company (english)"))
JOB_TITLE = Column("job_title", ("职位", "job title", "title", "职务", "position"))


def _contact_keys(values: dict) -> tuple:
    return person_keys(*split_name(values.get("name", ""), values.get("name_en", "")))


PERSON_COLUMNS = (NAME, NAME_EN, EMAIL, PHONE, COMPANY, COMPANY_EN, JOB_TITLE,
                  Column("keys", derive=_contact_keys))


def split_name(name: str, name_en: str = "") -> tuple[str, str]:
    """(name_zh, name_en) from a single name column: Chinese characters make it the zh name."""
    name, name_en = (name or "").strip(), (name_en or "").strip()
    if _HAN_CHAR.search(name):
        return name, name_en
    return "", name_en or name


def bulk_organizations(names: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(name_zh, name_en) → organization id, creating the companies not found by name.
    One IN query per 900 names plus one insert batch; the new rows get their tokens."""
    wanted: dict[tuple[str, str], str] = {}
    for zh, en in names:
        key = name_key(zh) or name_key(en)
        if key:
            wanted[(zh, en)] = key
    found: dict[str, int] = {}
    keys = sorted(set(wanted.values()))
    for chunk in _chunks(keys, 900):
        for k, k_en, oid in db.session.execute(
                select(Organization.name_key, Organization.name_en_key, Organization.id)
                .where(or_(Organization.name_key.in_(chunk), Organization.name_en_key.in_(chunk)))
                .order_by(Organization.id.desc())):
            for key in (k, k_en):
                if key:
                    found[key] = oid
    missing = {}
    for (zh, en), key in wanted.items():
        if key not in found and key not in missing:
            missing[key] = Organization(name_zh=zh, name_en=en)
    if missing:
        db.session.add_all(missing.values())
        db.session.flush()     # the session hook gives them keys and tokens
        found.update({k: o.id for k, o in missing.items()})
    return {pair: found[key] for pair, key in wanted.items()}


def apply_person_rows(show, rows: list[tuple[int, dict]], dry_run: bool) -> ImportReport:
    """``apply_rows`` for a contact list (PERSON_COLUMNS): companies and people found or
    created in bulk, one transaction; a person already there counts as unchanged."""
    report = ImportReport()
    write_transaction()
    lock_persons_exclusive()     # companies and people: found or created once under parallel imports
    prepared: list[tuple[int, dict, tuple[str, str]]] = []
    for rownum, v in rows:
        zh, en = split_name(v.get("name", ""), v.get("name_en", ""))
        if len(zh) > 100 or len(en) > 100:
            report.problems.append(RowProblem(rownum, NAME.label, _("is longer than %(n)d characters", n=100)))
            continue
        prepared.append((rownum, {"name_zh": zh, "name_en": en, "email": v.get("email", ""),
                                  "phone": v.get("phone", ""), "job_title": v.get("job_title", "")[:100],
                                  "keys": v.get("keys")},
                         ((v.get("company") or "")[:200], (v.get("company_en") or "")[:200])))
    org_ids = bulk_organizations(c for _r, _f, c in prepared if c[0] or c[1])
    records = []
    for _rownum, fields, company in prepared:
        fields["organization_id"] = org_ids.get(company)
        records.append(fields)
    for (rownum, _f, _c), (_pid, created) in zip(prepared, bulk_get_or_create_persons(records)):
        if created:
            report.imported += 1
        else:
            report.unchanged += 1
    report.rejected = len({p.row for p in report.problems})
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return report
