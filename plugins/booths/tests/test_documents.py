"""Printed documents (text extracted with pypdf, Chinese included), the CSV import and the
price-deviation export."""
import io

from pypdf import PdfReader
from sqlalchemy import func, select

from crm_expo.extensions import db
from plugins.booths import operations as ops
from plugins.booths.models import Booth
from tests.factories import make_user

from .helpers import booth_show, make_exhibitor


def text_of(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def test_contract_and_invoice_are_bilingual_and_numbered(client):
    show = booth_show()
    ex = make_exhibitor(show, "杭州茶叶有限公司")
    b = ops.hold_booth(show, "A101", ex.id)
    ops.reserve(b)
    ops.record_payment(b, 270_000, reference="TT-778")
    client.login(make_user("organizer"))
    resp = client.get(f"/shows/{show.slug}/booths/booking/{b.id}/contract.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = text_of(resp.data)
    for expected in ("展位合同", "Booth contract", "C-00001", "杭州茶叶有限公司", "A101", "9,000.00 CNY", "定金"):
        assert expected in text, expected
    payment_id = db.session.scalar(select(func.max(ops.Payment.id)))
    inv = text_of(client.get(f"/shows/{show.slug}/booths/payment/{payment_id}/invoice.pdf").data)
    assert "I-00001" in inv and "2,700.00 CNY" in inv and "TT-778" in inv and "收款发票" in inv


def test_floor_plan_pdf_and_booth_report(client, app):
    show = booth_show(3)
    ex = make_exhibitor(show, "北京展台公司")
    b = ops.hold_booth(show, "A102", ex.id)
    ops.reserve(b)
    client.login(make_user("organizer"))
    text = text_of(client.get(f"/shows/{show.slug}/booths/plan.pdf").data)
    assert "A101" in text and "A103" in text and "北京展台公司" in text and "图例" in text
    from plugins.booths.pdf import booths_report
    report = text_of(booths_report(show))
    assert "1 / 1" in report and show.name in report and "(Asia/Shanghai)" in report
    assert "Net m² contracted" in report and "9" in report and "UFI" in report


def test_import_booths_csv_report_and_overlaps(app, tmp_path):
    slug = booth_show(0).slug
    good = tmp_path / "booths.csv"
    good.write_text("code,hall,x,y,width,depth,type,open_sides\n"
                    "B1,B,0,0,3,3,标准展位,1\nB2,B,3,0,3,3,corner,2\nB3,B,10,10,6,6,raw,1\n", encoding="utf-8-sig")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "booths", str(good), "--show", slug])
    assert result.exit_code == 0, result.output
    assert "3 imported" in result.output
    again = runner.invoke(args=["import", "booths", str(good), "--show", slug])
    assert again.exit_code == 0 and "3 already there" in again.output
    bad = tmp_path / "overlap.csv"
    bad.write_text("code,hall,x,y,width,depth,type,open_sides\n"
                   "C1,B,1,1,3,3,shell,1\nC2,B,20,20,3,3,shell,1\nC3,B,21,21,3,3,shell,9\n", encoding="utf-8")
    result = runner.invoke(args=["import", "booths", str(bad), "--show", slug])
    assert result.exit_code == 1
    assert "row 2" in result.output and "C1 overlaps booth B1" in result.output
    assert "row 4" in result.output and "open sides" in result.output
    db.session.remove()
    codes = set(db.session.scalars(select(Booth.code)).all())
    assert codes == {"B1", "B2", "B3", "C2"}
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert runner.invoke(args=["import", "booths", str(empty), "--show", slug]).exit_code == 2


def test_price_deviation_page_and_formula_safe_export(client):
    show = booth_show()
    author, approver = make_user("organizer"), make_user("admin")
    b = ops.hold_booth(show, "A101", make_exhibitor(show, "=HYPERLINK(1)").id)
    ops.request_price_exception(b, 800_000, "=cmd|' /C calc'!A0", author)
    ops.approve_price_exception(b, approver)
    client.login(approver)
    page = client.get(f"/shows/{show.slug}/booths/deviations").get_data(as_text=True)
    assert "A101" in page and "8,000.00" in page
    csv = client.get(f"/shows/{show.slug}/booths/deviations.csv").get_data(as_text=True)
    assert "'=cmd" in csv and "'=HYPERLINK" in csv


def test_the_floor_plan_prints_one_page_per_hall_with_its_legend_and_every_code(app):
    from io import BytesIO

    from pypdf import PdfReader

    from plugins.booths.pdf import floor_plan_pdf
    show = booth_show(0)
    halls = ("A", "B", "C")
    codes = []
    for h in halls:
        for i in range(12):
            code = f"{h}{100 + i}"
            ops.add_booth(show, h, code, (i % 6) * 4, (i // 6) * 4, 3, 3, "shell", 1)
            codes.append(code)
    ex = make_exhibitor(show, "上海明辉国际贸易有限公司长名称测试")
    ops.reserve(ops.hold_booth(show, "A100", ex.id))
    reader = PdfReader(BytesIO(floor_plan_pdf(show)))
    assert len(reader.pages) == len(halls)
    for page, hall in zip(reader.pages, halls, strict=True):
        text = page.extract_text()
        assert f"Hall {hall}" in text and "图例 Legend" in text and f"/ {len(halls)}" in text
    everything = "".join(p.extract_text() for p in reader.pages)
    assert all(code in everything for code in codes)
