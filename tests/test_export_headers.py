"""CSV/XLSX exports: headers and code values in the reader's language, times in the show's
zone with the zone named — never the column names or codes of the database."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from plugins.visitors import operations as visitor_ops
from tests.factories import make_show, make_user

RAW = {"id", "category", "verification", "name_zh", "registered_at", "marketing_consent", "trade", "public",
       "pending", "verified", "yes", "no"}


def _csv(resp) -> list[list[str]]:
    assert resp.status_code == 200
    return list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))


def test_visitor_export_headers_and_values_in_both_languages(app, client):
    show = make_show("fair-2027")
    with app.test_request_context():
        visitor_ops.register_visitor(show, {"name_zh": "张伟", "email": "zw@example.com"}, "trade",
                                     consents={"marketing": True, "share_with_exhibitors": False}, source="staff")
    client.login(make_user("organizer", locale="en"))
    en = _csv(client.get(f"/shows/{show.slug}/visitors/export.csv"))
    assert en[0][:3] == ["Id", "Category", "Verification"]
    assert en[0][-1] == "Registered at (Asia/Shanghai)"
    assert en[1][1] == "Trade visitor" and en[1][9] == "yes"
    assert not RAW & set(en[0])

    client.post("/locale/zh", data={"csrf_token": client.csrf_token()})
    zh = _csv(client.get(f"/shows/{show.slug}/visitors/export.csv"))
    assert zh[0][:2] == ["编号", "类别"] and zh[0][-1].startswith("登记时间")
    assert zh[1][1] == "专业观众" and zh[1][9] == "是"
    assert not RAW & (set(zh[0]) | set(zh[1]))
    sheet = load_workbook(io.BytesIO(client.get(f"/shows/{show.slug}/visitors/export.xlsx").data)).active
    assert [c.value for c in next(sheet.iter_rows(max_row=1))][:2] == ["编号", "类别"]


def test_an_unknown_export_format_is_not_found(app, client):
    show = make_show("fair-2028")
    client.login(make_user("organizer"))
    assert client.get(f"/shows/{show.slug}/visitors/export.pdf").status_code == 404
