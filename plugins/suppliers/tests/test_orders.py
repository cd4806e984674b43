"""Exhibitor service orders: pricing at order time, refusals, the lifecycle, totals (issue #5)."""
import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from crm_expo import signals
from crm_expo.extensions import db
from crm_expo.models import AuditEntry
from plugins.suppliers import operations as ops
from plugins.suppliers.models import ServiceOrder, ServiceOrderLine
from tests.factories import make_show, make_user

from .helpers import approved_exhibitor, item, official_supplier

D = dt.date


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def setup(app):
    show = make_show()   # 2027-05-10 .. 2027-05-12
    ex = approved_exhibitor(show)
    sup = official_supplier(show)
    chair = item(show, sup, price=3000, surcharge=30, early=D(2027, 4, 10), final=D(2027, 5, 8))
    table = item(show, sup, name_zh="洽谈桌", name_en="Meeting table", price=8050, surcharge=15,
                 early=D(2027, 4, 10), final=D(2027, 5, 8))
    return show, ex, sup, chair, table


def test_early_order_is_priced_from_the_catalogue_and_stored_per_line(setup):
    show, ex, sup, chair, table = setup
    received = []

    def on_placed(order, **_kw):   # sent after commit: the order and its total are in the database
        received.append((order, db.session.scalar(select(ServiceOrder.total_minor).where(ServiceOrder.id == order.id))))
    signals.service_order_placed.connect(on_placed)
    try:
        [order] = ops.place_order(show, ex, [(chair.id, 4), (table.id, "1")], notes="A1-01 展位", today=D(2027, 4, 1))
    finally:
        signals.service_order_placed.disconnect(on_placed)
    assert received == [(order, 20050)]
    assert order.status == "placed" and order.supplier_id == sup.id and order.currency == "CNY"
    assert [(li.quantity, li.unit_price_minor, li.late, li.line_total_minor) for li in order.lines] == [
        (4, 3000, False, 12000), (1, 8050, False, 8050)]
    assert order.total_minor == 20050
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "supplier.order.place"))
    assert entry.object_id == str(order.id) and entry.after["total_minor"] == 20050


def test_late_order_pays_the_surcharge_and_a_later_price_change_does_not_rewrite_it(setup):
    show, ex, sup, chair, table = setup
    [order] = ops.place_order(show, ex, [(chair.id, 2), (table.id, 3)], today=D(2027, 4, 11))
    chair_line, table_line = order.lines
    assert (chair_line.list_price_minor, chair_line.surcharge_pct, chair_line.unit_price_minor) == (3000, 30, 3900)
    assert (table_line.unit_price_minor, table_line.late) == (9258, True)          # 8050 × 1.15 = 9257.5 → 9258
    assert order.total_minor == 2 * 3900 + 3 * 9258
    ops.update_item(chair, price_minor=9999, name_zh="新名字")
    db.session.expire_all()
    again = db.session.get(ServiceOrder, order.id)
    assert (again.lines[0].unit_price_minor, again.lines[0].name_zh, again.total_minor) == (3900, "折叠椅", 35574)


@pytest.mark.parametrize("lines, today, message", [
    ("chair:1", D(2027, 5, 9), "final order deadline was 2027-05-08"),
    ("chair:0", D(2027, 4, 1), "greater than 0"),
    ("chair:-2", D(2027, 4, 1), "greater than 0"),
    ("chair:100001", D(2027, 4, 1), "more than 100000"),
    ("chair:abc", D(2027, 4, 1), "greater than 0"),
    ("other_show:1", D(2027, 4, 1), "No catalogue item"),
    ("not_appointed:1", D(2027, 4, 1), "not an official contractor"),
    ("999999:1", D(2027, 4, 1), "No catalogue item 999999"),
    ("", D(2027, 4, 1), "Choose at least one item"),
    ("chair:1", D(2027, 5, 13), "is over"),
    ("withdrawn:1", D(2027, 4, 1), "no longer offered"),
])
def test_bad_orders_are_refused_whole_with_a_message(setup, lines, today, message):
    show, ex, sup, chair, table = setup
    other = make_show()
    elsewhere = item(other, official_supplier(other, name="别的展会服务商"))
    outsider = official_supplier(show, name="未指定服务商", appoint=False)
    unofficial = item(show, outsider, name_zh="私下报价")
    withdrawn = item(show, sup, name_zh="停售的桌子", active=False)
    ids = {"chair": chair.id, "other_show": elsewhere.id, "not_appointed": unofficial.id, "withdrawn": withdrawn.id}
    basket = [(table.id, 1)]   # a valid line too: it must not be written either
    if lines:
        key, qty = lines.split(":")
        basket.append((ids.get(key, key), qty))
    else:
        basket = []
    with pytest.raises(ops.SupplierError, match=message):
        ops.place_order(show, ex, basket, today=today)
    assert _count(ServiceOrder) == 0 and _count(ServiceOrderLine) == 0


def test_a_large_order_is_exact_in_64_bits(setup):
    show, ex, sup, chair, table = setup
    stand = item(show, sup, name_zh="特装展台", price=2_000_000_000, surcharge=0)   # ¥20 million a unit
    [order] = ops.place_order(show, ex, [(stand.id, 100_000)], today=D(2027, 4, 1))
    db.session.expire_all()
    assert db.session.get(ServiceOrder, order.id).total_minor == 200_000_000_000_000


def test_only_an_approved_exhibitor_of_the_show_may_order(setup):
    show, ex, sup, chair, table = setup
    from plugins.exhibitors import operations as exhibitor_ops
    pending = exhibitor_ops.create_exhibitor(show, name_zh="待审公司")
    with pytest.raises(ops.SupplierError, match="not an approved exhibitor"):
        ops.place_order(show, pending, [(chair.id, 1)], today=D(2027, 4, 1))
    other = make_show()
    with pytest.raises(ops.SupplierError, match="Only an exhibitor of this show"):
        ops.place_order(other, ex, [(chair.id, 1)], today=D(2027, 4, 1))
    assert _count(ServiceOrder) == 0


def test_a_basket_over_two_suppliers_becomes_one_order_per_supplier(setup):
    show, ex, sup, chair, table = setup
    power_co = official_supplier(show, name="国网展馆电力", categories="utilities")
    socket = item(show, power_co, name_zh="16A 电源", category="utilities", price=120000, surcharge=50)
    orders = ops.place_order(show, ex, [(chair.id, 10), (socket.id, 1), (chair.id, 2)], today=D(2027, 4, 1))
    assert sorted((o.supplier_id, o.total_minor) for o in orders) == sorted([(sup.id, 36000), (power_co.id, 120000)])
    chair_order = next(o for o in orders if o.supplier_id == sup.id)
    assert [li.quantity for li in chair_order.lines] == [12]          # the same item twice is one line
    totals = ops.totals_per_supplier(show)
    assert [(t["supplier_id"], t["orders"], t["total_minor"]) for t in totals] == [(power_co.id, 1, 120000),
                                                                                  (sup.id, 1, 36000)]


def test_lifecycle_is_audited_with_timestamps_and_refuses_wrong_moves(setup):
    show, ex, sup, chair, table = setup
    organizer = make_user("organizer")
    [order] = ops.place_order(show, ex, [(chair.id, 1)], today=D(2027, 4, 1))
    ops.confirm_order(order)
    assert order.status == "confirmed" and order.confirmed_at is not None
    with pytest.raises(ops.SupplierError, match="ask the organizer"):
        ops.cancel_order(order, "too expensive", by_organizer=False)
    with pytest.raises(ops.SupplierError, match="Give a reason"):
        ops.cancel_order(order, "  ", by_organizer=True)
    ops.deliver_order(order)
    assert order.status == "delivered" and order.delivered_at >= order.confirmed_at
    with pytest.raises(ops.SupplierError, match="cannot become"):
        ops.cancel_order(order, "late", by_organizer=True, user=organizer)
    [second] = ops.place_order(show, ex, [(table.id, 1)], today=D(2027, 4, 1))
    ops.cancel_order(second, "展位调整", by_organizer=False)
    assert (second.status, second.cancel_reason) == ("cancelled", "展位调整") and second.cancelled_at
    with pytest.raises(ops.SupplierError, match="Cancelled; it cannot become Confirmed"):
        ops.confirm_order(second)
    db.session.refresh(second)
    assert second.status == "cancelled" and second.confirmed_at is None
    actions = [e.action for e in ops.order_history(order)]
    assert actions == ["supplier.order.place", "supplier.order.confirmed", "supplier.order.delivered"]
    assert [e.after.get("reason") for e in ops.order_history(second)][-1] == "展位调整"
    # cancelled orders do not count in the supplier's totals
    assert [(t["orders"], t["total_minor"]) for t in ops.totals_per_supplier(show)] == [(1, 3000)]


def test_a_stale_order_cannot_be_moved_twice(setup):
    """Two people acting on the same order at once: the second one is told, nothing changes."""
    show, ex, sup, chair, table = setup
    [order] = ops.place_order(show, ex, [(chair.id, 1)], today=D(2027, 4, 1))
    assert order.status == "placed"          # what this user's page showed
    with db.engine.begin() as other:         # meanwhile, someone else cancels it
        other.execute(text("UPDATE suppliers_order SET status = 'cancelled', cancel_reason = 'x', "
                           "cancelled_at = CURRENT_TIMESTAMP WHERE id = :i"), {"i": order.id})
    with pytest.raises(ops.SupplierError, match="changed meanwhile"):
        ops.confirm_order(order)
    assert db.session.scalar(select(ServiceOrder.status).where(ServiceOrder.id == order.id)) == "cancelled"


@pytest.mark.parametrize("sql", [
    "UPDATE suppliers_order_line SET quantity = 0, line_total_minor = 0",
    "UPDATE suppliers_order_line SET line_total_minor = line_total_minor + 1",
    "UPDATE suppliers_order SET status = 'lost'",
    "UPDATE suppliers_order SET status = 'cancelled'",            # no reason, no time
    "UPDATE suppliers_order SET status = 'delivered'",            # never confirmed
    "UPDATE suppliers_order SET total_minor = -1",
])
def test_the_database_refuses_broken_orders(setup, sql):
    show, ex, sup, chair, table = setup
    ops.place_order(show, ex, [(chair.id, 2)], today=D(2027, 4, 1))
    with pytest.raises(IntegrityError):
        db.session.execute(text(sql))
        db.session.flush()
    db.session.rollback()


def test_supplier_contacts_can_be_removed_and_it_is_audited(app):
    sup = ops.create_supplier(name_zh="保洁公司", categories="cleaning")
    contact = ops.add_contact(sup, name_zh="李娜", role="经理")
    with pytest.raises(ops.SupplierError, match="No such contact"):
        ops.remove_contact(sup, contact.id + 100)
    ops.remove_contact(sup, contact.id)
    assert ops.get_supplier(sup.id).contacts == []
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "supplier.contact.remove"))


def test_the_organization_page_remembers_service_spend(setup):
    show, ex, sup, chair, table = setup
    ops.place_order(show, ex, [(chair.id, 5)], today=D(2027, 4, 1))
    [cancelled] = ops.place_order(show, ex, [(table.id, 1)], today=D(2027, 4, 1))
    ops.cancel_order(cancelled, "x", by_organizer=True)
    from crm_expo.contacts.history import customer_history
    entries = [e for e in customer_history(ex.organization) if e["kind"] == "suppliers.service_orders"]
    assert [e["show"].id for e in entries] == [show.id]
    assert entries[0]["value"].startswith("Orders: 1 · ") and entries[0]["value"].endswith("¥150.00")


def test_generate_adds_consistent_service_orders_deterministically(app):
    import random

    from plugins.exhibitors.generate import generate as generate_exhibitors
    from plugins.suppliers.generate import generate as generate_suppliers

    def run(show):
        generate_exhibitors(show, {"exhibitors": 60}, random.Random("5:exhibitors"))
        generate_suppliers(show, {"suppliers": 10}, random.Random("5:suppliers"))
        return db.session.execute(select(ServiceOrder.status, ServiceOrder.total_minor)
                                  .where(ServiceOrder.show_id == show.id).order_by(ServiceOrder.id)).all()
    a, b = make_show(), make_show()
    first, second = run(a), run(b)
    assert first == second and len(first) > 5
    # every order total is the sum of its lines (line totals are checked by the database)
    sums = db.session.execute(select(ServiceOrder.total_minor, func.sum(ServiceOrderLine.line_total_minor))
                              .join(ServiceOrderLine).group_by(ServiceOrder.id, ServiceOrder.total_minor)).all()
    assert all(total == lines for total, lines in sums)
    assert ops.totals_per_supplier(a)
