"""CSV and XLSX exports: Chinese readable in Excel (BOM), every cell formula-safe."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pytest

from crm_expo.exports import csv_bytes, csv_response, safe_cell, xlsx_response

DANGEROUS = ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")']


@pytest.mark.parametrize("value", DANGEROUS)
def test_safe_cell_neutralises_formula_starts(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value,expected", [("张伟", "张伟"), ("a=b", "a=b"), ("", ""), (None, ""), (-5, -5),
                                            (3.5, 3.5), (dt.date(2027, 5, 10), dt.date(2027, 5, 10))])
def test_safe_cell_leaves_ordinary_values(value, expected):
    assert safe_cell(value) == expected


def test_csv_response_is_utf8_with_bom_attachment_and_formula_safe(app):
    rows = [["张伟", "+8613800138000", 3, dt.date(2027, 5, 10)], ["=1+2", "<b>x</b>", None, "a,\"b\"\nc"]]
    with app.test_request_context():
        resp = csv_response("参展商名单", ["姓名", "手机", "数量", "日期"], rows)
    body = resp.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    assert resp.mimetype == "text/csv"
    disp = resp.headers["Content-Disposition"]
    assert disp.startswith("attachment;") and "filename*=UTF-8''%E5%8F%82%E5%B1%95%E5%95%86%E5%90%8D%E5%8D%95.csv" in disp
    parsed = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert parsed == [["姓名", "手机", "数量", "日期"], ["张伟", "'+8613800138000", "3", "2027-05-10"],
                      ["'=1+2", "<b>x</b>", "", "a,\"b\"\nc"]]


def test_xlsx_response_cells_are_strings_never_formulas(app):
    with app.test_request_context():
        resp = xlsx_response("visitors.xlsx", ["name", "note", "n"], [[v, "张伟", 7] for v in DANGEROUS])
    data = resp.get_data()
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="visitors.xlsx"')
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml            # no formula element anywhere
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0] == ["name", "note", "n"]
    for row, original in zip(values[1:], DANGEROUS, strict=True):
        # (XML stores a carriage return as a line feed)
        assert row[0] == "'" + original.replace("\r", "\n") and row[1] == "张伟" and row[2] == 7
    assert all(row[0].data_type == "s" for row in ws.iter_rows(min_row=2))


def test_xlsx_drops_characters_excel_cannot_store(app):
    with app.test_request_context():
        resp = xlsx_response("x", ["a"], [["bell\x07name"]])
    ws = openpyxl.load_workbook(io.BytesIO(resp.get_data())).active
    assert ws["A2"].value == "bellname"


def test_exported_csv_imports_back_unchanged(app):
    """What we export, Excel users re-import: the round trip keeps names and contacts."""
    from crm_expo.contacts.importing import (
        PERSON_COLUMNS,
        apply_person_rows,
        run_import,
    )
    data = csv_bytes(["姓名", "公司", "手机", "邮箱"], [["张伟", "华为", "13800138000", "zw@example.com"]])
    report = run_import(None, data, "round.csv", "contacts", PERSON_COLUMNS, apply_person_rows)
    assert report.imported == 1 and report.exit_code == 0
