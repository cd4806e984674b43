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
import re
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm_expo.contacts.importing import Column, ImportReport, RowProblem, choice, cli_importer
from crm_expo.database import executemany, transaction
from crm_expo.extensions import db
from crm_expo.i18n import gettext_anywhere as _
from crm_expo.models import ShowDay
from plugins.visitors.models import BadgeCode, Registration
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
_CHUNK = 2000


def _in_chunks(values: list, query):
    for i in range(0, len(values), _CHUNK):
        yield from db.session.execute(query(values[i:i + _CHUNK])).all()


def apply_rows(show, rows: list[tuple[int, dict]], dry_run: bool) -> ImportReport:
    """One batch: check each row against the show's days and badges, store the new ones."""
    report = ImportReport()
    zone = ZoneInfo(show.timezone)
    with transaction(dry_run=dry_run):
        days = {d for (d,) in db.session.execute(select(ShowDay.date).where(ShowDay.show_id == show.id))}
        codes = sorted({v["code"] for _n, v in rows})
        badges = {code: (show_id, reg_id, category) for code, show_id, reg_id, category in _in_chunks(
            codes, lambda chunk: select(BadgeCode.code, BadgeCode.show_id, BadgeCode.registration_id,
                                        Registration.category)
            .join(Registration, Registration.id == BadgeCode.registration_id).where(BadgeCode.code.in_(chunk)))}
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
        stored = {n for (n,) in _in_chunks(list(candidates), lambda chunk: select(Scan.nonce).where(
            Scan.show_id == show.id, Scan.nonce.in_(chunk)))}
        new = [row for nonce, (_n, row) in candidates.items() if nonce not in stored]
        if not dry_run:
            executemany(Scan.__table__, _COLS, new)
        report.imported, report.unchanged = len(new), len(candidates) - len(new)
        report.rejected = len({p.row for p in report.problems})
    return report


# 50,000 rows per transaction: a million gate scans in twenty commits.
BATCH_SIZE = 50000
importer = cli_importer("scans", COLUMNS, apply_rows, batch_size=BATCH_SIZE)
