"""Badge PDFs: QR codes a standard decoder reads, names, sizes, the print log and reprints."""
from __future__ import annotations

import io

import pypdfium2
import pytest
import zxingcpp
from pypdf import PdfReader
from sqlalchemy import func, select

from crm_expo.extensions import db
from plugins.onsite import operations as ops
from plugins.onsite.models import BadgePrint

from .helpers import register, today_show


def decoded_codes(pdf: bytes) -> list[str]:
    codes = []
    doc = pypdfium2.PdfDocument(pdf)
    for page in doc:
        image = page.render(scale=3).to_pil()
        codes += [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]
    return codes


@pytest.mark.parametrize("size,pages", [("a6", 5), ("a4x4", 2), ("90x130", 5)])
def test_badges_carry_decodable_qr_names_and_category(app, request_ctx, size, pages):
    show = today_show()
    regs = [register(show, "trade", name_zh=f"王芳{i}", name_en=f"Wang Fang {i}", company="广州酒业有限公司")
            for i in range(5)]
    pdf = ops.print_badges(show, regs, size)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == pages
    text = "".join(p.extract_text() for p in reader.pages)
    assert "王芳0" in text and "Wang Fang 4" in text and "广州酒业有限公司" in text and "Trade visitor" in text
    assert text.count(show.name_zh) == 5          # each badge says which show it is for
    assert sorted(decoded_codes(pdf)) == sorted(r.badge_code for r in regs)


def test_reprint_needs_reason_and_lost_badge_gets_new_code(app, request_ctx):
    show = today_show()
    reg = register(show)
    ops.print_badges(show, [reg], "a6")
    with pytest.raises(ops.OnsiteError, match="reprint needs a reason"):
        ops.print_badges(show, [reg], "a6")
    old = reg.badge_code
    pdf = ops.reprint_lost_badge(show, reg, "lost at the entrance")
    assert reg.badge_code != old and decoded_codes(pdf) == [reg.badge_code]
    log = db.session.execute(select(BadgePrint.code, BadgePrint.reprint, BadgePrint.reason)
                             .order_by(BadgePrint.id)).all()
    assert log == [(old, False, ""), (reg.badge_code, True, "lost at the entrance")]
    assert ops.print_count(show) == {"printed": 1, "reprinted": 1}
    # the old badge no longer opens the gate
    assert ops.check_in(show, old, "A")["reason_code"] == "revoked"


def test_bad_size_and_other_show_refused_nothing_logged(app, request_ctx):
    show, other = today_show(), today_show()
    reg = register(other)
    with pytest.raises(ops.OnsiteError, match="Unknown badge size"):
        ops.print_badges(other, [reg], "poster")
    with pytest.raises(ops.OnsiteError, match="another show"):
        ops.print_badges(show, [reg], "a6")
    assert db.session.scalar(select(BadgePrint.id)) is None


def test_batch_printing_page_prints_one_category_once(client, app):
    from tests.factories import make_user
    show = today_show()
    with app.test_request_context():
        trade = [register(show, "trade") for _ in range(3)]
        register(show, "public")
    client.login(make_user("organizer"))
    resp = client.form_post(f"/shows/{show.slug}/onsite/badges", {"category": "trade", "size": "a4x4", "only_unprinted": "y"})
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert sorted(decoded_codes(resp.data)) == sorted(r.badge_code for r in trade)
    again = client.form_post(f"/shows/{show.slug}/onsite/badges", {"category": "trade", "size": "a4x4", "only_unprinted": "y"})
    assert "No badges to print." in again.get_data(as_text=True)


def test_print_on_checkin_prints_a_first_badge_once_never_a_reprint(client, app):
    """The desk's automatic print (?auto=1): the first print is a PDF and logged; a badge
    printed before is answered 409 with the reprint link, and nothing is logged."""
    from plugins.onsite.models import BadgePrint
    from tests.factories import make_user

    from .helpers import register, today_show
    show = today_show()
    reg = register(show)
    client.login(make_user("desk"))
    url = f"/shows/{show.slug}/onsite/desk/badge/{reg.id}?auto=1"
    assert client.get(url).status_code == 405         # a print is recorded: never on a GET
    assert client.post(url).status_code == 400        # nor on a post without the CSRF token
    assert db.session.scalar(select(func.count()).select_from(BadgePrint)) == 0
    first = client.form_post(url)
    assert first.status_code == 200 and first.headers["Content-Type"] == "application/pdf"
    again = client.form_post(url)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "printed_before"
    assert again.get_json()["error"]["reprint_url"].endswith(f"/shows/{show.slug}/onsite/desk/reprint/{reg.id}")
    assert db.session.scalar(select(func.count()).select_from(BadgePrint)) == 1


def test_one_first_print_per_badge_in_the_database(app):
    """Two desks printing the same new badge at once: the database keeps one first print."""
    from sqlalchemy.exc import IntegrityError
    show = today_show()
    reg = register(show)
    ops.print_badges(show, [reg], "a6")
    db.session.add(BadgePrint(show_id=show.id, registration_id=reg.id, code=reg.badge_code, size="a6"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    ops.print_badges(show, [reg], "a6", reason="lost")      # a reprint with a reason is fine
    assert [p.reprint for p in db.session.scalars(select(BadgePrint).order_by(BadgePrint.id))] == [False, True]
