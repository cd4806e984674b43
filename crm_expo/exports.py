"""Exports to CSV and XLSX, safe to open in Excel / WPS.

Formula injection: a cell whose text starts with = + - @ (or a tab / carriage return) is run
as a formula by spreadsheet programs, so a visitor who registers as ``=HYPERLINK(...)`` could
attack the organizer who opens the list. CSV cells are prefixed with ``'`` (:func:`safe_cell`);
XLSX cells are written as typed strings, which Excel never evaluates, and prefixed as well so
that the value stays inert if the sheet is saved again as CSV.

CSV is UTF-8 with a BOM: without it Excel on a Chinese Windows reads UTF-8 as GBK and
shows garbled names.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from flask import Response

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: Any) -> Any:
    """The value made inert for a spreadsheet: text starting with = + - @ tab CR gets a
    leading ``'``. Numbers, dates and None pass unchanged (they cannot be formulas)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    return value


def _text(value: Any) -> str:
    value = safe_cell(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _disposition(filename: str) -> str:
    """Attachment header with an ASCII fallback and the real (maybe Chinese) name per RFC 6266."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def csv_bytes(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([_text(h) for h in header])
    for row in rows:
        writer.writerow([_text(v) for v in row])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def csv_response(filename: str, header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> Response:
    """A CSV download (UTF-8 with BOM, CRLF, every cell formula-safe)."""
    if not filename.lower().endswith(".csv"):
        filename += ".csv"
    resp = Response(csv_bytes(header, rows), mimetype=CSV_MIMETYPE)
    resp.headers["Content-Disposition"] = _disposition(filename)
    resp.headers["Cache-Control"] = "no-store"     # exports hold personal data
    return resp


def xlsx_bytes(header: Iterable[Any], rows: Iterable[Iterable[Any]], sheet_title: str = "export") -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet_title[:31] or "export")
    bold = Font(bold=True)

    def cell(value, header_row=False):
        value = safe_cell(value)
        if isinstance(value, str):
            c = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", value))
            c.data_type = "s"   # a string cell is never evaluated, whatever its text
        else:
            c = WriteOnlyCell(ws, value=value)
        if header_row:
            c.font = bold
        return c

    ws.append([cell(h, True) for h in header])
    for row in rows:
        ws.append([cell(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsx_response(filename: str, header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> Response:
    """An XLSX download (one sheet, bold header, every cell formula-safe)."""
    if not filename.lower().endswith(".xlsx"):
        filename += ".xlsx"
    resp = Response(xlsx_bytes(header, rows), mimetype=XLSX_MIMETYPE)
    resp.headers["Content-Disposition"] = _disposition(filename)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def sheet_time(value: dt.datetime | None) -> str:
    """A stored (naive UTC) timestamp as a sheet shows it: in the show's zone (the one time-zone
    rule of the pages), one sortable format whatever the language ("2027-01-06 09:12")."""
    if value is None:
        return ""
    from .i18n import local_datetime
    return local_datetime(value, "yyyy-MM-dd HH:mm")


def time_header(title: str) -> str:
    """A timestamp column's header names its zone: "Registered at (Asia/Shanghai)"."""
    from .i18n import show_timezone
    return f"{title} ({show_timezone()})"


# The extension a download gets from the type its bytes were found to be at upload.
UPLOAD_EXTENSIONS = {"application/pdf": (".pdf",), "image/png": (".png",), "image/jpeg": (".jpg", ".jpeg")}


def download_name(filename: str, content_type: str) -> str:
    """``filename`` with the extension of ``content_type``: a PDF uploaded as ``x.html`` goes
    back as ``x.html.pdf``, so no program opens it as a page."""
    extensions = UPLOAD_EXTENSIONS.get(content_type)
    if not extensions or (filename or "").lower().endswith(extensions):
        return filename
    return (filename or "download") + extensions[0]

