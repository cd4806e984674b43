"""Search: the token index of people and companies, and the queries over it.

Search is a handful of index range scans ``value >= q AND value < next(q)`` (exact and
prefix matches in one go): over the indexed person columns name_key (the folded name),
sort_name (its full pinyin), email and phone, and over a small token table for what those
do not cover (initials, given name, English words); companies have their own token table
(every suffix of the Chinese name too), and a company match brings its people.
ORM changes keep keys and tokens in step through a session hook (models/contacts.py); code
that writes persons with bulk SQL uses :func:`insert_persons` or calls :func:`index_persons`.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from sqlalchemy import and_, delete, exists, literal, or_, select, union_all

from ..database import chunks, driver_datetime, executemany, new_ids, utcnow
from ..extensions import db
from ..models import Organization, Person
from ..models.contacts import OrganizationSearchToken, PersonSearchToken
from .keys import (
    fold_query,
    name_key,
    organization_tokens,
    person_keys,
    person_tokens,
    prefix_upper_bound,
    sort_key,
)

_PERSON_DEFAULTS = {"name_zh": "", "name_en": "", "email": "", "phone": "", "organization_id": None,
                    "job_title": "", "country": "CN", "birth_date": None, "id_number": "", "search_keys": "",
                    "sort_name": "", "name_key": "", "erased_at": None}
_PERSON_COLUMNS = tuple(_PERSON_DEFAULTS) + ("created_at", "updated_at", "id")


def insert_persons(rows: list[dict]) -> list[int]:
    """Multi-row INSERT of prepared person rows (keys: Person columns; missing or empty ones
    get their defaults, keys computed when blank or taken from ``keys``, see person_keys),
    returning their ids in order, and their search tokens. Use for generators and imports,
    inside a write transaction."""
    unknown = set().union(*rows) - set(_PERSON_DEFAULTS) - {"created_at", "updated_at", "keys"} if rows else set()
    if unknown:
        raise ValueError(f"insert_persons: not Person columns: {', '.join(sorted(unknown))}")
    return insert_person_rows(rows)


def insert_person_rows(rows: list[dict], keys: list[tuple] | None = None) -> list[int]:
    """insert_persons without the column check: ``rows`` may carry other keys (ignored);
    ``keys[i]``, when given, are rows[i]'s person_keys. Written for speed (it runs for every
    imported person in the process that holds the write lock): one tuple per row, no
    intermediate dicts."""
    now = driver_datetime(utcnow())
    ids = new_ids(Person.__table__, len(rows))
    full, tokens = [], []
    for i, (pid, r) in enumerate(zip(ids, rows, strict=False)):
        get = r.get
        name_zh, name_en, email, phone = get("name_zh") or "", get("name_en") or "", get("email") or "", get("phone") or ""
        nk, sn, found = (keys[i] if keys else get("keys")) or person_keys(name_zh, name_en)
        nk, sn = get("name_key") or nk, get("sort_name") or sn
        full.append((name_zh, name_en, email, phone, get("organization_id"), get("job_title") or "",
                     get("country") or "CN", get("birth_date") or None, get("id_number") or "",
                     get("search_keys") or " ".join([nk, sn, *found, email, phone.lstrip("+")]).strip(),
                     sn, nk, get("erased_at"), get("created_at") or now, get("updated_at") or now, pid))
        tokens += zip(found, itertools.repeat(pid, len(found)), strict=False)
    executemany(Person.__table__, list(_PERSON_COLUMNS), full)
    tokens.sort()     # in key order the (token, person_id) B-tree is filled page by page
    executemany(PersonSearchToken.__table__, ["token", "person_id"], tokens)
    return ids


# --- the token index -----------------------------------------------------------------------------
def _insert_person_tokens(people: Iterable[tuple]) -> None:  # (id, name_zh, name_en)
    executemany(PersonSearchToken.__table__, ["token", "person_id"],
                 [(t, pid) for pid, *f in people for t in person_tokens(*f)])


def index_persons(person_ids: Iterable[int]) -> None:
    """Recompute the search keys (name_key, sort_name, tokens) of these persons: call after
    inserting or updating persons with bulk SQL; ORM changes are indexed automatically."""
    from sqlalchemy import bindparam
    table = Person.__table__
    for chunk in chunks(sorted(set(person_ids)), 900):
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
    for chunk in chunks(sorted(set(org_ids)), 900):
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


