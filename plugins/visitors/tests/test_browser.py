"""A visitor registers on the public page in Chinese, in a real browser (Chromium)."""
from __future__ import annotations

from sqlalchemy import select

from crm_expo.extensions import db
from plugins.visitors.models import Registration
from tests.factories import make_show


def test_public_registration_in_chinese_with_qr_code_and_email(page, live_server, smtp_server):
    make_show("wine-2027", name_zh="国际葡萄酒博览会", name_en="Wine Expo 2027")
    db.session.remove()
    page.goto(f"{live_server}/shows/wine-2027/visitors/register")
    assert page.locator("h1").inner_text() == "Visitor registration"   # the browser says en-US
    page.click("#locale-switcher button")                               # → 中文
    page.wait_for_selector("text=观众登记")
    assert "国际葡萄酒博览会" in page.inner_text("main")
    page.check("input[name=category][value=trade]")
    page.fill("#name_zh", "赵敏")
    page.fill("#name_en", "Zhao Min")
    page.fill("#email", "zhao.min@example.com")
    page.fill("#phone", "139 1234 5678")
    page.fill("#company", "厦门恒泰酒业有限公司")
    page.check("input[name=consent_marketing][value=yes]")
    # Forgetting a consent answer is named on the page, and nothing is stored.
    page.click("#submit")
    assert page.locator("text=请选择是或否。").count() == 1
    page.check("input[name=consent_share][value=no]")
    page.click("#submit")
    page.wait_for_selector("#badge-qr")
    assert page.locator("h1").inner_text() == "您已成功登记"
    code = page.inner_text("#badge-code")
    assert len(code) == 12
    # The QR image really encodes the badge code.
    import base64
    import io

    import zxingcpp
    from PIL import Image
    src = page.get_attribute("#badge-qr", "src")
    img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
    assert [r.text for r in zxingcpp.read_barcodes(img)] == [code]
    assert "确认邮件已发送至 zhao.min@example.com" in page.inner_text("#mail-status")
    msg = smtp_server.wait(1)[0]
    assert msg["To"] == "zhao.min@example.com" and "国际葡萄酒博览会" in msg["Subject"]
    assert code in msg.get_body(("plain",)).get_content()
    db.session.remove()
    reg = db.session.scalar(select(Registration))
    assert reg.badge_code == code and reg.person.phone == "+8613912345678"
