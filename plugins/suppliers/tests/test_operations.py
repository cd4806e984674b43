"""Suppliers, official-contractor appointments and the priced service catalogue."""
import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from crm_expo.extensions import db
from crm_expo.models import AuditEntry
from plugins.suppliers import operations as ops
from plugins.suppliers.models import CatalogueItem
from tests.factories import make_org, make_show

D = dt.date


def _item(show, supplier, **kw):
    values = dict(name_zh="标准展台搭建", name_en="Shell scheme stand", category="design", unit="m²",
                  price_minor=45000, early_order_deadline=D(2027, 4, 10), late_surcharge_pct=30,
                  final_order_deadline=D(2027, 5, 1))
    values.update(kw)
    return ops.add_item(show, supplier, **values)


def test_supplier_is_one_per_organization_and_appointed_per_show(app):
    show = make_show()
    sup = ops.create_supplier(name_zh="上海会展搭建有限公司", categories="design rental")
    assert sup.category_list == ["design", "rental"]
    with pytest.raises(ops.SupplierError, match="already a supplier"):
        ops.create_supplier(name_zh="上海会展搭建有限公司")
    assert ops.supplier_for_organization(sup.organization_id) is sup
    with pytest.raises(ops.SupplierError, match="Unknown service category: fireworks"):
        ops.create_supplier(name_zh="烟花公司", categories=["fireworks"])
    appointment = ops.appoint(show, sup, ["design"])
    again = ops.appoint(show, sup, ["design", "rental"])        # changes, never duplicates
    assert again.id == appointment.id and again.category_list == ["design", "rental"]
    assert [a.supplier_id for a in ops.appointments_for_show(show)] == [sup.id]
    with pytest.raises(IntegrityError):
        db.session.execute(text("INSERT INTO suppliers_appointment (show_id, supplier_id, categories, appointed_at) "
                                "VALUES (:s, :p, '', CURRENT_TIMESTAMP)"), {"s": show.id, "p": sup.id})
    db.session.rollback()


def test_item_price_early_late_and_after_the_final_deadline(app):
    show = make_show()
    sup = ops.create_supplier(name_zh="搭建商")
    item = _item(show, sup)
    assert ops.item_price(item, D(2027, 4, 10)) == (45000, False)     # on the deadline: still early
    assert ops.item_price(item, D(2027, 4, 11)) == (58500, True)      # +30 %
    assert ops.item_price(item, D(2027, 5, 1)) == (58500, True)
    with pytest.raises(ops.SupplierError, match="final order deadline was 2027-05-01"):
        ops.item_price(item, D(2027, 5, 2))
    odd = _item(show, sup, price_minor=333, late_surcharge_pct=15)
    assert ops.item_price(odd, D(2027, 4, 20)) == (383, True)          # 382.95 rounded half up, no float
    free = _item(show, sup, early_order_deadline=None, final_order_deadline=None)
    assert ops.item_price(free, D(2030, 1, 1)) == (45000, False)


@pytest.mark.parametrize("field, value, message", [
    ("price_minor", -1, "The price cannot be negative"),
    ("late_surcharge_pct", -5, "The late surcharge cannot be negative"),
    ("price_minor", 12.5, "whole number"),
    ("category", "fireworks", "Unknown service category"),
    ("currency", "RMBX", "Unknown currency"),
    ("final_order_deadline", D(2027, 4, 1), "early-order deadline must not be after"),
    ("name_zh", "", "needs a name"),
])
def test_bad_catalogue_items_are_refused_with_a_message(app, field, value, message):
    show = make_show()
    sup = ops.create_supplier(name_zh="搭建商")
    kw = {field: value}
    if field == "name_zh":
        kw["name_en"] = ""
    with pytest.raises(ops.SupplierError, match=message):
        _item(show, sup, **kw)
    assert db.session.scalar(select(db.func.count()).select_from(CatalogueItem)) == 0


def test_negative_price_is_refused_by_the_database_too(app):
    show = make_show()
    sup = ops.create_supplier(name_zh="搭建商")
    item = _item(show, sup)
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE suppliers_catalogue_item SET price_minor = -100 WHERE id = :i"), {"i": item.id})
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE suppliers_catalogue_item SET late_surcharge_pct = -1 WHERE id = :i"),
                           {"i": item.id})
    db.session.rollback()
    assert db.session.get(CatalogueItem, item.id).price_minor == 45000


def test_catalogue_lists_active_items_of_the_show_and_price_changes_are_audited(app):
    show, other = make_show(), make_show()
    sup = ops.create_supplier(name_zh="租赁公司", categories="rental")
    chair = _item(show, sup, name_zh="折叠椅", category="rental", price_minor=3000)
    table = _item(show, sup, name_zh="洽谈桌", category="rental", price_minor=8000)
    _item(other, sup, name_zh="别的展会", category="rental")
    _item(show, sup, name_zh="停售", category="design", active=False)
    assert {i.id for i in ops.catalogue_for_show(show)} == {chair.id, table.id}
    assert [i.id for i in ops.catalogue_for_show(show, "design")] == []
    ops.update_item(chair, price_minor=3500)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "supplier.item.update"))
    assert entry.before == {"price_minor": 3000} and entry.after == {"price_minor": 3500}


def test_contacts_and_filters(app):
    org = make_org("北京保安服务公司")
    sup = ops.create_supplier(organization=org, categories=["security"])
    ops.create_supplier(name_zh="印刷厂", categories=["printing"])
    contact = ops.add_contact(sup, name_zh="王强", phone="13800138000", role="项目经理")
    assert contact.person.organization_id == org.id
    ids = [s.id for s in db.session.scalars(ops.supplier_query(category="security"))]
    assert ids == [sup.id]
    assert [s.id for s in db.session.scalars(ops.supplier_query(q="baoan"))] == [sup.id]
