"""The demo show: a realistic bilingual edition with a few hundred companies and people,
and one login per role. Loaded by ``crm-expo demo`` into an empty database only.

The current edition is live: it opened yesterday (the show's time zone) and lasts three
days, so the desk admits badges today, exhibitors scan leads and the service centre has
open and overdue requests; the previous edition, a year earlier, is closed (its history
feeds loyalty and the reports). Everything but the dates is the same on every run."""
from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import func, select

from .extensions import db
from .models import Organization, Show, User
from .operations import create_show, create_user

DEMO_PASSWORD = "demo-password"
DEMO_USERS = (
    ("admin@demo.crm-expo.org", "admin"),
    ("organizer@demo.crm-expo.org", "organizer"),
    ("sales@demo.crm-expo.org", "account_manager"),
    ("service@demo.crm-expo.org", "service_agent"),
    ("desk@demo.crm-expo.org", "desk"),
    ("exhibitor@demo.crm-expo.org", "exhibitor"),
    ("supplier@demo.crm-expo.org", "supplier"),
)
# How much each plugin generates for the demo (through the same code as `crm-expo generate`).
DEMO_COUNTS = {"exhibitors": 150, "visitors": 400, "suppliers": 24, "booths": 180, "scans": 600, "requests": 40}


def load_demo(app: Flask, seed: int = 2027) -> bool:
    """Load the demo into an empty database. Returns False (and changes nothing) if any show
    or user exists already."""
    with app.app_context():
        if db.session.scalar(select(func.count()).select_from(Show)) or \
                db.session.scalar(select(func.count()).select_from(User)):
            return False
        today = dt.datetime.now(ZoneInfo(app.config["TIMEZONE"])).date()
        start = today - dt.timedelta(days=1)          # live: opened yesterday, three days
        past_start = _a_year_before(start)
        common = {"venue": "上海新国际博览中心 SNIEC", "timezone": app.config["TIMEZONE"],
                  "currency": app.config["CURRENCY"], "series": "food-expo"}
        past = create_show(f"food-expo-{past_start.year}", f"{past_start.year}中国国际食品博览会", past_start, 3,
                           name_en=f"China International Food Expo {past_start.year}", halls=["W1", "W2"], **common)
        show = create_show(f"food-expo-{start.year}", f"{start.year}中国国际食品博览会", start, 3,
                           name_en=f"China International Food Expo {start.year}", halls=["W1", "W2", "E1"], **common)
        past.status = "closed"
        show.status = "live"
        exhibitor_org = Organization(name_zh="上海美味食品有限公司", name_en="Shanghai Meiwei Foods Co., Ltd.",
                                     city="上海", email="info@meiwei-foods.example")
        supplier_org = Organization(name_zh="华展展览工程有限公司", name_en="Huazhan Exhibition Engineering",
                                    city="上海", email="service@huazhan.example")
        for org in (exhibitor_org, supplier_org):
            org.refresh_keys()
            db.session.add(org)
        db.session.commit()
        orgs = {"exhibitor": exhibitor_org, "supplier": supplier_org}
        for email, role in DEMO_USERS:
            create_user(email, DEMO_PASSWORD, role, organization_id=orgs[role].id if role in orgs else None,
                        name=role.replace("_", " ").title(), locale="")
        plugins = app.extensions["crm_expo_plugins"].values()
        for plugin in plugins:
            if plugin.generate is not None:
                plugin.generate(past, {k: v // 2 for k, v in DEMO_COUNTS.items()}, random.Random(f"{seed}:past:{plugin.name}"))
                plugin.generate(show, dict(DEMO_COUNTS), random.Random(f"{seed}:{plugin.name}"))
        for plugin in plugins:
            if plugin.demo is not None:
                plugin.demo(show, orgs, random.Random(f"{seed}:demo:{plugin.name}"))
        db.session.commit()
        return True


def _a_year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:          # 29 February
        return day.replace(year=day.year - 1, day=28)
