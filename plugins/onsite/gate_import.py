"""Evidence from other systems: a venue's own turnstiles export their scans, and
``crm-expo import scans FILE --show SLUG`` (crm_expo.contacts.importing, the same row report
and exit codes as every import) stores each as a scan with its gate and time.

Columns: code, time (ISO 8601, or ``YYYY-MM-DD HH:MM:SS`` in the show's time zone), gate,
direction (in/out, default in), result (ok/refused, default ok). A row is refused, by row,
when its time is in another format or outside the show's days, its code is unknown or a
badge of another show, or its direction is not in/out. Each stored scan gets a nonce that is
a hash of its content: the unique (show, nonce) index makes a re-import add nothing, and a row
repeated in the file is reported as a duplicate. Per batch: one IN query for the codes, one
for the nonces already stored, one bulk insert (COPY on PostgreSQL) — never a query per row.
Imported scans are evidence: they never take the desk's "first entry of the day" mark, and
attendance counts people per day, not first entries, so both sources count alike."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm_expo.contacts.importing import Column, ImportReport, RowProblem, choice, cli_importer
from crm_expo.database import executemany, transaction, tune_for_bulk
from crm_expo.extensions import db
from crm_expo.i18n import gettext_anywhere as _
from crm_expo.models import ShowDay
from plugins.visitors.operations import normalize_code

from .models import Scan

_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?$")


def parse_time(raw: str) -> dt.datetime:
    """ISO 8601 with a time (a zone offset, or none: the show's zone), e.g.
    2027-01-06T09:12:00+08:00, 2027-01-06 09:12:00; anything else is refused."""
    text = raw.strip()
    if not _TIME.match(text):
        raise ValueError(_("not a time in the form YYYY-MM-DD HH:MM:SS (or ISO 8601): %(value)s",
                                 value=raw[:40]))
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(_("not a valid time: %(value)s", value=raw[:40])) from None


def _parse_code(raw: str) -> str:
    code = normalize_code(raw)      # as the desk reads it: case, spaces and hyphens ignored
    if not 1 <= len(code) <= 64:
        raise ValueError(_("a badge code is at most 64 characters"))
    return code


def _parse_gate(raw: str) -> str:
    if len(raw) > 64:
        raise ValueError(_("is longer than %(n)d characters", n=64))
    return raw


COLUMNS = (
    Column("code", ("code", "badge_code", "badge", "证件号", "胸卡号", "条码", "卡号"), required=True,
           parse=_parse_code),
    Column("time", ("time", "scanned_at", "timestamp", "时间", "扫描时间", "通行时间"), required=True,
           parse=parse_time),
    Column("gate", ("gate", "闸口", "入口", "通道", "闸机"), required=True, parse=_parse_gate),
    Column("direction", ("direction", "方向", "进出"), default="in", default_label=_l("in (entry)"),
           parse=choice("in", "out", aliases={"进": "in", "入": "in", "进场": "in", "entry": "in", "出": "out",
                                              "出场": "out", "exit": "out"})),
    Column("result", ("result", "结果"), default="ok", default_label=_l("ok (admitted)"),
           parse=choice("ok", "refused", aliases={"通过": "ok", "放行": "ok", "admitted": "ok", "拒绝": "refused",
                                                  "denied": "refused", "rejected": "refused"})),
)
_COLS = ["show_id", "registration_id", "code", "gate", "desk", "device", "direction", "day", "at", "result",
         "reason", "category", "nonce"]


def _lookup(sql: dict, show_id: int, values: list) -> list:
    """One query for a whole batch, the values passed as one parameter (a JSON array on SQLite,
    an array on PostgreSQL): an IN list of 50,000 bound values costs more to build than to run."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql(sql["postgresql"], (values, show_id)).all()
    return conn.exec_driver_sql(sql["sqlite"], (json.dumps(values), show_id)).all()


_BADGES = {   # every badge of the batch's codes, of any show (a code of another show is reported)
    "sqlite": "SELECT b.code, b.show_id, b.registration_id, r.category FROM json_each(?) AS j CROSS "
              "JOIN visitors_badge_code b ON b.code = j.value "
              "JOIN visitors_registration r ON r.id = b.registration_id WHERE ? IS NOT NULL",
    "postgresql": "SELECT b.code, b.show_id, b.registration_id, r.category FROM visitors_badge_code b "
                  "JOIN visitors_registration r ON r.id = b.registration_id "
                  "WHERE b.code = ANY(%s) AND %s IS NOT NULL",
}
_STORED = {   # the batch's nonces already stored for the show (a re-import)
    "sqlite": "SELECT s.nonce FROM json_each(?) AS j CROSS JOIN onsite_scan s "
              "WHERE s.nonce = j.value AND s.show_id = ?",
    "postgresql": "SELECT nonce FROM onsite_scan WHERE nonce = ANY(%s) AND show_id = %s",
}


def apply_rows(show, rows: list[tuple[int, dict]], dry_run: bool) -> ImportReport:
    """One batch: check each row against the show's days and badges, store the new ones."""
    report = ImportReport()
    zone = ZoneInfo(show.timezone)
    with transaction(dry_run=dry_run):
        tune_for_bulk()     # SQLite: a big page cache, one checkpoint at the end of the import
        days = {d for (d,) in db.session.execute(select(ShowDay.date).where(ShowDay.show_id == show.id))}
        codes = sorted({v["code"] for _n, v in rows})
        badges = {code: (show_id, reg_id, category)
                  for code, show_id, reg_id, category in _lookup(_BADGES, show.id, codes)}
        shown_days = ", ".join(d.isoformat() for d in sorted(days)) or "-"
        candidates: dict[str, tuple[int, tuple]] = {}
        for rownum, v in rows:
            at = v["time"]
            at = (at.replace(tzinfo=zone) if at.tzinfo is None else at).astimezone(dt.UTC).replace(tzinfo=None)
            day = at.replace(tzinfo=dt.UTC).astimezone(zone).date()
            badge = badges.get(v["code"])
            problem = None
            if day not in days:
                problem = RowProblem(rownum, "time", _(
                    "%(day)s is not a day of this show (%(days)s)", day=day.isoformat(), days=shown_days))
            elif badge is None:
                problem = RowProblem(rownum, "code", _("unknown badge code %(code)s", code=v["code"][:20]))
            elif badge[0] != show.id:
                problem = RowProblem(rownum, "code", _("%(code)s is a badge of another show",
                                                             code=v["code"][:20]))
            if problem is not None:
                report.problems.append(problem)
                continue
            refused = v["result"] == "refused"
            at_text = at.isoformat(sep=" ", timespec="microseconds")
            nonce = "gate-" + hashlib.sha1(f"{v['code']}\x1f{at_text}\x1f{v['gate']}\x1f{v['direction']}\x1f"
                                           f"{v['result']}".encode()).hexdigest()
            if nonce in candidates:
                report.problems.append(RowProblem(rownum, "", _(
                    "duplicate of row %(first)d (same code, time, gate, direction and result)",
                    first=candidates[nonce][0])))
                continue
            candidates[nonce] = (rownum, (
                show.id, badge[1], v["code"], v["gate"], "", "import", v["direction"], day, at,
                "not_allowed" if refused else "ok", "gate_refused" if refused else "imported", badge[2], nonce))
        stored = {n for (n,) in _lookup(_STORED, show.id, list(candidates))}
        new = [row for nonce, (_n, row) in candidates.items() if nonce not in stored]
        if not dry_run:
            executemany(Scan.__table__, _COLS, new)
        report.imported, report.unchanged = len(new), len(candidates) - len(new)
        report.rejected = len({p.row for p in report.problems})
    return report


# 50,000 rows per transaction: a million gate scans in twenty commits.
BATCH_SIZE = 50000
importer = cli_importer("scans", COLUMNS, apply_rows, batch_size=BATCH_SIZE)
