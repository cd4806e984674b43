"""A customer's history across the editions of a series: what it took part in, with what
booth (m²), spend, punctuality and attitude.

Two sources, one meaning:

- **history from before crm-expo**, imported (``crm-expo import history FILE --series SLUG``
  or the upload page) into ``loyalty_participation``;
- **what crm-expo recorded itself**: an *approved* exhibitor record of an edition is a
  participation; the booths plugin (when loaded) adds through the page hook
  ``customer.participation`` the m² of its bookings (cancelled, released and expired ones
  left out), the amount paid and whether it was paid on time (by the balance due date).

:func:`participation` is the SELECT of both (a UNION ALL grouped by organization and edition,
never a copy): when both sources know an edition, the larger m² and amount are taken (not
the sum: the same booth would count twice), paid on time is "no" if either says late, and
the attitude is the imported one (crm-expo records none yet).
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import Integer, and_, case, cast, func, literal, null, or_, select, tuple_, union_all
from sqlalchemy.orm import aliased

from crm_expo import hooks
from crm_expo.contacts.duplicates import bulk_organizations
from crm_expo.contacts.importing import (
    COMPANY_HEADERS,
    Column,
    ImportReport,
    RowProblem,
    yes_no,
)
from crm_expo.contacts.keys import name_key
from crm_expo.database import chunks, executemany, new_ids, transaction, utcnow
from crm_expo.errors import DomainError
from crm_expo.extensions import db
from crm_expo.i18n import gettext_anywhere as _
from crm_expo.models import Organization, Show, ShowDay, ShowSeries, audit
from crm_expo.operations import SLUG, create_show
from plugins.exhibitors.models import Exhibitor

from ..models import Participation


class HistoryError(DomainError):
    """A history import the plugin refuses (no such series …)."""


# --- the participation SELECT -------------------------------------------------------------------
def _as_int(expr):
    """A yes/no column as 1/0/NULL, so that both sources union on every database."""
    return case((expr.is_(None), null()), (expr, 1), else_=0)


def recorded(show_ids=None, organization_id: int | None = None):
    """SELECT of what crm-expo recorded: one row per approved exhibitor record (organization,
    edition, m², amount paid, paid on time 1/0/NULL, main exhibitor's organization)."""
    main = aliased(Exhibitor)
    pieces = hooks.values("customer.participation", show_ids=show_ids)
    ex = select(Exhibitor.id.label("exhibitor_id"), Exhibitor.organization_id, Exhibitor.show_id,
                main.organization_id.label("co_exhibitor_of_id")) \
        .outerjoin(main, main.id == Exhibitor.main_exhibitor_id).where(Exhibitor.status == "approved")
    if show_ids is not None:
        ex = ex.where(Exhibitor.show_id.in_(show_ids))
    if organization_id is not None:
        ex = ex.where(Exhibitor.organization_id == organization_id)
    ex = ex.subquery("ex")
    if not pieces:
        return select(ex.c.organization_id, ex.c.show_id, cast(literal(0), Integer).label("booth_m2"),
                      cast(literal(0), Integer).label("amount_paid_minor"), cast(null(), Integer).label("paid_on_time"),
                      ex.c.co_exhibitor_of_id)
    parts = union_all(*pieces).subquery("parts")
    agg = select(parts.c.exhibitor_id, func.sum(parts.c.booth_m2).label("booth_m2"),
                 func.sum(parts.c.amount_paid_minor).label("amount_paid_minor"),
                 func.min(parts.c.paid_on_time).label("paid_on_time")).group_by(parts.c.exhibitor_id).subquery("agg")
    return select(ex.c.organization_id, ex.c.show_id, func.coalesce(agg.c.booth_m2, 0).label("booth_m2"),
                  func.coalesce(agg.c.amount_paid_minor, 0).label("amount_paid_minor"),
                  agg.c.paid_on_time, ex.c.co_exhibitor_of_id) \
        .outerjoin(agg, agg.c.exhibitor_id == ex.c.exhibitor_id)


def participation(show_ids=None, organization_id: int | None = None):
    """SELECT (organization_id, show_id, booth_m2, amount_paid_minor, paid_on_time 1/0/NULL,
    co_exhibitor_of_id, satisfaction, would_recommend, sources) — one row per organization
    and edition, of the editions ``show_ids`` (a list or a SELECT of ids; None: all)."""
    p = Participation
    imported = select(p.organization_id, p.show_id, p.booth_m2, p.amount_paid_minor,
                      _as_int(p.paid_on_time).label("paid_on_time"), p.co_exhibitor_of_id,
                      p.satisfaction, p.would_recommend, literal("import").label("source"))
    if show_ids is not None:
        imported = imported.where(p.show_id.in_(show_ids))
    if organization_id is not None:
        imported = imported.where(p.organization_id == organization_id)
    rec = recorded(show_ids, organization_id).subquery("rec")
    own = select(rec.c.organization_id, rec.c.show_id, rec.c.booth_m2, rec.c.amount_paid_minor,
                 rec.c.paid_on_time, rec.c.co_exhibitor_of_id, cast(null(), Integer).label("satisfaction"),
                 cast(null(), Integer).label("would_recommend"), literal("crm-expo").label("source"))
    both = union_all(imported, own).subquery("both_sources")
    c = both.c
    return select(c.organization_id, c.show_id, func.max(c.booth_m2).label("booth_m2"),
                  func.max(c.amount_paid_minor).label("amount_paid_minor"),
                  func.min(c.paid_on_time).label("paid_on_time"),
                  func.max(c.co_exhibitor_of_id).label("co_exhibitor_of_id"),
                  func.max(c.satisfaction).label("satisfaction"),
                  func.max(c.would_recommend).label("would_recommend"),
                  func.count().label("sources")) \
        .group_by(c.organization_id, c.show_id)


def _first_days():
    return select(ShowDay.show_id, func.min(ShowDay.date).label("first")).group_by(ShowDay.show_id).subquery("firsts")


def editions_of(organization_id: int, series_id: int | None = None) -> list[dict]:
    """The organization's editions (every series, or one), oldest first: the show, its first
    day, m², amount paid (minor units, the show's currency), paid on time, attitude."""
    shows = select(Show.id)
    if series_id is not None:
        shows = shows.where(Show.series_id == series_id)
    part = participation(shows, organization_id).subquery("p")
    first = _first_days()
    rows = db.session.execute(
        select(part, Show, first.c.first).join(Show, Show.id == part.c.show_id)
        .outerjoin(first, first.c.show_id == Show.id).order_by(first.c.first, Show.id)).all()
    out = []
    for row in rows:
        m = row._mapping
        out.append({"show": m[Show], "first_day": m["first"], "booth_m2": float(m["booth_m2"] or 0),
                    "amount_paid_minor": int(m["amount_paid_minor"] or 0),
                    "paid_on_time": None if m["paid_on_time"] is None else bool(m["paid_on_time"]),
                    "satisfaction": m["satisfaction"], "would_recommend": m["would_recommend"]})
    return out


# --- importing history ---------------------------------------------------------------------------
_YEAR = re.compile(r"^((?:19|20)\d{2})\s*年?$")
_YEAR_IN_SLUG = re.compile(r"(?:^|-)((?:19|20)\d{2})(?:-|$)")


def parse_edition(raw: str) -> str:
    """An edition as the file names it: a show code (food-expo-2023) or a year (2023, 2023年)."""
    text = raw.strip().lower()
    m = _YEAR.match(text)
    if m:
        return m.group(1)
    if SLUG.match(text):
        return text
    raise ValueError(_("“%(value)s” is not an edition: write the show code (e.g. food-expo-2023) or its year "
                       "(2023)", value=raw))


def parse_amount(raw: str) -> int:
    """An amount in major units (13,800.50, ¥13800, 1.2万) as minor units."""
    text = raw.strip().replace(",", "").replace("，", "").replace(" ", "")
    text = text.lstrip("¥￥$").removesuffix("元")
    factor = Decimal(1)
    if text.endswith("万"):
        factor, text = Decimal(10000), text[:-1]
    try:
        value = Decimal(text) * factor
    except InvalidOperation:
        raise ValueError(_("not an amount: %(value)s", value=raw)) from None
    if not value.is_finite():
        raise ValueError(_("not an amount: %(value)s", value=raw))
    if value < 0:
        raise ValueError(_("an amount paid cannot be negative: %(value)s", value=raw))
    if value > Decimal(10) ** 13:
        raise ValueError(_("an amount this large is not plausible: %(value)s", value=raw))
    return int((value * 100).to_integral_value())


def parse_m2(raw: str) -> float:
    text = raw.strip().lower().replace(",", ".").removesuffix("m²").removesuffix("m2").removesuffix("平方米").strip()
    try:
        value = float(text)
    except ValueError:
        raise ValueError(_("not a number of square metres: %(value)s", value=raw)) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(_("not a number of square metres: %(value)s", value=raw))
    if value < 0:
        raise ValueError(_("a booth cannot measure less than 0 m²: %(value)s", value=raw))
    if value > 100_000:
        raise ValueError(_("a booth of %(value)s m² is not plausible", value=raw))
    return round(value, 2)


def _bounded(low: int, high: int):
    def parse(raw: str) -> int:
        try:
            value = int(Decimal(raw.strip()))
            if Decimal(raw.strip()) != value:
                raise ValueError
        except (InvalidOperation, ValueError):
            raise ValueError(_("must be a whole number from %(low)d to %(high)d, not %(value)s",
                               low=low, high=high, value=raw)) from None
        if not low <= value <= high:
            raise ValueError(_("must be a whole number from %(low)d to %(high)d, not %(value)s",
                               low=low, high=high, value=raw))
        return value
    return parse


HISTORY_COLUMNS = (
    Column("company", COMPANY_HEADERS + ("参展商", "参展企业", "参展单位", "exhibitor", "customer", "客户", "客户名称"),
           required=True),
    Column("edition", ("edition", "届次", "展会", "届", "年份", "展会届次", "year", "show", "show code", "展会代码"),
           required=True, parse=parse_edition),
    Column("booth_m2", ("booth_m2", "展位面积", "面积", "展位面积(m²)", "展位面积(平方米)", "平方米", "m2", "sqm",
                        "booth size", "booth area", "area"), required=True, parse=parse_m2),
    Column("amount_paid", ("amount_paid", "金额", "付款金额", "已付金额", "实付金额", "参展费", "amount", "paid",
                           "amount paid"), required=True, parse=parse_amount),
    Column("paid_on_time", ("paid_on_time", "按时付款", "是否按时付款", "准时付款", "按期付款", "on time",
                            "paid on time"), required=True, parse=yes_no),
    Column("co_exhibitor_of", ("co_exhibitor_of", "联合参展", "主参展商", "联合参展于", "所属主参展商",
                               "co-exhibitor of", "main exhibitor")),
    Column("satisfaction", ("satisfaction", "满意度", "满意度(1-5)", "满意程度"), parse=_bounded(1, 5)),
    Column("would_recommend", ("would_recommend", "推荐意愿", "推荐度", "推荐意愿(0-10)", "nps", "recommend",
                               "would recommend"), parse=_bounded(0, 10)),
)
COLUMNS_HELP = ("company (公司), edition (届次: show code or year), booth_m2 (展位面积), amount_paid (金额, in yuan), "
                "paid_on_time (按时付款: 是/否); optional: co_exhibitor_of (联合参展), satisfaction (满意度 1–5), "
                "would_recommend (推荐意愿 0–10)")


def _org_matches(names: set[str]) -> dict[str, list[tuple[int, str]]]:
    """Folded name → every organization (id, name) with that folded Chinese or English name."""
    found: dict[str, list[tuple[int, str]]] = {}
    keys = sorted({name_key(n) for n in names} - {""})
    for part in chunks(keys, 450):
        for oid, zh, en, k, k_en in db.session.execute(
                select(Organization.id, Organization.name_zh, Organization.name_en, Organization.name_key,
                       Organization.name_en_key)
                .where(or_(Organization.name_key.in_(part), Organization.name_en_key.in_(part)))
                .order_by(Organization.id)):
            for key in {k, k_en} & set(part):
                found.setdefault(key, []).append((oid, zh or en))
    return found


def _edition_slug(series: ShowSeries, edition: str) -> str:
    return f"{series.slug}-{edition}" if edition.isdigit() else edition


def _editions(series: ShowSeries, slugs: set[str], user=None) -> dict[str, Show | str]:
    """Edition code → the Show (created as a closed edition of the series when missing), or
    a message why the rows naming it are refused."""
    out: dict[str, Show | str] = {}
    existing = {s.slug: s for s in db.session.scalars(select(Show).where(Show.slug.in_(slugs)))} if slugs else {}
    reference = db.session.scalars(select(Show).where(Show.series_id == series.id)).all()
    reference = max(reference, key=lambda s: (s.start or dt.date.min, s.id), default=None)
    for slug in sorted(slugs):
        show = existing.get(slug)
        if show is not None:
            if show.series_id != series.id:
                out[slug] = _("the edition %(slug)s belongs to another series (%(series)s)", slug=slug,
                              series=show.series.slug if show.series else "-")
            else:
                out[slug] = show
            continue
        m = _YEAR_IN_SLUG.search(slug)
        if not m:
            out[slug] = _("the edition %(slug)s is not in crm-expo and its code has no year (e.g. %(example)s), "
                          "so it cannot be dated", slug=slug, example=f"{series.slug}-2019")
            continue
        year = int(m.group(1))
        month_day = (reference.start.month, min(reference.start.day, 28)) if reference and reference.start else (1, 1)
        days = len(reference.days) if reference and reference.days else 1
        name_zh = f"{year}{series.name_zh}"
        name_en = f"{series.name_en} {year}" if series.name_en else ""
        show = create_show(slug, name_zh, dt.date(year, *month_day), days, name_en=name_en, series=series,
                           venue=reference.venue if reference else "",
                           currency=reference.currency if reference else "CNY",
                           timezone=reference.timezone if reference else "Asia/Shanghai", user=user)
        show.status = "closed"
        audit("show.status", show, user=user, show_id=show.id, before={"status": "draft"},
              after={"status": "closed", "why": "history import"})
        out[slug] = show
    return out


def apply_history_rows(series: ShowSeries, rows: list[tuple[int, dict]], dry_run: bool, user=None) -> ImportReport:
    """``apply_rows`` of the history import: one transaction per batch. A company is the
    organization with the same folded name (the core's duplicate rules); none: created; two
    or more: the row is refused and names them. A row already imported is unchanged; one
    imported with other figures is updated."""
    report = ImportReport()
    with transaction(dry_run=dry_run):
        editions = _editions(series, {_edition_slug(series, v["edition"]) for _r, v in rows}, user=user)
        names = {v["company"] for _r, v in rows} | {v["co_exhibitor_of"] for _r, v in rows if v.get("co_exhibitor_of")}
        matches = _org_matches(names)
        create: set[tuple[str, str]] = set()
        for name in names:
            if not matches.get(name_key(name)) and name_key(name):
                create.add((name[:200], ""))
        created = bulk_organizations(create) if create else {}
        by_key = {name_key(zh): oid for (zh, _en), oid in created.items()}

        def org_of(name: str, rownum: int, label: str) -> int | None:
            found = matches.get(name_key(name)) or []
            ids = sorted({oid for oid, _n in found})
            if len(ids) > 1:
                shown = "; ".join(f"#{oid} {n}" for oid, n in sorted(set(found))[:5])
                report.problems.append(RowProblem(rownum, label, _(
                    "“%(name)s” matches %(n)d organizations (%(which)s): merge them or write the name that "
                    "tells them apart", name=name, n=len(ids), which=shown)))
                return None
            if ids:
                return ids[0]
            oid = by_key.get(name_key(name))
            if oid is None:
                report.problems.append(RowProblem(rownum, label, _("“%(name)s” is not a company name", name=name)))
            return oid

        prepared: dict[tuple[int, int], tuple[int, tuple]] = {}
        for rownum, v in rows:
            edition = editions[_edition_slug(series, v["edition"])]
            if isinstance(edition, str):
                report.problems.append(RowProblem(rownum, HISTORY_COLUMNS[1].label, edition))
                continue
            org_id = org_of(v["company"], rownum, HISTORY_COLUMNS[0].label)
            main_id = org_of(v["co_exhibitor_of"], rownum, HISTORY_COLUMNS[5].label) if v.get("co_exhibitor_of") else None
            if org_id is None or (v.get("co_exhibitor_of") and main_id is None):
                continue
            if main_id == org_id:
                report.problems.append(RowProblem(rownum, HISTORY_COLUMNS[5].label,
                                                  _("a company cannot be its own main exhibitor")))
                continue
            key = (org_id, edition.id)
            if key in prepared:
                report.problems.append(RowProblem(rownum, "", _(
                    "the same company and edition as row %(first)d", first=prepared[key][0])))
                continue
            values = (float(v["booth_m2"]), int(v["amount_paid"]), bool(v["paid_on_time"]), main_id,
                      v.get("satisfaction") if v.get("satisfaction") != "" else None,
                      v.get("would_recommend") if v.get("would_recommend") != "" else None)
            prepared[key] = (rownum, values)
        existing: dict[tuple[int, int], Participation] = {}
        pairs = list(prepared)
        for part in chunks(pairs, 400):
            for row in db.session.scalars(select(Participation).where(
                    Participation.source == "import",
                    tuple_(Participation.organization_id, Participation.show_id).in_(part))
                    if db.session.get_bind().dialect.name == "postgresql" else
                    select(Participation).where(Participation.source == "import", or_(*[
                        and_(Participation.organization_id == o, Participation.show_id == s) for o, s in part]))):
                existing[(row.organization_id, row.show_id)] = row
        fresh = []
        fields = ("booth_m2", "amount_paid_minor", "paid_on_time", "co_exhibitor_of_id", "satisfaction",
                  "would_recommend")
        for key, (_rownum, values) in prepared.items():
            row = existing.get(key)
            if row is None:
                fresh.append(key + values)
                continue
            current = tuple(getattr(row, f) for f in fields)
            if current == values:
                report.unchanged += 1
            else:
                for f, value in zip(fields, values, strict=True):
                    setattr(row, f, value)
                report.imported += 1
        if fresh:
            now = utcnow()
            ids = new_ids(Participation.__table__, len(fresh))
            executemany(Participation.__table__,
                        ["id", "organization_id", "show_id", "booth_m2", "amount_paid_minor", "paid_on_time",
                         "co_exhibitor_of_id", "satisfaction", "would_recommend", "source", "created_at"],
                        [(i, *r, "import", now) for i, r in zip(ids, fresh, strict=True)])
            report.imported += len(fresh)
        report.rejected = len({p.row for p in report.problems})
        if report.imported:
            audit("loyalty.history_import", series, user=user, after={"rows": report.imported,
                                                                       "editions": sorted(editions)})
    return report


def series_or_fail(slug: str) -> ShowSeries:
    from crm_expo.operations import series_by_slug
    series = series_by_slug(slug)
    if series is None:
        raise HistoryError(_("No show series with the code %(slug)s.", slug=slug), field="series")
    return series
