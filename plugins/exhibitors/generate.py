"""`crm-expo generate --exhibitors N`: realistic bilingual exhibitors, deterministic for a
seed, inserted in bulk (a few statements per thousand rows, no per-row ORM work)."""
from __future__ import annotations

import random

from sqlalchemy import insert, select

from crm_expo.contacts.keys import name_key, search_keys, sort_key
from crm_expo.contacts.search import index_organizations
from crm_expo.extensions import db
from crm_expo.models import Organization

from .models import Exhibitor, ExhibitorCategory, ExhibitorCategoryLink

CITIES = [("北京", "Beijing", "北京"), ("上海", "Shanghai", "上海"), ("广州", "Guangzhou", "广东"),
          ("深圳", "Shenzhen", "广东"), ("杭州", "Hangzhou", "浙江"), ("成都", "Chengdu", "四川"),
          ("青岛", "Qingdao", "山东"), ("烟台", "Yantai", "山东"), ("宁夏", "Ningxia", "宁夏"), ("天津", "Tianjin", "天津")]
WORDS = [("华润", "Huarun"), ("金龙", "Jinlong"), ("长城", "Great Wall"), ("东方", "Oriental"), ("盛世", "Shengshi"),
         ("恒信", "Hengxin"), ("丰收", "Harvest"), ("瑞丰", "Ruifeng"), ("海天", "Haitian"), ("天润", "Tianrun"),
         ("百佳", "Baijia"), ("嘉禾", "Jiahe"), ("新元", "Xinyuan"), ("中粮", "Zhongliang"), ("鸿运", "Hongyun"),
         ("绿源", "Lvyuan"), ("博雅", "Boya"), ("万家", "Wanjia"), ("凯旋", "Kaixuan"), ("信达", "Xinda")]
TRADES = [("酒业", "Wine"), ("食品", "Foods"), ("贸易", "Trading"), ("科技", "Technology"), ("饮料", "Beverages"),
          ("葡萄酒庄", "Winery"), ("进出口", "Import & Export"), ("农业", "Agriculture")]
FOREIGN = [("FR", "Château {w}", "Bordeaux"), ("IT", "{w} Vini", "Toscana"), ("ES", "Bodegas {w}", "Rioja"),
           ("AU", "{w} Estate", "South Australia"), ("CL", "Viña {w}", "Maipo"), ("DE", "Weingut {w}", "Mosel")]
FOREIGN_WORDS = ["Montclair", "Bellevue", "Aurora", "Santa Rita", "Lindenhof", "Riverside", "Valmont", "Corona"]
DEFAULT_CATEGORIES = [("wine", "葡萄酒", "Wine"), ("spirits", "烈酒", "Spirits"), ("beer", "啤酒", "Beer"),
                      ("food", "食品", "Food"), ("equipment", "设备与包装", "Equipment & packaging")]
STATUS_WEIGHTS = {"applied": 15, "under_review": 15, "approved": 55, "rejected": 5, "withdrawn": 10}


def _company(rng: random.Random, n: int) -> dict:
    if rng.random() < 0.2:
        country, pattern, region = rng.choice(FOREIGN)
        name_en = pattern.format(w=rng.choice(FOREIGN_WORDS)) + f" {n}"
        return {"name_zh": "", "name_en": name_en, "country": country, "region": region}
    city_zh, city_en, province = rng.choice(CITIES)
    word_zh, word_en = rng.choice(WORDS)
    trade_zh, trade_en = rng.choice(TRADES)
    # The serial keeps names unique at any scale, as real company names are.
    return {"name_zh": f"{city_zh}{word_zh}{trade_zh}有限公司{n}", "name_en": f"{city_en} {word_en} {trade_en} Co., Ltd. {n}",
            "country": "CN", "region": province}


def generate(show, counts: dict, rng: random.Random) -> None:
    n = int(counts.get("exhibitors") or 0)
    if n <= 0:
        return
    cat_ids = list(db.session.scalars(select(ExhibitorCategory.id).where(ExhibitorCategory.show_id == show.id)
                                          .order_by(ExhibitorCategory.id)))
    if not cat_ids:
        cat_ids = list(db.session.scalars(insert(ExhibitorCategory).returning(ExhibitorCategory.id, sort_by_parameter_order=True),
                                          [{"show_id": show.id, "code": c, "name_zh": zh, "name_en": en}
                                           for c, zh, en in DEFAULT_CATEGORIES]))
    base = (db.session.scalar(select(db.func.max(Organization.id))) or 0) + 1
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    for start in range(0, n, 5000):
        size = min(5000, n - start)
        orgs = []
        for i in range(size):
            c = _company(rng, base + start + i)
            c["search_keys"] = search_keys(c["name_zh"], c["name_en"])
            c["sort_name"] = sort_key(c["name_zh"] or c["name_en"])
            c["name_key"], c["name_en_key"] = name_key(c["name_zh"]), name_key(c["name_en"])   # duplicate keys
            orgs.append(c)
        org_ids = list(db.session.scalars(insert(Organization).returning(Organization.id, sort_by_parameter_order=True), orgs))
        index_organizations(org_ids)
        rows = [{"show_id": show.id, "organization_id": oid, "status": rng.choices(statuses, weights)[0],
                 "kind": "main", "country": o["country"], "region": o["region"], "notes": "", "status_reason": ""}
                for oid, o in zip(org_ids, orgs, strict=True)]
        for r in rows:
            if r["status"] in ("rejected", "withdrawn"):
                r["status_reason"] = rng.choice(["资质不全", "展位预算调整", "Product certificates missing",
                                                 "Changed plans"])
        ex_ids = list(db.session.scalars(insert(Exhibitor).returning(Exhibitor.id, sort_by_parameter_order=True), rows))
        links = [{"exhibitor_id": eid, "category_id": cid}
                 for eid in ex_ids for cid in rng.sample(cat_ids, rng.randint(1, min(2, len(cat_ids))))]
        db.session.execute(insert(ExhibitorCategoryLink), links)
        db.session.commit()


def demo(show, orgs: dict, rng: random.Random) -> None:
    """The demo exhibitor login's company takes part in the demo show: it applied, its business
    licence was uploaded and accepted, and it was approved — the qualification review of
    DOMAIN.md's wine-fair case, so its portal and the ordering and booking pages have a
    company to work with."""
    import io

    from reportlab.pdfgen import canvas

    from .operations import add_document, change_status, create_exhibitor, missing_documents, review_document
    ex = create_exhibitor(show, organization=orgs["exhibitor"], status="under_review", country="CN",
                          region="上海", notes="demo")
    for kind, _why in missing_documents(ex):
        buf = io.BytesIO()
        pdf = canvas.Canvas(buf)
        pdf.drawString(72, 760, f"Demo document: {kind} - {orgs['exhibitor'].name_en}")
        pdf.save()
        review_document(add_document(ex, kind, f"{kind}.pdf", buf.getvalue()), "accepted")
    change_status(ex, "approved")
