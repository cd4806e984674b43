"""`crm-expo generate --suppliers N`: service companies with categories, appointed to the
show, each with a small priced catalogue, and service orders of the show's approved
exhibitors to them. Deterministic for a seed; bulk inserts."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import insert, select

from crm_expo.contacts.keys import name_key, search_keys, sort_key
from crm_expo.contacts.search import index_organizations
from crm_expo.extensions import db
from crm_expo.models import Organization
from plugins.exhibitors.models import Exhibitor

from .models import CATEGORIES, Appointment, CatalogueItem, ServiceOrder, ServiceOrderLine, Supplier

CITIES = [("上海", "Shanghai"), ("北京", "Beijing"), ("广州", "Guangzhou"), ("深圳", "Shenzhen"), ("成都", "Chengdu")]
TRADE = {"design": ("展览工程", "Exhibition Engineering"), "rental": ("展具租赁", "Exhibition Rental"),
         "transport": ("国际物流", "Logistics"), "advertising": ("广告传媒", "Advertising"),
         "logistics": ("会展服务", "Event Services"), "catering": ("餐饮管理", "Catering"),
         "security": ("保安服务", "Security Services"), "utilities": ("机电工程", "Power & Network"),
         "cleaning": ("保洁服务", "Cleaning Services"), "printing": ("印务", "Printing"),
         "hostesses": ("礼仪文化", "Hostess Agency")}
ITEMS = {"design": [("标准展台", "Shell scheme stand", "m²", 45000)], "rental": [("折叠椅", "Folding chair", "把", 3000),
         ("洽谈桌", "Meeting table", "张", 8000)], "transport": [("叉车服务", "Forklift service", "小时", 30000)],
         "advertising": [("场馆横幅", "Hall banner", "条", 200000)], "logistics": [("储物间", "Storage room", "天", 50000)],
         "catering": [("工作餐", "Staff lunch", "份", 4500)], "security": [("展台保安", "Stand guard", "人·天", 60000)],
         "utilities": [("16A电源", "16A power socket", "个", 90000), ("宽带接入", "Internet line", "条", 150000)],
         "cleaning": [("展台清洁", "Stand cleaning", "次", 20000)], "printing": [("喷绘", "Large-format print", "m²", 6000)],
         "hostesses": [("礼仪服务", "Hostess", "人·天", 80000)]}


def generate(show, counts: dict, rng: random.Random) -> None:
    n = int(counts.get("suppliers") or 0)
    if n <= 0:
        return
    codes = list(CATEGORIES)
    base = (db.session.scalar(select(db.func.max(Organization.id))) or 0) + 1
    start_day = show.start or dt.date.today()
    orgs, cats = [], []
    for i in range(n):
        main = rng.choice(codes)
        extra = rng.sample(codes, rng.randint(0, 1))
        city_zh, city_en = rng.choice(CITIES)
        zh, en = TRADE[main]
        o = {"name_zh": f"{city_zh}{zh}有限公司{base + i}", "name_en": f"{city_en} {en} Co. {base + i}", "country": "CN"}
        o["search_keys"] = search_keys(o["name_zh"], o["name_en"])
        o["sort_name"] = sort_key(o["name_zh"])
        o["name_key"], o["name_en_key"] = name_key(o["name_zh"]), name_key(o["name_en"])
        orgs.append(o)
        cats.append(" ".join(dict.fromkeys([main] + extra)))
    org_ids = list(db.session.scalars(insert(Organization).returning(Organization.id, sort_by_parameter_order=True), orgs))
    index_organizations(org_ids)
    sup_ids = list(db.session.scalars(insert(Supplier).returning(Supplier.id, sort_by_parameter_order=True),
                                      [{"organization_id": o, "categories": c, "notes": ""} for o, c in zip(org_ids, cats, strict=True)]))
    db.session.execute(insert(Appointment), [{"show_id": show.id, "supplier_id": s, "categories": c}
                                             for s, c in zip(sup_ids, cats, strict=True)])
    items = []
    for s, c in zip(sup_ids, cats, strict=True):
        for code in c.split():
            for name_zh, name_en, unit, price in ITEMS[code]:
                items.append({"show_id": show.id, "supplier_id": s, "name_zh": name_zh, "name_en": name_en,
                              "category": code, "unit": unit, "price_minor": price, "currency": show.currency,
                              "early_order_deadline": start_day - dt.timedelta(days=30), "late_surcharge_pct":
                              rng.choice([0, 20, 30, 50]), "final_order_deadline": start_day - dt.timedelta(days=7),
                              "active": True})
    db.session.execute(insert(CatalogueItem), items)
    _orders(show, rng, start_day)
    db.session.commit()


ORDER_STATUS_WEIGHTS = {"placed": 25, "confirmed": 35, "delivered": 30, "cancelled": 10}


def _orders(show, rng: random.Random, start_day: dt.date) -> None:
    """About one exhibitor in two orders 1–3 items of one supplier, priced as item_price would
    on the order day (late surcharge after the early deadline), spread over the 60 days before
    the show's final deadline."""
    exhibitor_ids = list(db.session.scalars(select(Exhibitor.id).where(Exhibitor.show_id == show.id,
                                                                       Exhibitor.status == "approved")
                                            .order_by(Exhibitor.id)))
    items = db.session.execute(select(CatalogueItem).where(CatalogueItem.show_id == show.id)
                               .order_by(CatalogueItem.id)).scalars().all()
    if not exhibitor_ids or not items:
        return
    by_supplier: dict[int, list] = {}
    for it in items:
        by_supplier.setdefault(it.supplier_id, []).append(it)
    supplier_ids = sorted(by_supplier)
    statuses, weights = list(ORDER_STATUS_WEIGHTS), list(ORDER_STATUS_WEIGHTS.values())
    orders, baskets = [], []
    for ex_id in exhibitor_ids:
        if rng.random() >= 0.5:
            continue
        sup_id = rng.choice(supplier_ids)
        chosen = rng.sample(by_supplier[sup_id], min(len(by_supplier[sup_id]), rng.randint(1, 3)))
        day = start_day - dt.timedelta(days=rng.randint(7, 67))
        placed = dt.datetime.combine(day, dt.time(rng.randint(1, 10), rng.randint(0, 59)))
        lines = []
        for it in chosen:
            late = it.early_order_deadline is not None and day > it.early_order_deadline
            unit = (it.price_minor * (100 + it.late_surcharge_pct) + 50) // 100 if late else it.price_minor
            qty = rng.randint(1, 20)
            lines.append({"item_id": it.id, "name_zh": it.name_zh, "name_en": it.name_en, "category": it.category,
                          "unit": it.unit, "quantity": qty, "list_price_minor": it.price_minor,
                          "surcharge_pct": it.late_surcharge_pct if late else 0, "unit_price_minor": unit,
                          "line_total_minor": unit * qty, "late": late})
        status = rng.choices(statuses, weights)[0]
        later = placed + dt.timedelta(hours=rng.randint(2, 48))
        orders.append({"show_id": show.id, "exhibitor_id": ex_id, "supplier_id": sup_id, "status": status,
                       "currency": chosen[0].currency, "total_minor": sum(li["line_total_minor"] for li in lines),
                       "notes": "", "cancel_reason": "展位调整" if status == "cancelled" else "", "placed_at": placed,
                       "confirmed_at": later if status in ("confirmed", "delivered") else None,
                       "delivered_at": later + dt.timedelta(days=7) if status == "delivered" else None,
                       "cancelled_at": later if status == "cancelled" else None, "placed_by_id": None})
        baskets.append(lines)
    if not orders:
        return
    order_ids = list(db.session.scalars(
        insert(ServiceOrder).returning(ServiceOrder.id, sort_by_parameter_order=True), orders))
    db.session.execute(insert(ServiceOrderLine), [dict(li, order_id=oid) for oid, lines in zip(order_ids, baskets, strict=True)
                                                  for li in lines])


def demo(show, orgs: dict, rng: random.Random) -> None:
    """The demo supplier login's company: an official stand builder and furniture / power
    contractor of the demo show with a small catalogue, and one order from the demo exhibitor,
    so both portals show the ordering loop."""
    from plugins.exhibitors.operations import exhibitor_for_organization

    from . import operations as ops
    supplier = ops.create_supplier(organization=orgs["supplier"], categories="design,rental,utilities")
    ops.appoint(show, supplier, "design,rental,utilities")
    # Late orders (30 % more) are taken until the last show day: the stand builder's
    # service desk rents furniture and power on site too, so the portal can order today.
    common = {"early_order_deadline": show.start - dt.timedelta(days=14), "late_surcharge_pct": 30,
              "final_order_deadline": show.end}
    items = [ops.add_item(show, supplier, name_zh=zh, name_en=en, category=cat, unit=unit, price_minor=price, **common)
             for zh, en, cat, unit, price in (
                 ("洽谈桌（圆桌）", "Meeting table (round)", "rental", "件 piece", 28000),
                 ("折叠椅", "Folding chair", "rental", "件 piece", 6000),
                 ("16A 三相电源", "Power 16 A three-phase", "utilities", "路 line", 180000),
                 ("有线网络 10 Mbps", "Wired internet 10 Mbps", "utilities", "条 line", 120000))]
    exhibitor = exhibitor_for_organization(show, orgs["exhibitor"].id)
    if exhibitor is not None:
        ops.place_order(show, exhibitor, [(items[0].id, 1), (items[1].id, 4), (items[2].id, 1)],
                        notes="demo")
