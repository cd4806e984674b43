"""Audited attendance (DOMAIN.md §8, docs/domain.md "The desk and attendance"): the figures an
auditor (ABC, UFI, FKM, CENTREX) would sign, counted in SQL from the scan records.

``figures(show)`` returns one plain dict — the page, the PDF, the JSON API and the XLSX all
render it, so they cannot disagree. The rules, each stated in words in ``rules``:

- a person is counted, not a badge: scans carry the registration (a replaced badge's codes
  all point to it; a merged duplicate's scans were moved to the surviving registration), and
  the counts are of distinct ``person_id``;
- visitors are trade, public and VIP; media and exhibitor staff are reported apart and never
  added (service providers and organizer staff hold no visitor registration, so no scan of
  theirs can be counted);
- an admission is a scan with result ``ok`` and direction ``in``; exits and refused scans
  never count;
- a day's unique visitors: distinct visitors admitted that show-local day; total attendance:
  the sum of the days' unique visitors (a repeat visit counts once per extra day, never twice
  in a day); entries: every admitted entry scan, re-entries included;
- registered but never admitted: visitor registrations (not cancelled) with no admission;
- the breakdowns (category, country/region — the person's —, province — the region of the
  person's company —, the show's one-choice questions such
  as industry, job function, purchasing role) are of unique visitors, with percentages of the
  unique visitors.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, Date, Integer, MetaData, Table, func, select, text

from crm_expo.extensions import db
from crm_expo.i18n import local_name
from crm_expo.models import Organization, Person
from plugins.visitors.models import CATEGORY_TITLES, COUNTED_CATEGORIES, Question, Registration

from .models import SCAN_RESULT_TITLES
from .operations import REASONS

NOT_COUNTED = ("media", "exhibitor_staff")

# Titles of the reasons a scan was refused (Scan.reason): the desk's own (operations.REASONS
# without its answers to an admitted scan), the visitors plugin's admission rules, and a
# refusal reported by an imported gate system.
REFUSAL_TITLES = {k: v for k, v in REASONS.items() if k not in ("admitted", "reentry", "exit")} | {
    "cancelled": _l("The registration was cancelled"),
    "not_a_show_day": _l("Not a show day"),
    "category_not_admitted": _l("Category not admitted that day"),
    "under_minimum_age": _l("Under the minimum age"),
    "trade_not_verified": _l("Trade visitor not verified"),
    "gate_refused": _l("Refused by the gate system (imported)"),
}

RULES = (
    ("person", _l("Each individual is counted once: scans are counted by person, not by badge. A replaced "
                  "badge and the badge of a merged duplicate registration belong to the same person.")),
    ("visitors", _l("Visitors are trade visitors, public visitors and VIP guests.")),
    ("not_counted", _l("Media, exhibitor staff, service providers and organizer staff are reported apart and "
                       "never added to the visitors. Service providers and organizer staff hold no visitor "
                       "registration, so none of their scans can be counted.")),
    ("admission", _l("An admission is a scan at a gate with the result admitted and the direction in. Exit "
                     "scans and refused scans never count as attendance.")),
    ("unique", _l("Unique visitors: the number of distinct visitors admitted at least once during the show.")),
    ("daily", _l("A day's unique visitors: the distinct visitors admitted on that show day (in the show's "
                 "time zone); a person entering several times a day counts once that day.")),
    ("total", _l("Total attendance: the sum of the days' unique visitors. A repeat visit counts once per "
                 "extra day, never twice in a day.")),
    ("entries", _l("Entries: every admitted entry scan, re-entries included; reported, never used as "
                   "attendance.")),
    ("never_admitted", _l("Registered but never admitted: visitor registrations, not cancelled, without any "
                          "admission.")),
    ("breakdowns", _l("Breakdowns by category, country or region, province, industry, job function and "
                      "purchasing role count unique visitors; percentages are of the unique visitors. "
                      "Industry, job function and purchasing role are the visitors' answers to the show's "
                      "one-choice registration questions.")),
    ("refused", _l("Refused scans are counted scan by scan, by reason; they are evidence of control at the "
                   "gates, not attendance.")),
    ("source", _l("Every figure is computed from the scan records (the desk's scans and gate-system exports "
                  "imported with their gate and time) and can be reproduced from them.")),
)


def _pct(n: int, of: int) -> float:
    return round(100.0 * n / of, 1) if of else 0.0


def _rows(pairs, total: int, title=lambda k: k) -> list[dict]:
    """[(key, count)] → items with key, title, count and percentage, largest first."""
    out = [{"key": k or "", "title": str(title(k)) if k else _("Not stated"), "count": int(n),
            "percent": _pct(int(n), total)} for k, n in pairs]
    return sorted(out, key=lambda r: (-r["count"], r["title"]))


def _country_title(code: str) -> str:
    territories = get_locale().territories if get_locale() is not None else {}
    return territories.get((code or "").upper(), code)


# Every admitted (registration, day) of the show with its entry count, built once per report
# by one pass over the scans: the other figures join these ~N-visitor rows instead of reading
# the million scans again (a temporary table: this connection's, dropped when done).
_VISITS = Table("crm_attendance_visits", MetaData(), Column("registration_id", Integer), Column("day", Date),
                Column("entries", Integer), prefixes=["TEMPORARY"])


@contextmanager
def _visits(show):
    conn = db.session.connection()
    where = "pg_temp" if conn.dialect.name == "postgresql" else "temp"
    drop = f"DROP TABLE IF EXISTS {where}.{_VISITS.name}"
    conn.exec_driver_sql(drop)
    _VISITS.create(conn)
    # SQLite reads the scans in table order (NOT INDEXED): through an index of the show it
    # would jump about the table (the (show, nonce) one, once gate imports gave scans nonces).
    scans = "onsite_scan NOT INDEXED" if conn.dialect.name == "sqlite" else "onsite_scan"
    conn.execute(text(
        f"INSERT INTO {_VISITS.name} (registration_id, day, entries) SELECT registration_id, day, count(*) "
        f"FROM {scans} WHERE show_id = :show AND result = 'ok' AND direction = 'in' "
        "AND registration_id IS NOT NULL GROUP BY registration_id, day"), {"show": show.id})
    try:
        yield _VISITS
    finally:
        conn.exec_driver_sql(drop)


def figures(show) -> dict[str, Any]:
    """Every attendance figure of a show as a plain dict (see the module's docstring)."""
    with _visits(show) as V:
        return _figures(show, V)


def _figures(show, V) -> dict[str, Any]:
    R = Registration
    # Per show day and registration category: entries and distinct people.
    day_rows = db.session.execute(
        select(V.c.day, R.category, func.sum(V.c.entries), func.count(func.distinct(R.person_id)))
        .select_from(V).join(R, R.id == V.c.registration_id)
        .group_by(V.c.day, R.category).order_by(V.c.day)).all()
    # Distinct people over the whole show, per category.
    cat_rows = dict(db.session.execute(
        select(R.category, func.count(func.distinct(R.person_id)))
        .select_from(V).join(R, R.id == V.c.registration_id).group_by(R.category)).all())
    by_category = {c: int(cat_rows.get(c, 0)) for c in COUNTED_CATEGORIES}
    not_counted = {c: int(cat_rows.get(c, 0)) for c in NOT_COUNTED}
    unique = sum(by_category.values())

    days: dict[dt.date, dict] = {}
    for day, category, entries, people in day_rows:
        d = days.setdefault(day, {"date": day, "unique": 0, "entries": 0, "trade": 0, "public": 0, "vip": 0,
                                  "not_counted": 0, "not_counted_entries": 0})
        if category in COUNTED_CATEGORIES:
            d["unique"] += people
            d["entries"] += int(entries)
            d[category] += people
        else:
            d["not_counted"] += people
            d["not_counted_entries"] += int(entries)
    by_day = [dict(d, day=d["date"]) for _day, d in sorted(days.items())]
    total_attendance = sum(d["unique"] for d in by_day)
    entries = sum(d["entries"] for d in by_day)

    seen = R.id.in_(select(V.c.registration_id))
    never = db.session.execute(
        select(R.category, func.count(func.distinct(R.person_id)))
        .where(R.show_id == show.id, R.cancelled_at.is_(None), R.category.in_(COUNTED_CATEGORIES), ~seen)
        .group_by(R.category)).all()
    never_by_category = {c: 0 for c in COUNTED_CATEGORIES} | {c: int(n) for c, n in never}

    visited = select(V.c.registration_id).distinct().subquery()

    def grouped(*cols):
        return db.session.execute(select(*cols, func.count(func.distinct(R.person_id)))
                                  .select_from(visited).join(R, R.id == visited.c.registration_id)
                                  .join(Person, Person.id == R.person_id)
                                  .outerjoin(Organization, Organization.id == Person.organization_id)
                                  .where(R.category.in_(COUNTED_CATEGORIES)).group_by(*cols)).all()

    countries = _rows(grouped(Person.country), unique, _country_title)
    provinces = _rows([((k or ""), n) for k, n in grouped(Organization.region)], unique)
    questions = []
    for q in db.session.scalars(select(Question).where(Question.show_id == show.id, Question.kind == "single")
                                .order_by(Question.position, Question.id)):
        labels = {str(c.get("value")): local_name(c.get("zh") or c.get("label_zh") or "",
                                                  c.get("en") or c.get("label_en") or "") or str(c.get("value"))
                  for c in (q.choices or [])}
        answer = R.answers[q.key].as_string()
        questions.append({"key": q.key, "title": local_name(q.label_zh, q.label_en),
                          "items": _rows(grouped(answer), unique, lambda v, labels=labels: labels.get(v, v))})

    refused_by_reason, refused_by_result, scans, exits = _scan_totals(show)

    return {
        "show": {"slug": show.slug, "name": local_name(show.name_zh, show.name_en)},
        "scans": scans, "exit_scans": exits, "has_scans": bool(scans),
        "unique_visitors": unique, "total_attendance": total_attendance, "entries": entries,
        "unique_by_category": by_category,
        "category_breakdown": _rows(list(by_category.items()), unique, lambda c: CATEGORY_TITLES[c]),
        "not_counted": not_counted,
        "registered_never_admitted": sum(never_by_category.values()),
        "registered_never_admitted_by_category": never_by_category,
        "by_day": by_day,
        "by_country": countries, "by_province": provinces, "by_question": questions,
        "refused": refused_by_reason, "refused_by_result": refused_by_result,
        "refused_total": sum(refused_by_reason.values()),
        "rules": [{"key": k, "text": str(t)} for k, t in RULES],
        # the names the desk pages and older callers read
        "unique_trade": by_category["trade"], "unique_public": by_category["public"],
        "unique_vip": by_category["vip"], "not_counted_people": sum(not_counted.values()), "days": by_day,
    }


def _scan_totals(show) -> tuple[dict, dict, int, int]:
    """(refused scans by reason, by result, all scans, exit scans): two passes over the show's
    scans. SQLite reads the table in order (NOT INDEXED; SQLAlchemy renders no table hints for
    SQLite): through the (show, day, gate) index it jumps about the table, four times slower at
    a million scans."""
    conn = db.session.connection()
    table = "onsite_scan NOT INDEXED" if conn.dialect.name == "sqlite" else "onsite_scan"
    scans, exits = conn.execute(text(
        f"SELECT count(*), count(CASE WHEN result = 'ok' AND direction = 'out' THEN 1 END) FROM {table} "
        "WHERE show_id = :show"), {"show": show.id}).one()
    by_reason: dict[str, int] = {}
    by_result: dict[str, int] = {}
    for result, reason, n in conn.execute(text(
            f"SELECT result, reason, count(*) FROM {table} WHERE show_id = :show AND result <> 'ok' "
            "GROUP BY result, reason"), {"show": show.id}).all():
        key = reason or result
        by_reason[key] = by_reason.get(key, 0) + int(n)
        by_result[result] = by_result.get(result, 0) + int(n)
    return by_reason, by_result, int(scans), int(exits)


def refusal_title(key: str) -> str:
    if key in REFUSAL_TITLES:
        return str(REFUSAL_TITLES[key])
    return str(SCAN_RESULT_TITLES.get(key, key))


def plain(value):
    """The figures as JSON can carry them: dates as ISO strings, the aliases left out."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k not in ("days", "day")}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def tables(f: dict) -> list[tuple[str, list[str], list[list]]]:
    """The report's tables as (title, header, rows), typed values: the PDF and the XLSX both
    lay these out."""
    from crm_expo.i18n import local_date
    pct = _("Share of visitors, percent")
    key_rows = [
        [_("Unique visitors"), f["unique_visitors"]],
        [_("Total attendance (sum of daily unique visitors)"), f["total_attendance"]],
        [_("Entries (admitted entry scans)"), f["entries"]],
        [_("Unique trade visitors"), f["unique_by_category"]["trade"]],
        [_("Unique public visitors"), f["unique_by_category"]["public"]],
        [_("Unique VIP guests"), f["unique_by_category"]["vip"]],
        [_("Registered but never admitted"), f["registered_never_admitted"]],
        [_("Media (not counted)"), f["not_counted"]["media"]],
        [_("Exhibitor staff (not counted)"), f["not_counted"]["exhibitor_staff"]],
        [_("Exit scans"), f["exit_scans"]],
        [_("Refused scans"), f["refused_total"]],
    ]
    out = [(_("Key figures"), [_("Figure"), _("Value")], key_rows),
           (_("Per day"), [_("Day"), _("Unique visitors"), _("Entries"), _("Trade"), _("Public"), _("VIP"),
                            _("Media and exhibitor staff (not counted)")],
            [[local_date(d["date"]), d["unique"], d["entries"], d["trade"], d["public"], d["vip"],
              d["not_counted"]] for d in f["by_day"]]),
           (_("By category"), [_("Category"), _("Unique visitors"), pct],
            [[r["title"], r["count"], r["percent"]] for r in f["category_breakdown"]]),
           (_("By country or region"), [_("Country or region"), _("Unique visitors"), pct],
            [[r["title"], r["count"], r["percent"]] for r in f["by_country"]]),
           (_("By province"), [_("Province"), _("Unique visitors"), pct],
            [[r["title"], r["count"], r["percent"]] for r in f["by_province"]])]
    for q in f["by_question"]:
        out.append((q["title"], [q["title"], _("Unique visitors"), pct],
                    [[r["title"], r["count"], r["percent"]] for r in q["items"]]))
    out.append((_("Refused scans by reason"), [_("Reason"), _("Scans")],
                [[refusal_title(k), n] for k, n in sorted(f["refused"].items(), key=lambda kv: -kv[1])]))
    out.append((_("Methods"), [_("Rule")], [[r["text"]] for r in f["rules"]]))
    return out


def xlsx(f: dict) -> bytes:
    """Every table as its own sheet: typed cells (numbers stay numbers), a bold frozen header,
    text formula-safe (crm_expo.exports.safe_cell; string cells are never evaluated)."""
    import io
    import re

    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    from crm_expo.exports import safe_cell
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    used: set[str] = set()
    for title, header, rows in tables(f):
        name = re.sub(r"[\[\]:*?/\\]", " ", str(title))[:28].strip() or "sheet"
        base, n = name, 2
        while name.lower() in used:
            name, n = f"{base[:25]} {n}", n + 1
        used.add(name.lower())
        ws = wb.create_sheet(title=name)
        for row_i, row in enumerate([header] + rows, start=1):
            for col_i, value in enumerate(row, start=1):
                value = safe_cell(value)
                cell = ws.cell(row=row_i, column=col_i)
                if isinstance(value, str):
                    cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
                    cell.data_type = "s"
                else:
                    cell.value = value
                if row_i == 1:
                    cell.font = bold
        ws.freeze_panes = "A2"
        ws.column_dimensions["A"].width = 48
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
