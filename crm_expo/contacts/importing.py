"""Importing customer lists (exhibitors, visitors, suppliers, booths, contacts) from CSV or XLSX.

The shared machinery does everything that is the same for every kind of list:

- reads the file: CSV in UTF-8 (with or without BOM), GB18030/GBK (what Excel on a Chinese
  Windows saves), UTF-16 with BOM, or XLSX; refuses an empty, oversize or unreadable file
  with :class:`ImportFileError` (exit code 2);
- maps the header to the plugin's :class:`Column` keys, whatever the case, spacing or
  punctuation and in Chinese or English (``姓名`` / ``Name`` / ``full name``);
- checks every cell: formula-looking cells are refused (a list re-exported to Excel must not
  run anything), over-long cells refused, required cells present, then ``Column.parse``;
  a value of a ``unique`` column seen on an earlier row is reported as a duplicate;
- hands the valid rows to the plugin's ``apply_rows`` in batches (one transaction each, bulk
  inserts), so 100,000 rows go in seconds; shows a progress bar on a terminal;
- returns an :class:`ImportReport`: counts and every problem by row (as numbered in the
  file: the header is row 1) and column, and an exit code (0 all in, 1 some rejected).

No column is dropped in silence: every header cell the importer does not use is named in
the report, and a column with a ``default`` says in the report when the default was taken
(the whole column missing, or empty cells, by row). The usual header names (Chinese and
English) of the contact columns are here, for every importer to reuse.

HTML in a cell is stored as typed: pages escape it on output.
"""
from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click
from flask import current_app, has_app_context, has_request_context

from ..database import checkpoint, transaction
from ..errors import DomainError
from ..extensions import db
from ..i18n import gettext_anywhere as _
from ..i18n import str_anywhere
from .duplicates import (
    bulk_get_or_create_persons,
    bulk_organizations,
    lock_persons_exclusive,
)
from .keys import person_keys, split_name
from .normalise import normalize_email, normalize_phone

BATCH_SIZE = 5000
FIRST_BATCH_SIZE = 2000
MAX_CELL_CHARS = 2000
DEFAULT_MAX_UPLOAD_MB = 20

# A leading = + - @ makes Excel evaluate the cell. + and - are allowed when the rest is a
# number or a phone number (+86 138 0013 8000, -5).
_NUMBERISH = re.compile(r"^[+\-][\d\s().\-/]*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEADER_NOISE = re.compile(r"[\W_]+", re.UNICODE)


class ImportFileError(DomainError):
    """The file as a whole cannot be imported (unreadable, wrong encoding, empty, too big,
    a required column missing). Nothing was changed. Exit code 2."""


@dataclass(frozen=True)
class Column:
    """A column the importer understands.

    ``key``: the name the plugin's ``apply_rows`` gets the value under;
    ``aliases``: header names users write (zh and en), matched ignoring case, spaces and
    punctuation (the key itself always matches);
    ``required``: the column must be in the header and the cell must not be empty;
    ``parse(str) -> value``: converts a non-empty cell or raises ``ValueError(message)``
    naming the problem (empty cells are passed on as "" without calling it);
    ``unique``: the value identifies a record (email, phone …): a later row of the same file
    with the same parsed value is rejected as a duplicate of the first;
    ``derive(values) -> value``: not read from the file but computed from a good row's parsed
    values, where the cells are checked — for pure work per row (a person's search keys),
    which a big import then does in its checking process, on the other core;
    ``default``: the value a row gets when the column is not in the file or its cell is
    empty — the report always says so (``default_label``: the default in the reader's words,
    e.g. "trade visitors"), so that no row is classified behind the user's back."""
    key: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    parse: Callable[[str], Any] | None = None
    unique: bool = False
    derive: Callable[[dict], Any] | None = None
    default: Any = None
    default_label: Any = ""

    @property
    def label(self) -> str:
        """The name used in messages: the first alias (what users most likely wrote)."""
        return self.aliases[0] if self.aliases else self.key


@dataclass
class RowProblem:
    row: int          # row number as the user sees it in the file (header = 1)
    column: str       # column label ("" when the row as a whole is the problem)
    message: str

    def line(self) -> str:
        if self.column:
            return _("row %(row)d, %(column)s: %(message)s", row=self.row, column=self.column,
                     message=self.message)
        return _("row %(row)d: %(message)s", row=self.row, message=self.message)


@dataclass
class ImportReport:
    kind: str = ""
    total: int = 0           # data rows read (blank rows not counted)
    imported: int = 0        # rows that created or changed records
    unchanged: int = 0       # rows already in the database (re-import)
    rejected: int = 0        # rows refused, each with at least one problem
    problems: list[RowProblem] = field(default_factory=list)
    dry_run: bool = False
    filename: str = ""
    unused_columns: list[str] = field(default_factory=list)     # header cells no column took
    # a default taken: (column label, default label) → rows (None: the column is missing)
    defaults: dict[tuple[str, str], list[int] | int] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 1 if self.rejected else 0

    def add(self, other: ImportReport | dict) -> None:
        """Add a batch's result (an ImportReport or a dict with the same field names)."""
        get = (other.get if isinstance(other, dict) else lambda k, d=None: getattr(other, k, d))
        problems = list(get("problems", None) or [])
        self.imported += int(get("imported", 0) or 0)
        self.unchanged += int(get("unchanged", 0) or 0)
        rejected = get("rejected", None)
        self.rejected += int(rejected) if rejected is not None else len({p.row for p in problems})
        self.problems.extend(problems)

    def summary(self) -> str:
        text = _("%(kind)s import of %(file)s: %(total)d rows, %(imported)d imported, "
                 "%(unchanged)d already there, %(rejected)d rejected",
                 kind=self.kind, file=self.filename or "-", total=self.total, imported=self.imported,
                 unchanged=self.unchanged, rejected=self.rejected)
        if self.dry_run:
            text += " " + _("(dry run: nothing was changed)")
        return text

    def notes(self) -> list[str]:
        """What the import did not take from the file as it stands: the columns not used and
        the defaults given, one line each, in the reader's language."""
        out = []
        if self.unused_columns:
            out.append(_("columns not used (not known to this import, their values were ignored): %(columns)s",
                         columns=", ".join(f"“{c}”" for c in self.unused_columns)))
        for (column, default), rows in self.defaults.items():
            if isinstance(rows, int):
                out.append(_("no %(column)s column: %(n)s rows imported as %(default)s",
                             column=f"“{column}”", n=f"{rows:,}", default=default))
            elif rows:
                shown = ", ".join(str(r) for r in rows[:10])
                if len(rows) > 10:
                    shown += " " + _("and %(n)s more", n=f"{len(rows) - 10:,}")
                out.append(_("%(column)s empty in %(n)s rows (rows %(rows)s): imported as %(default)s",
                             column=f"“{column}”", n=f"{len(rows):,}", rows=shown, default=default))
        return out

    def note_default(self, column: Column, rows: list[int] | int) -> None:
        key = (column.label, str_anywhere(column.default_label or column.default))
        if isinstance(rows, int):
            self.defaults[key] = int(self.defaults.get(key) or 0) + rows
        else:
            self.defaults.setdefault(key, []).extend(rows)

    def lines(self) -> list[str]:
        """The row-by-row report: the summary, the notes, then each problem in file order."""
        ordered = sorted(self.problems, key=lambda p: p.row)
        return [self.summary()] + self.notes() + [p.line() for p in ordered]


# --- reading the file ---------------------------------------------------------------------
def _max_bytes() -> int:
    mb = current_app.config.get("MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB) if has_app_context() \
        else DEFAULT_MAX_UPLOAD_MB
    return int(mb) * 1024 * 1024


def read_source(source, filename: str = "") -> bytes:
    """The file's bytes from a path, bytes or a file object (e.g. an upload), refusing an
    empty or oversize file."""
    limit = _max_bytes()
    name = filename or (str(source) if isinstance(source, (str, os.PathLike)) else "")
    try:
        if isinstance(source, (bytes, bytearray)):
            data = bytes(source[:limit + 1])
        elif isinstance(source, (str, os.PathLike)):
            if os.path.isdir(source):
                raise ImportFileError(_("%(file)s is a folder, not a file", file=name))
            with open(source, "rb") as fh:
                data = fh.read(limit + 1)
        else:
            data = source.read(limit + 1)
    except FileNotFoundError:
        raise ImportFileError(_("file not found: %(file)s", file=name)) from None
    except OSError as exc:
        raise ImportFileError(_("cannot read %(file)s: %(why)s", file=name, why=exc.strerror or str(exc))) from exc
    if len(data) > limit:
        raise ImportFileError(_("%(file)s is larger than %(mb)d MB (MAX_UPLOAD_MB)", file=name,
                                mb=limit // (1024 * 1024)))
    if not data.strip():
        raise ImportFileError(_("%(file)s is empty", file=name))
    return data


def decode_text(data: bytes, filename: str = "") -> str:
    """UTF-8 (BOM or not) first, strictly; then UTF-16 with a BOM; then GB18030 (a superset of
    GBK/GB2312). Anything else is refused rather than imported as garbled names."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise ImportFileError(_("%(file)s is neither UTF-8 nor GB18030/GBK text (first bad byte at "
                                "position %(pos)d); save it as CSV UTF-8 or as XLSX",
                                file=filename or "-", pos=utf8_error.start)) from None
    if "\x00" in text:
        raise ImportFileError(_("%(file)s is not a text file; save it as CSV UTF-8 or as XLSX",
                                file=filename or "-"))
    return text


def _csv_rows(text: str) -> list[list[str]]:
    first = text.split("\n", 1)[0]
    # The delimiter most present in the header line: Excel writes ',' or ';' (locale) or tab.
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ImportFileError(_("the CSV file is malformed: %(why)s", why=str(exc))) from exc


def _xlsx_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))          # a phone number typed as a number: 13800138000.0
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _xlsx_rows(data: bytes, filename: str) -> list[list[str]]:
    import openpyxl
    try:
        # Not data_only: a formula cell reads as its "=..." text, which the checks refuse.
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(_("%(file)s is not a readable XLSX workbook: %(why)s", file=filename or "-",
                                why=str(exc) or type(exc).__name__)) from exc
    try:
        ws = wb.worksheets[0]
        return [[_xlsx_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def read_table(data: bytes, filename: str = "") -> list[list[str]]:
    """Rows of cells (header first) from CSV or XLSX bytes (XLSX recognised by content)."""
    if data[:4] == b"PK\x03\x04":
        return _xlsx_rows(data, filename)
    if filename.lower().endswith((".xls",)) and data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(_("%(file)s is an old Excel .xls file; save it as XLSX or CSV UTF-8",
                                file=filename))
    return _csv_rows(decode_text(data, filename))


# --- header mapping -------------------------------------------------------------------------
def header_key(text: str) -> str:
    """Header comparison form: NFKC, lower case, no spaces or punctuation (``E-mail`` → ``email``)."""
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", text or "").lower())


def unused_columns(header: list[str], mapping: dict[int, Column]) -> list[str]:
    """The header cells (non-blank) that no column took, as written in the file."""
    return [cell.strip() for pos, cell in enumerate(header) if pos not in mapping and (cell or "").strip()]


def map_header(header: list[str], columns: Iterable[Column]) -> dict[int, Column]:
    """Position → Column for every header cell that names a column (see
    :func:`unused_columns` for the others, which the report names). Raises ImportFileError
    for a missing required column or one given twice."""
    columns = [c for c in columns if c.derive is None]
    by_name: dict[str, Column] = {}
    for col in columns:
        for name in (col.key,) + tuple(col.aliases):
            by_name.setdefault(header_key(name), col)
    found: dict[int, Column] = {}
    seen: dict[str, str] = {}
    for pos, cell in enumerate(header):
        col = by_name.get(header_key(cell))
        if col is None:
            continue
        if col.key in seen:
            raise ImportFileError(_("the columns \"%(a)s\" and \"%(b)s\" both mean %(column)s; keep one",
                                    a=seen[col.key], b=cell.strip(), column=col.label))
        seen[col.key] = cell.strip()
        found[pos] = col
    missing = [c for c in columns if c.required and c.key not in seen]
    if missing:
        raise ImportFileError(_("required column missing: %(columns)s (the header row has: %(header)s)",
                                columns=", ".join(" / ".join(c.aliases[:2] or (c.key,)) for c in missing),
                                header=", ".join(h.strip() for h in header if h.strip()) or "-"))
    return found


# --- checking cells ---------------------------------------------------------------------------
def looks_like_formula(value: str) -> bool:
    if not value:
        return False
    if value[0] in "=@":
        return True
    return value[0] in "+-" and not _NUMBERISH.match(value)


def check_row(rownum: int, cells: list[str], mapping: dict[int, Column],
              seen: dict[tuple[str, Any], int], defaulted: list | None = None) -> tuple[dict, list[RowProblem]]:
    """Parse one row: (values by key, problems). ``seen`` remembers unique values → first row;
    ``defaulted`` gets (column, row) for each empty cell given its column's default."""
    values: dict[str, Any] = {}
    problems: list[RowProblem] = []
    for pos, col in mapping.items():
        raw = cells[pos] if pos < len(cells) else ""
        raw = _CONTROL.sub("", raw or "").strip()
        if not raw:
            if col.required:
                problems.append(RowProblem(rownum, col.label, _("is empty but required")))
            if col.default is not None:
                values[col.key] = col.default
                if defaulted is not None:
                    defaulted.append((col, rownum))
            else:
                values[col.key] = ""
            continue
        if len(raw) > MAX_CELL_CHARS:
            problems.append(RowProblem(rownum, col.label, _("is longer than %(n)d characters", n=MAX_CELL_CHARS)))
            continue
        if looks_like_formula(raw):
            problems.append(RowProblem(rownum, col.label,
                                       _("looks like a spreadsheet formula (%(value)s); formulas are not "
                                         "imported", value=raw[:40])))
            continue
        if col.parse is not None:
            try:
                values[col.key] = col.parse(raw)
            except ValueError as exc:
                problems.append(RowProblem(rownum, col.label, str(exc) or _("is not valid: %(value)s", value=raw)))
                continue
        else:
            values[col.key] = raw
    if not problems:
        for col in mapping.values():
            value = values.get(col.key)
            if col.unique and value not in ("", None):
                first = seen.get((col.key, value))
                if first is not None:
                    problems.append(RowProblem(rownum, col.label, _(
                        "duplicate of row %(first)d (same %(column)s: %(value)s)",
                        first=first, column=col.label, value=value)))
        if not problems:
            for col in mapping.values():
                value = values.get(col.key)
                if col.unique and value not in ("", None):
                    seen[(col.key, value)] = rownum
    return values, problems


# --- running an import ---------------------------------------------------------------------------
ApplyRows = Callable[[Any, list, bool], "ImportReport | dict"]


def run_import(show, source, filename: str, kind: str, columns: Iterable[Column], apply_rows: ApplyRows, *,
               dry_run: bool = False, echo: Callable | None = None, progress: bool = False,
               batch_size: int = BATCH_SIZE) -> ImportReport:
    """Import a file; raises ImportFileError (nothing changed) or returns the report.

    ``apply_rows(show, rows, dry_run)`` gets ``[(row number, {key: value})…]`` of rows that
    passed the cell checks and returns the batch's ``ImportReport`` (or a dict with
    ``imported``, ``unchanged``, ``problems`` and optionally ``rejected``). It validates and
    deduplicates against the database and bulk-inserts in ONE transaction, committing unless
    ``dry_run``. A batch that raises is rolled back and the error propagates."""
    with _collector_paused():
        return _run_import(show, source, filename, kind, columns, apply_rows, dry_run=dry_run, echo=echo,
                           progress=progress, batch_size=batch_size)


@contextmanager
def _collector_paused():
    """Python's cycle collector off while an import runs: the file's rows, cells and
    checked values are hundreds of thousands of objects without cycles, and each full
    collection walked all of them — about 0.8 s of a 100,000-row visitors import. What
    little cyclic garbage the import makes is collected when it ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run_import(show, source, filename: str, kind: str, columns: Iterable[Column], apply_rows: ApplyRows, *,
                dry_run: bool, echo: Callable | None, progress: bool, batch_size: int) -> ImportReport:
    columns = list(columns)
    data = read_source(source, filename)
    table = read_table(data, filename)
    # The header is the first non-blank row; row numbers stay those of the file.
    start = next((i for i, r in enumerate(table) if any((c or "").strip() for c in r)), None)
    if start is None:
        raise ImportFileError(_("%(file)s is empty", file=filename or "-"))
    mapping = map_header(table[start], columns)
    if not mapping:
        raise ImportFileError(_("no known column in the header row (%(header)s); expected e.g. %(columns)s",
                                header=", ".join(c.strip() for c in table[start] if c.strip()),
                                columns=", ".join(c.label for c in columns)))
    body = [(i + 1, row) for i, row in enumerate(table[start + 1:], start=start + 1)
            if any(map(str.strip, row))]    # cells are str (read_table), blank rows skipped
    report = ImportReport(kind=kind, total=len(body), dry_run=dry_run, filename=os.path.basename(filename or ""),
                          unused_columns=unused_columns(table[start], mapping))
    if not body:
        raise ImportFileError(_("%(file)s has a header but no rows", file=filename or "-"))
    mapped = {c.key for c in mapping.values()}
    absent = tuple(c for c in columns if c.default is not None and c.derive is None and c.key not in mapped)

    def batches():
        # Batches that start small and grow by half: the database work starts as soon as the
        # first is checked, and the checking process stays a batch ahead (with one big first
        # batch the writer waited seconds for it). Checking a row costs more than half of
        # writing it (names never seen need their pinyin), so batches that doubled made the
        # writer wait for each next one.
        i = 0
        size = min(batch_size, FIRST_BATCH_SIZE)
        while i < len(body):
            yield body[i:i + size]
            i += size
            size = min(batch_size, size * 3 // 2)

    derived = tuple(c for c in columns if c.derive is not None)
    checked = (_checked_in_worker(batches(), mapping, absent, derived) if _can_check_in_worker(len(body), batch_size)
               else _checked(batches(), mapping, absent, derived, {}))
    bar = None
    if progress and echo is not None and len(body) > batch_size:
        bar = click.progressbar(length=len(body), label=_("importing %(kind)s", kind=kind), file=None)
        bar.__enter__()
    try:
        for size, good, problems, defaulted in checked:
            report.rejected += len({p.row for p in problems})
            report.problems.extend(problems)
            for col in absent:
                report.note_default(col, len(good))
            for key, rows in defaulted.items():
                report.note_default(next(c for c in columns if c.key == key), rows)
            if good:
                try:
                    result = apply_rows(show, good, dry_run)
                    if dry_run:
                        db.session.rollback()
                except BaseException:
                    db.session.rollback()
                    raise
                report.add(result)
            if bar is not None:
                bar.update(size)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        checked.close()
    checkpoint()      # the batches' commits left it to the end (database.tune_for_bulk)
    return report


# (rows read, good rows, problems, {column key: rows of the batch given its default})
CheckedBatch = tuple[int, list[tuple[int, dict]], list[RowProblem], dict[str, list[int]]]


def _checked(batches, mapping: dict[int, Column], absent: tuple[Column, ...], derived: tuple[Column, ...],
             seen: dict) -> Iterable[CheckedBatch]:
    """Check the batches' rows; the good ones get the defaults of the columns the file lacks,
    then the derived values."""
    absent_values = {c.key: c.default for c in absent}
    for chunk in batches:
        good: list[tuple[int, dict]] = []
        problems: list[RowProblem] = []
        defaulted: list[tuple[Column, int]] = []
        for rownum, cells in chunk:
            mark = len(defaulted)
            values, row_problems = check_row(rownum, cells, mapping, seen, defaulted)
            if row_problems:
                problems.extend(row_problems)
                del defaulted[mark:]        # a rejected row is not imported with a default
            else:
                if absent_values:
                    values.update(absent_values)
                for col in derived:
                    values[col.key] = col.derive(values)
                good.append((rownum, values))
        by_column: dict[str, list[int]] = {}
        for col, rownum in defaulted:
            by_column.setdefault(col.key, []).append(rownum)
        yield len(chunk), good, problems, by_column


def _can_check_in_worker(rows: int, batch_size: int) -> bool:
    """Large files read from the command line are checked in a forked worker process while
    this one writes the previous batch (two cores: cell checks and phone/email parsing
    overlap the database work). Not inside a request: messages follow the request's locale,
    and a process with other threads is not forked (a lock one of them holds would stay held
    in the child)."""
    import multiprocessing
    import threading
    return (rows > batch_size and has_app_context() and not has_request_context()
            and threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods())


def _check_worker(app, batches, mapping, absent, derived, conn) -> None:
    try:
        with app.app_context():
            # The parent's pooled connections are not this process's to use or close.
            db.engine.dispose(close=False)
            for item in _checked(batches, mapping, absent, derived, {}):
                conn.send(("batch", item))
        conn.send(("done", None))
    except BaseException as exc:   # reported by the parent, which raises it
        try:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        except OSError:             # the parent stopped listening (it failed first)
            pass
    finally:
        conn.close()


def _checked_in_worker(batches, mapping: dict[int, Column], absent: tuple[Column, ...],
                       derived: tuple[Column, ...]) -> Iterable[CheckedBatch]:
    """:func:`_checked` run in a forked child process; batches come back through a pipe (the
    child runs at most about a batch ahead: a full pipe makes it wait)."""
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=_check_worker, args=(current_app._get_current_object(), batches, mapping, absent, derived, sender),
                         daemon=True)
    worker.start()
    sender.close()
    try:
        while True:
            try:
                kind, item = receiver.recv()
            except EOFError:
                raise RuntimeError("the import's checking process ended unexpectedly") from None
            if kind == "done":
                return
            if kind == "error":
                raise RuntimeError(f"checking the file failed: {item}")
            yield item
    finally:
        receiver.close()
        worker.join(timeout=5)
        if worker.is_alive():
            worker.terminate()
            worker.join()


def cli_importer(kind: str, columns: Iterable[Column], apply_rows: ApplyRows, *,
                 batch_size: int = BATCH_SIZE) -> Callable:
    """The callable for ``Plugin.importers[kind]``: ``(show, path, dry_run, echo) -> exit code``
    (0 all rows in, 1 some rejected, 2 the file was refused); prints the report.
    ``batch_size``: rows per transaction (bigger batches: fewer commits, fewer lookups)."""
    columns = tuple(columns)

    def importer(show, path, dry_run: bool = False, echo: Callable | None = None) -> int:
        echo = echo or click.echo
        try:
            report = run_import(show, path, str(path), kind, columns, apply_rows, dry_run=dry_run, echo=echo,
                                progress=True, batch_size=batch_size)
        except ImportFileError as exc:
            echo(f"crm-expo: {exc}", err=True)
            return 2
        for line in report.lines():
            echo(line)
        return report.exit_code

    importer.kind = kind
    importer.columns = columns
    importer.apply_rows = apply_rows
    importer.batch_size = batch_size
    return importer


# --- parsers plugins use in their Columns -------------------------------------------------------
parse_phone = normalize_phone
parse_email = normalize_email


def parse_date(raw: str) -> dt.date:
    text = raw.strip().replace("/", "-").replace(".", "-")
    m = re.match(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$", raw.strip())
    if m:
        text = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    try:
        y, mo, d = (int(x) for x in text.split(" ")[0].split("-"))
        return dt.date(y, mo, d)
    except (ValueError, TypeError):
        raise ValueError(_("not a date (YYYY-MM-DD): %(value)s", value=raw)) from None


def parse_int(raw: str) -> int:
    try:
        return int(raw.replace(",", "").strip())
    except ValueError:
        raise ValueError(_("not a whole number: %(value)s", value=raw)) from None


def choice(*allowed: str, aliases: dict[str, str] | None = None) -> Callable[[str], str]:
    """A parser accepting one of ``allowed`` (case-insensitive) or an alias of one (e.g. 专业观众 → trade).
    The error names the accepted values as users write them (the first alias of each)."""
    table = {a.lower(): a for a in allowed}
    table.update({header_key(k): v for k, v in (aliases or {}).items()})
    table.update({k.lower(): v for k, v in (aliases or {}).items()})
    shown = []
    for code in allowed:
        words = [k for k, v in (aliases or {}).items() if v == code]
        shown.append(f"{words[0]} ({code})" if words else code)

    def parse(raw: str) -> str:
        text = raw.strip().lower()
        value = table.get(text) or table.get(header_key(text))
        if value is None:
            raise ValueError(_("%(value)s is not one of: %(allowed)s", value=raw, allowed=", ".join(shown)))
        return value
    return parse


def yes_no(raw: str) -> bool:
    """A yes/no cell: yes, y, true, 1, 是, 同意, x, ✓ / no, n, false, 0, 否, 不同意."""
    value = raw.strip().lower()
    if value in ("yes", "y", "true", "1", "是", "同意", "x", "✓", "√"):
        return True
    if value in ("no", "n", "false", "0", "否", "不同意", "×"):
        return False
    raise ValueError(_("answer yes or no (是/否), not %(value)s", value=raw))


# --- the usual header names ---------------------------------------------------------------------
# What people head their columns with, in Chinese and English (matched ignoring case, spaces
# and punctuation). Every importer builds its columns from these, so that a list exported
# from another system or typed by hand maps without renaming. The first name is the one the
# report and the error messages show.
PERSON_NAME_HEADERS = ("姓名", "name", "名字", "中文姓名", "中文名", "full name", "chinese name", "name zh", "联系人",
                       "联系人姓名", "客户姓名", "观众姓名", "contact", "contact name", "contact person")
PERSON_NAME_EN_HEADERS = ("英文名", "英文姓名", "english name", "name en", "拼音", "name (english)")
EMAIL_HEADERS = ("邮箱", "email", "电子邮件", "电子邮箱", "邮箱地址", "e-mail", "email address", "mail", "邮件")
PHONE_HEADERS = ("手机", "phone", "电话", "手机号", "手机号码", "移动电话", "联系电话", "mobile",
                 "mobile phone", "phone number", "tel", "telephone", "cell")
COMPANY_HEADERS = ("公司", "company", "单位", "公司名称", "工作单位", "单位名称", "企业", "企业名称", "organization",
                   "organisation", "company name", "employer")
COMPANY_EN_HEADERS = ("公司英文名", "英文公司名", "company en", "english company name", "company (english)")
JOB_TITLE_HEADERS = ("职位", "job title", "title", "职务", "岗位", "position")
BIRTH_DATE_HEADERS = ("出生日期", "生日", "birth date", "date of birth", "birthday", "dob")
COUNTRY_HEADERS = ("国家", "国家/地区", "国家地区", "country", "country/region")
REGION_HEADERS = ("省份", "省", "地区", "省/市", "province", "region", "state")
NOTES_HEADERS = ("备注", "说明", "notes", "note", "remarks", "comment", "comments")
# A company record's own names (the exhibitor and supplier lists: one company per row).
ORG_NAME_HEADERS = ("公司名称", "中文名称", "公司", "企业名称", "单位名称", "公司中文名", "中文公司名",
                    "company name (chinese)", "name_zh", "company name")
ORG_NAME_EN_HEADERS = ("英文名称", "公司英文名", "英文公司名", "company name (english)", "company", "english name",
                       "name_en")
LICENCE_HEADERS = ("统一社会信用代码", "信用代码", "社会信用代码", "营业执照号", "营业执照号码", "licence no",
                   "license no", "business licence number", "business license number", "uscc")


# --- the core contact import -------------------------------------------------------------------
NAME = Column("name", PERSON_NAME_HEADERS, required=True)
NAME_EN = Column("name_en", PERSON_NAME_EN_HEADERS)
EMAIL = Column("email", EMAIL_HEADERS, parse=parse_email, unique=True)
PHONE = Column("phone", PHONE_HEADERS, parse=parse_phone, unique=True)
COMPANY = Column("company", COMPANY_HEADERS)
COMPANY_EN = Column("company_en", COMPANY_EN_HEADERS)
JOB_TITLE = Column("job_title", JOB_TITLE_HEADERS)


def _contact_keys(values: dict) -> tuple:
    return person_keys(*split_name(values.get("name", ""), values.get("name_en", "")))


PERSON_COLUMNS = (NAME, NAME_EN, EMAIL, PHONE, COMPANY, COMPANY_EN, JOB_TITLE,
                  Column("keys", derive=_contact_keys))


def apply_person_rows(show, rows: list[tuple[int, dict]], dry_run: bool) -> ImportReport:
    """``apply_rows`` for a contact list (PERSON_COLUMNS): companies and people found or
    created in bulk, one transaction; a person already there counts as unchanged."""
    report = ImportReport()
    with transaction(dry_run=dry_run):
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
        for _pid, created in bulk_get_or_create_persons(records):
            if created:
                report.imported += 1
            else:
                report.unchanged += 1
        report.rejected = len({p.row for p in report.problems})
    return report
