"""HTTP tests of the visitors pages: public self-registration and the staff pages."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.models import Person
from plugins.visitors import operations as ops
from plugins.visitors.models import Registration
from tests.factories import make_show, make_user

CONSENTS = {"marketing": True, "share_with_exhibitors": False}
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def form_data(client, url, **kw):
    page = client.get(url).get_data(as_text=True)
    data = {"csrf_token": CSRF.search(page).group(1), "category": "trade", "name_zh": "王芳",
            "name_en": "Wang Fang", "email": "wang.fang@example.com", "phone": "13912345678",
            "company": "杭州鑫达贸易有限公司", "job_title": "采购经理", "concession": "",
            "consent_marketing": "yes", "consent_share": "no", "website": ""}
    data.update(kw)
    return data


def registrations() -> int:
    db.session.remove()
    return db.session.scalar(select(func.count()).select_from(Registration))


def test_public_registration_in_chinese_ends_on_the_qr_code_and_sends_mail(client, smtp_server):
    show = make_show("food-2027")
    url = "/shows/food-2027/visitors/register"
    page = client.get(url, headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "观众登记" in page or "登记" in page
    resp = client.post(url, data=form_data(client, url), headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    done = client.get(resp.headers["Location"], headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    reg = db.session.scalar(select(Registration))
    assert reg.badge_code in done and "data:image/png;base64," in done
    msg = smtp_server.wait(1)[0]
    assert msg["To"] == "wang.fang@example.com"
    body = msg.get_body(("plain",)).get_content()
    assert reg.badge_code in body
    assert reg.person.consent("marketing") and not reg.person.consent("share_with_exhibitors")
    assert reg.source == "self" and reg.verification == "pending"
    assert show.id == reg.show_id


def test_confirmation_page_is_only_for_the_browser_that_registered(client, app):
    make_show("food-2027")
    other = app.test_client()
    assert other.get("/shows/food-2027/visitors/register/done").status_code == 302


@pytest.mark.parametrize("field, value, message", [
    ("email", "not-an-email", "email"),
    ("phone", "123", "phone"),
    ("consent_marketing", None, "yes or no"),
    ("consent_share", None, "yes or no"),
])
def test_public_registration_refuses_bad_input_and_stores_nothing(client, field, value, message):
    make_show("food-2027")
    url = "/shows/food-2027/visitors/register"
    data = form_data(client, url)
    if value is None:
        data.pop(field)
    else:
        data[field] = value
    resp = client.post(url, data=data)
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert registrations() == 0


def test_honeypot_bot_is_refused(client):
    make_show("food-2027")
    url = "/shows/food-2027/visitors/register"
    resp = client.post(url, data=form_data(client, url, website="http://spam.example"))
    assert resp.status_code == 400
    assert registrations() == 0


def test_missing_csrf_is_refused(client):
    make_show("food-2027")
    data = form_data(client, "/shows/food-2027/visitors/register")
    data.pop("csrf_token")
    assert client.post("/shows/food-2027/visitors/register", data=data).status_code in (400, 422)
    assert registrations() == 0


def test_html_in_fields_is_shown_escaped(client, smtp_server):
    show = make_show("food-2027")
    url = "/shows/food-2027/visitors/register"
    resp = client.post(url, data=form_data(client, url, name_en="<script>alert(1)</script>", name_zh=""))
    assert resp.status_code == 302
    done = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in done and "&lt;script&gt;" in done
    staff = make_user("organizer")
    client.login(staff)
    listing = client.get(f"/shows/{show.slug}/visitors/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing and "<script>alert(1)" not in listing
    assert show


def test_too_many_registrations_from_one_address_get_429(client, app):
    make_show("food-2027")
    url = "/shows/food-2027/visitors/register"
    statuses = []
    for i in range(12):
        data = form_data(client, url, email=f"bad{i}", name_zh=f"测试{i}")   # invalid: nothing stored
        statuses.append(client.post(url, data=data).status_code)
    assert statuses[:10] == [422] * 10 and statuses[-1] == 429
    assert registrations() == 0


def test_unknown_show_is_404(client):
    assert client.get("/shows/nope/visitors/register").status_code == 404


# --- staff pages -----------------------------------------------------------------------
def _register(show, i, category="trade", **kw):
    fields = {"name_zh": f"访客{i}", "email": f"v{i}@example.com"}
    fields.update(kw)
    return ops.register_visitor(show, fields, category, consents=kw.pop("consents", CONSENTS), source="staff")


def test_staff_list_filters_searches_and_pages(client, app):
    show = make_show("food-2027")
    with app.test_request_context():
        for i in range(60):
            _register(show, i, "trade" if i % 3 else "public")
        ops.register_visitor(show, {"name_zh": "张伟", "email": "zw@example.com"}, "media",
                             consents=CONSENTS, source="staff")
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/visitors/").get_data(as_text=True)
    assert "61 in all" in page.replace("\u00a0", " ") or "61" in page
    assert page.count('<tr class="">') == 50
    page2 = client.get(f"/shows/{show.slug}/visitors/?page=2").get_data(as_text=True)
    assert page2.count('<tr class="">') == 11
    publics = client.get(f"/shows/{show.slug}/visitors/?category=public").get_data(as_text=True)
    assert publics.count('<tr class="">') == 20
    found = client.get(f"/shows/{show.slug}/visitors/?q=zhangwei").get_data(as_text=True)
    assert "张伟" in found and found.count('<tr class="">') == 1
    found = client.get(f"/shows/{show.slug}/visitors/?q=zw").get_data(as_text=True)
    assert "张伟" in found
    # counted: 60 trade/public, the media person is not a visitor
    assert "60 counted" in client.get(f"/shows/{show.slug}/visitors/").get_data(as_text=True)


def test_portal_users_cannot_see_visitors(client):
    show = make_show()
    client.login(make_user("exhibitor"))
    assert client.get(f"/shows/{show.slug}/visitors/").status_code == 404   # its company takes no part


def test_detail_verify_and_replace_badge(client, app):
    show = make_show("food-2027")
    with app.test_request_context():
        reg = _register(show, 1)
    old = reg.badge_code
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/visitors/{reg.id}").get_data(as_text=True)
    assert old in page
    token = CSRF.search(page).group(1)
    resp = client.post(f"/shows/{show.slug}/visitors/{reg.id}/verify", data={"csrf_token": token, "decision": "rejected", "note": ""},
                       follow_redirects=True)
    assert "Say why" in resp.get_data(as_text=True)
    client.post(f"/shows/{show.slug}/visitors/{reg.id}/verify", data={"csrf_token": token, "decision": "verified", "note": "card ok"})
    db.session.remove()
    assert db.session.get(Registration, reg.id).verification == "verified"
    client.post(f"/shows/{show.slug}/visitors/{reg.id}/badge", data={"csrf_token": token, "reason": "badge lost"})
    db.session.remove()
    new = db.session.get(Registration, reg.id).badge_code
    assert new != old
    page = client.get(f"/shows/{show.slug}/visitors/{reg.id}").get_data(as_text=True)
    assert "badge lost" in page and old in page and new in page


def test_business_card_upload_is_checked_and_served_as_attachment(client, app):
    from PIL import Image
    show = make_show("food-2027")
    with app.test_request_context():
        reg = _register(show, 1)
    client.login(make_user("organizer"))
    token = CSRF.search(client.get(f"/shows/{show.slug}/visitors/{reg.id}").get_data(as_text=True)).group(1)
    evil = client.post(f"/shows/{show.slug}/visitors/{reg.id}/card", data={
        "csrf_token": token, "company": "", "card": (io.BytesIO(b"<script>alert(1)</script>"), "card.png")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "JPEG or PNG" in evil.get_data(as_text=True)
    buf = io.BytesIO()
    Image.new("RGB", (30, 20), "red").save(buf, "JPEG")
    client.post(f"/shows/{show.slug}/visitors/{reg.id}/card", data={
        "csrf_token": token, "company": "杭州鑫达", "card": (io.BytesIO(buf.getvalue()), "名片.jpg")},
        content_type="multipart/form-data")
    card = ops.business_cards(db.session.get(Registration, reg.id))[0]
    resp = client.get(f"/shows/{show.slug}/visitors/{reg.id}/card/{card.id}")
    assert resp.status_code == 200 and resp.data == buf.getvalue()
    assert resp.headers["Content-Type"] == "image/jpeg"
    assert resp.headers["Content-Disposition"].startswith("attachment")


def test_edit_page_validates(client, app):
    show = make_show("food-2027")
    with app.test_request_context():
        reg_id = _register(show, 1).id
    client.login(make_user("organizer"))
    url = f"/shows/{show.slug}/visitors/{reg_id}/edit"
    page = client.get(url).get_data(as_text=True)
    token = CSRF.search(page).group(1)
    data = {"csrf_token": token, "name_zh": "访客1", "name_en": "", "email": "broken@", "phone": "",
            "company": "", "job_title": "", "category": "public", "concession": "",
            "consent_marketing": "no", "consent_share": "yes"}
    resp = client.post(url, data=data)
    assert resp.status_code == 200 and "email" in resp.get_data(as_text=True).lower()
    db.session.remove()
    assert db.session.get(Registration, reg_id).category == "trade"
    data["email"] = "new@example.com"
    assert client.post(url, data=data).status_code == 302
    db.session.remove()
    reg = db.session.get(Registration, reg_id)
    assert reg.category == "public" and reg.person.email == "new@example.com"
    assert reg.person.consent("share_with_exhibitors") and not reg.person.consent("marketing")


def test_export_is_formula_safe_and_respects_consent(client, app):
    show = make_show("food-2027")
    with app.test_request_context():
        _register(show, 1, name_zh="=HYPERLINK(\"http://evil\")", consents={"marketing": True,
                                                                          "share_with_exhibitors": False})
        _register(show, 2, consents={"marketing": False, "share_with_exhibitors": False})
    client.login(make_user("organizer"))
    resp = client.get(f"/shows/{show.slug}/visitors/export.csv")
    assert resp.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    by_email_present = {r[3]: r[7] for r in rows[1:]}
    assert by_email_present["'=HYPERLINK(\"http://evil\")"] == "v1@example.com"
    assert by_email_present["访客2"] == ""          # no marketing consent: no contact details
    xlsx = client.get(f"/shows/{show.slug}/visitors/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    desk = app.test_client()
    desk.login(make_user("desk"))
    assert desk.get(f"/shows/{show.slug}/visitors/export.csv").status_code == 403


def test_admission_rules_page(client, app):
    show = make_show("food-2027")
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/visitors/rules").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    resp = client.post(f"/shows/{show.slug}/visitors/rules", data={"csrf_token": token, "category": "public",
                                                "day": show.days[0].date.isoformat(), "min_age": "15",
                                                "price": "80", "concession_price": "40", "note": "",
                                                "admitted": "y"}, follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert "Rule added" in text and "40.00" in text
    resp = client.post(f"/shows/{show.slug}/visitors/rules", data={"csrf_token": token, "category": "public", "day": "",
                                                "price": "abc", "concession_price": "", "note": ""})
    assert "Not an amount" in resp.get_data(as_text=True)
    assert len(ops.admission_rules(show)) == 1


def test_import_page_previews_then_imports(client, app):
    show = make_show("food-2027")
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/visitors/import").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    content = ("姓名,邮箱,手机,公司,类别,同意营销\n"
               "李雷,lilei@example.com,13800000001,上海食品有限公司,专业观众,是\n"
               "韩梅梅,hanmeimei@example.com,13800000002,,公众,否\n"
               "坏行,not-an-email,,,,\n"
               "=cmd,evil@example.com,,,,\n").encode("gb18030")
    resp = client.post(f"/shows/{show.slug}/visitors/import", data={"csrf_token": token, "file": (io.BytesIO(content), "visitors.csv")},
                       content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert "dry run" in text and "2 imported" in text and "2 rejected" in text
    assert registrations() == 0
    token2 = re.search(r'id="token" name="token" type="hidden" value="([^"]+)"', text).group(1)
    done = client.post(f"/shows/{show.slug}/visitors/import/confirm", data={"csrf_token": token, "token": token2}).get_data(as_text=True)
    assert "2 imported" in done
    assert registrations() == 2
    p = db.session.scalar(select(Person).where(Person.email == "lilei@example.com"))
    assert p.consent("marketing") and p.phone == "+8613800000001"
    assert show


def test_questions_page_adds_a_question_that_the_public_form_asks(client, app, smtp_server):
    show = make_show("food-2027")
    staff = app.test_client()
    staff.login(make_user("organizer"))
    token = CSRF.search(staff.get(f"/shows/{show.slug}/visitors/questions").get_data(as_text=True)).group(1)
    bad = staff.post(f"/shows/{show.slug}/visitors/questions", data={"csrf_token": token, "key": "industry", "label_zh": "行业",
                                                  "kind": "single", "choices": "", "position": "0"})
    assert "needs choices" in bad.get_data(as_text=True)
    staff.post(f"/shows/{show.slug}/visitors/questions", data={"csrf_token": token, "key": "industry", "label_zh": "所属行业",
                                            "label_en": "Industry", "kind": "single", "required": "y",
                                            "choices": "food | 食品 | Food\nwine | 酒类 | Wine", "position": "0"})
    url = "/shows/food-2027/visitors/register"
    page = client.get(url).get_data(as_text=True)
    assert "Industry" in page and 'value="wine"' in page
    resp = client.post(url, data=form_data(client, url))
    assert resp.status_code == 422 and "Please answer “Industry”" in resp.get_data(as_text=True)
    assert client.post(url, data=form_data(client, url, q_industry="wine")).status_code == 302
    db.session.remove()
    assert db.session.scalar(select(Registration)).answers == {"industry": "wine"}
    assert show
