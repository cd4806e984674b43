"""The demo show: a realistic bilingual edition with a few hundred companies and people,
and one login per role. Loaded by ``crm-expo demo`` into an empty database only."""
from __future__ import annotations

import datetime as dt
import random

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
DEMO_COUNTS = {"exhibitors": 150, "visitors": 400, "suppliers": 24, "booths": 180, "scans": 600}


def load_demo(app: Flask, seed: int = 2027) -> bool:
    """Load the demo into an empty database. Returns False (and changes nothing) if any show
    or user exists already."""
    with app.app_context():
        if db.session.scalar(select(func.count()).select_from(Show)) or \
                db.session.scalar(select(func.count()).select_from(User)):
            return False
        start = dt.date.today() + dt.timedelta(days=30)
        show = create_show("food-expo-2027", "2027中国国际食品博览会", start, 3,
                           name_en="China International Food Expo 2027", venue="上海新国际博览中心 SNIEC",
                           halls=["W1", "W2", "E1"], timezone=app.config["TIMEZONE"],
                           currency=app.config["CURRENCY"], series="food-expo")
        past = create_show("food-expo-2026", "2026中国国际食品博览会", start - dt.timedelta(days=365), 3,
                           name_en="China International Food Expo 2026", venue="上海新国际博览中心 SNIEC",
                           halls=["W1", "W2"], timezone=app.config["TIMEZONE"], currency=app.config["CURRENCY"],
                           series="food-expo")
        past.status = "closed"
        show.status = "open"
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
