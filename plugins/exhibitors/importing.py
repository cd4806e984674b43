"""Import of exhibitors from CSV/XLSX (`crm-expo import exhibitors FILE --show S` and the
upload page). crm_expo.contacts.importing reads the file and checks cells; here each batch is matched
to existing companies and inserted in one transaction. Re-importing a file adds nothing."""
from __future__ import annotations

import zlib

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, text

from crm_expo.contacts import duplicates, importing
from crm_expo.contacts.importing import Column, ImportReport, RowProblem, cli_importer, parse_email, parse_phone
from crm_expo.contacts.keys import fold_query, name_key, search_keys, sort_key
from crm_expo.contacts.search import index_organizations
from crm_expo.database import transaction
from crm_expo.extensions import db
from crm_expo.models import Organization, audit

from . import operations as ops
from .models import Exhibitor, ExhibitorCategory, ExhibitorCategoryLink


def _country(raw: str) -> str:
    value = raw.strip().upper()
    if len(value) != 2 or not value.isalpha():
        raise ValueError(_("The country must be a two-letter code such as CN, FR or US, not %(value)s.", value=raw))
    return value


COLUMNS = (
    Column("name_zh", importing.ORG_NAME_HEADERS),
    Column("name_en", importing.ORG_NAME_EN_HEADERS),
    Column("licence_no", importing.LICENCE_HEADERS, parse=ops.validate_licence_no),
    # A row without a country is a Chinese company: the report says how many took it.
    Column("country", importing.COUNTRY_HEADERS, default="CN", default_label=_l("China (CN)")),
    Column("region", importing.REGION_HEADERS),
    Column("email", importing.EMAIL_HEADERS, parse=parse_email),
    Column("phone", importing.PHONE_HEADERS, parse=parse_phone),
    Column("categories", ("产品类别", "展品类别", "展品范围", "产品", "categories", "category", "product categories")),
    Column("notes", importing.NOTES_HEADERS),
)


def _lock_names(keys: list[str]) -> None:
    """PostgreSQL: hold the same per-name locks as create_exhibitor (one round trip), so an
    import and a form or API creation of the same company cannot both create it."""
    if keys and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k ORDER BY k"),
                           {"keys": sorted({zlib.crc32(fold_query(k).encode()) for k in keys if k})})


def apply_rows(show, rows: list[tuple[int, dict]], dry_run: bool) -> ImportReport:
    """One batch, set-based: a few queries and bulk inserts whatever the batch size.
    A row is the same company as an existing one when the licence number or a folded name
    (zh or en) matches, as in crm_expo.contacts.duplicates.find_duplicate_organizations."""
    report = ImportReport()
    with transaction(dry_run=dry_run):
        categories = {c.code: c.id for c in db.session.scalars(
            select(ExhibitorCategory).where(ExhibitorCategory.show_id == show.id))}
        good: list[tuple[int, dict, list[int]]] = []
        for rownum, values in rows:
            if not (values.get("name_zh") or values.get("name_en")):
                report.problems.append(RowProblem(rownum, "", _("An exhibitor needs a company name.")))
                continue
            try:
                values["country"] = _country(values["country"]) if values.get("country") else ""
            except ValueError as exc:
                report.problems.append(RowProblem(rownum, "country", str(exc)))
                continue
            codes = [c.strip().lower() for c in (values.get("categories") or "").replace("，", ",").replace(";", ",")
                     .split(",") if c.strip()]
            unknown = [c for c in codes if c not in categories]
            if unknown:
                report.problems.append(RowProblem(rownum, "categories", _("Unknown product category: %(ids)s",
                                                                          ids=", ".join(unknown))))
                continue
            good.append((rownum, values, [categories[c] for c in dict.fromkeys(codes)]))
        report.rejected = len({p.row for p in report.problems})

        _lock_names([v.get("name_zh", "") for _r, v, _c in good] + [v.get("name_en", "") for _r, v, _c in good])
        # Existing companies, found for the whole batch at once (the core's duplicate rules).
        found = duplicates.existing_organizations([v for _r, v, _c in good])

        # New companies: one bulk insert (with their search and duplicate keys), then indexed.
        pending: dict[str, int] = {}        # name key / licence → position in new_orgs (same file twice)
        new_orgs: list[dict] = []
        placement: list[tuple[str, int]] = []
        for (_rownum, values, _cats), oid in zip(good, found, strict=True):
            if oid is not None:
                placement.append(("old", oid))
                continue
            marks = [m for m in (values.get("licence_no"), name_key(values.get("name_zh")),
                                 name_key(values.get("name_en"))) if m]
            pos = next((pending[m] for m in marks if m in pending), None)
            if pos is None:
                pos = len(new_orgs)
                zh, en = values.get("name_zh", ""), values.get("name_en", "")
                new_orgs.append({"name_zh": zh, "name_en": en, "licence_no": values.get("licence_no", ""),
                                 "email": values.get("email", ""), "phone": values.get("phone", ""),
                                 "country": values["country"] or "CN", "region": values.get("region", ""),
                                 "search_keys": search_keys(zh, en, values.get("email"), (values.get("phone") or "").lstrip("+"),
                                                            values.get("licence_no")),
                                 "sort_name": sort_key(zh or en), "name_key": name_key(zh), "name_en_key": name_key(en)})
            for m in marks:
                pending.setdefault(m, pos)
            placement.append(("new", pos))
        new_ids = []
        if new_orgs:
            new_ids = list(db.session.scalars(insert(Organization).returning(Organization.id, sort_by_parameter_order=True),
                                              new_orgs))
            index_organizations(new_ids)
        org_ids = [oid if kind == "old" else new_ids[oid] for kind, oid in placement]

        already = set()
        for chunk in range(0, len(org_ids), 500):
            already |= set(db.session.scalars(select(Exhibitor.organization_id).where(
                Exhibitor.show_id == show.id, Exhibitor.organization_id.in_(org_ids[chunk:chunk + 500]))))
        new_rows, new_categories = [], []
        for (_rownum, values, cats), oid in zip(good, org_ids, strict=False):
            if oid in already:
                report.unchanged += 1
                continue
            already.add(oid)
            new_rows.append({"show_id": show.id, "organization_id": oid, "status": "applied", "kind": "main",
                             "country": values["country"] or "CN", "region": values.get("region", ""),
                             "notes": values.get("notes", ""), "status_reason": ""})
            new_categories.append(cats)
        if new_rows:
            ids = list(db.session.scalars(insert(Exhibitor).returning(Exhibitor.id, sort_by_parameter_order=True),
                                          new_rows))
            links = [{"exhibitor_id": eid, "category_id": cid} for eid, cids in zip(ids, new_categories, strict=False) for cid in cids]
            if links:
                db.session.execute(insert(ExhibitorCategoryLink), links)
            audit("exhibitor.import", None, show_id=show.id, object_type="Show", object_id=show.id,
                  after={"created": len(ids), "organizations_created": len(new_ids), "first_id": ids[0],
                         "last_id": ids[-1]})
    report.imported = len(new_rows)
    return report


importer = cli_importer("exhibitors", COLUMNS, apply_rows)
