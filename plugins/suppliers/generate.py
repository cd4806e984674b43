"""`crm-expo generate --suppliers N`: service companies with categories, appointed to the
show, each with a small priced catalogue. Deterministic for a seed; bulk inserts."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import insert, select

from crm_expo.extensions import db
from crm_expo.models import Organization
from crm_expo.search import search_keys, sort_key

from .models import CATEGORIES, Appointment, CatalogueItem, Supplier

try:
    from crm_expo.search import name_key
except ImportError:
    name_key = None

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
        if name_key is not None:
            o["name_key"], o["name_en_key"] = name_key(o["name_zh"]), name_key(o["name_en"])
        orgs.append(o)
        cats.append(" ".join(dict.fromkeys([main] + extra)))
    org_ids = list(db.session.scalars(insert(Organization).returning(Organization.id, sort_by_parameter_order=True), orgs))
    try:
        from crm_expo.customers import index_organizations
        index_organizations(org_ids)
    except ImportError:
        pass
    sup_ids = list(db.session.scalars(insert(Supplier).returning(Supplier.id, sort_by_parameter_order=True),
                                      [{"organization_id": o, "categories": c, "notes": ""} for o, c in zip(org_ids, cats)]))
    db.session.execute(insert(Appointment), [{"show_id": show.id, "supplier_id": s, "categories": c}
                                             for s, c in zip(sup_ids, cats)])
    items = []
    for s, c in zip(sup_ids, cats):
        for code in c.split():
            for name_zh, name_en, unit, price in ITEMS[code]:
                items.append({"show_id": show.id, "supplier_id": s, "name_zh": name_zh, "name_en": name_en,
                              "category": code, "unit": unit, "price_minor": price, "currency": show.currency,
                              "early_order_deadline": start_day - dt.timedelta(days=30), "late_surcharge_pct":
                              rng.choice([0, 20, 30, 50]), "final_order_deadline": start_day - dt.timedelta(days=7),
                              "active": True})
    db.session.execute(insert(CatalogueItem), items)
    db.session.commit()
