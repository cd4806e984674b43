"""The supplier portal edits its own catalogue and contacts (audited, own organization only);
the organizer still overrides; the import upload page with a preview (issue #3)."""
import io
import re

from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.models import AuditEntry
from plugins.suppliers import operations as ops
from plugins.suppliers.models import Appointment, CatalogueItem, Supplier, SupplierContact
from tests.factories import make_show, make_user

from .helpers import item, official_supplier


def test_supplier_edits_its_own_items_and_contacts_only(client, app):
    show = make_show()
    mine = official_supplier(show, "我的租赁公司")
    theirs = official_supplier(show, "别家租赁公司")
    chair = item(show, mine, price=3000)
    their_chair = item(show, theirs, price=5000)
    their_contact = ops.add_contact(theirs, name_zh="赵六")
    user = make_user("supplier", org=mine.organization)
    client.login(user)
    form = client.get(f"/suppliers/portal/items/{chair.id}/edit").get_data(as_text=True)
    assert 'value="30.00"' in form, re.findall(r'<input[^>]*price[^>]*>', form)
    resp = client.form_post(f"/suppliers/portal/items/{chair.id}/edit", {
        "name_zh": "折叠椅（黑）", "name_en": "Folding chair", "category": "rental", "unit": "把", "price": "35",
        "currency": "CNY", "late_surcharge_pct": "20", "early_order_deadline": "2027-04-01",
        "final_order_deadline": "2027-05-01", "active": "y", "description": "<script>alert(1)</script>"})
    assert resp.status_code == 302
    db.session.expire_all()
    chair = db.session.get(CatalogueItem, chair.id)
    assert (chair.price_minor, chair.late_surcharge_pct, chair.name_zh) == (3500, 20, "折叠椅（黑）")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "supplier.item.update"))
    assert entry.user_id == user.id and entry.before["price_minor"] == 3000 and entry.after["price_minor"] == 3500
    portal = client.get("/suppliers/portal/").get_data(as_text=True)
    assert "¥35.00" in portal and "<script>alert(1)" not in portal
    # bad input: a message, nothing changed
    page = client.form_post(f"/suppliers/portal/items/{chair.id}/edit", {
        "name_zh": "折叠椅", "category": "rental", "price": "10", "currency": "CNY", "late_surcharge_pct": "0",
        "early_order_deadline": "2027-05-02", "final_order_deadline": "2027-05-01"}).get_data(as_text=True)
    assert "must not be after the final order deadline" in page
    db.session.expire_all()
    assert db.session.get(CatalogueItem, chair.id).price_minor == 3500
    # another organization's item or contact: 404, untouched
    assert client.get(f"/suppliers/portal/items/{their_chair.id}/edit").status_code == 404
    assert client.form_post(f"/suppliers/portal/items/{their_chair.id}/edit",
                            {"name_zh": "x", "category": "rental", "price": "1", "currency": "CNY",
                             "late_surcharge_pct": "0"}).status_code == 404
    assert client.form_post(f"/suppliers/portal/contacts/{their_contact.id}/remove").status_code == 404
    # a new item for a show it is appointed to, not for another show
    resp = client.form_post(f"/shows/{show.slug}/suppliers/portal/items", {
        "name_zh": "展示柜", "category": "rental", "unit": "个", "price": "800", "currency": "CNY",
        "late_surcharge_pct": "0", "active": "y"})
    assert resp.status_code == 302
    added = db.session.scalar(select(CatalogueItem).where(CatalogueItem.name_zh == "展示柜"))
    assert (added.price_minor, added.supplier_id, added.show_id) == (80000, mine.id, show.id)
    elsewhere = make_show()
    assert client.form_post(f"/shows/{elsewhere.slug}/suppliers/portal/items", {
        "name_zh": "x", "category": "rental", "price": "1", "currency": "CNY",
        "late_surcharge_pct": "0"}).status_code == 404
    # contacts: add, then remove
    client.form_post("/suppliers/portal/contacts", {"name_zh": "王强", "phone": "13800138000", "role": "项目经理"})
    contact = db.session.scalar(select(SupplierContact).where(SupplierContact.supplier_id == mine.id))
    assert contact.person.name_zh == "王强"
    assert "王强" in client.get("/suppliers/portal/").get_data(as_text=True)
    client.form_post(f"/suppliers/portal/contacts/{contact.id}/remove")
    assert db.session.scalar(select(func.count()).select_from(SupplierContact)
                             .where(SupplierContact.supplier_id == mine.id)) == 0
    assert db.session.get(SupplierContact, their_contact.id) is not None
    # the organizer's pages stay closed to the supplier; the organizer can still override
    assert client.get(f"/shows/{show.slug}/suppliers/{mine.id}/items/{chair.id}/edit").status_code == 403
    client.form_post("/auth/logout")
    client.login(make_user("organizer"))
    client.form_post(f"/shows/{show.slug}/suppliers/{mine.id}/items/{chair.id}/edit", {
        "name_zh": "折叠椅（黑）", "category": "rental", "price": "32", "currency": "CNY",
        "late_surcharge_pct": "20", "active": "y"})
    db.session.expire_all()
    assert db.session.get(CatalogueItem, chair.id).price_minor == 3200


def _import(client, show, data: bytes, filename="供应商.csv"):
    page = client.post(f"/shows/{show.slug}/suppliers/import", data={
        "csrf_token": client.csrf_token(), "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data").get_data(as_text=True)
    return page


def test_import_page_previews_a_gbk_file_then_imports_the_valid_rows(client, app):
    show = make_show()
    client.login(make_user("organizer"))
    assert client.get(f"/shows/{show.slug}/suppliers/import").status_code == 200
    gbk = ("公司名称,服务类别,电话,指定服务商\n"
           "上海保洁服务公司,清洁,13800138000,是\n"
           "北京烟花公司,烟花,,是\n"
           "杭州礼仪公司,礼仪,12345,否\n"
           "广州印刷厂,印刷,,否\n").encode("gbk")
    page = _import(client, show, gbk)
    assert "4 rows, 2 imported, 0 already there, 2 rejected" in page and "dry run" in page
    problems = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", page)
    assert [p[0] for p in problems] == ["3", "4"] and "烟花" in problems[0][2]
    assert db.session.scalar(select(func.count()).select_from(Supplier)) == 0     # preview wrote nothing
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    filename = re.search(r'name="filename" value="([^"]+)"', page).group(1)
    page = client.form_post(f"/shows/{show.slug}/suppliers/import", {"token": token, "filename": filename},
                            follow_redirects=True).get_data(as_text=True)
    assert "2 imported" in page and "dry run" not in page
    names = set(db.session.scalars(select(Supplier).join(Supplier.organization)).all())
    assert {s.name for s in names} == {"上海保洁服务公司", "广州印刷厂"}
    cleaner = next(s for s in names if s.name == "上海保洁服务公司")
    assert ops.appointment_for(show, cleaner) is not None
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1
    # the token is used up: a second confirmation imports nothing more
    page = client.form_post(f"/shows/{show.slug}/suppliers/import", {"token": token, "filename": filename},
                            follow_redirects=True).get_data(as_text=True)
    assert "has expired" in page
    # re-uploading the same file adds nothing
    page = _import(client, show, gbk)
    assert "0 imported, 2 already there" in page


def test_import_page_refuses_unreadable_files_and_other_roles(client, app):
    show = make_show()
    client.login(make_user("organizer"))
    page = _import(client, show, b"", "empty.csv")
    assert "empty" in page and 'name="token"' not in page
    page = _import(client, show, "名字,颜色\n甲,红\n".encode("gbk"))
    assert "no known column" in page
    page = client.form_post(f"/shows/{show.slug}/suppliers/import", {"token": "../../etc/passwd"})
    assert page.status_code == 400
    client.form_post("/auth/logout")
    client.login(make_user("account_manager"))
    assert client.get(f"/shows/{show.slug}/suppliers/import").status_code == 403
    client.form_post("/auth/logout")
    client.login(make_user("supplier"))   # of a company that takes no part in the show
    assert client.get(f"/shows/{show.slug}/suppliers/import").status_code == 404
