"""Shared set-up of the booths benchmarks (not a test)."""
from __future__ import annotations

import os
import platform


def machine() -> str:
    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((l.split(":", 1)[1].strip() for l in fh if l.startswith("model name")), model)
    except OSError:
        pass
    return f"nproc={os.cpu_count()} cpu={model} python={platform.python_version()}"


def fresh_app(url: str, instance: str):
    """An app on a freshly migrated database (PostgreSQL: the schema is dropped first)."""
    from sqlalchemy import text

    from crm_expo import create_app
    from crm_expo.extensions import db
    from crm_expo.migrations import upgrade
    cfg = {"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": instance, "PASSWORD_HASH_FAST": True,
           "DEFAULT_LOCALE": "en"}
    app = create_app(cfg)
    if url.startswith("postgresql"):
        with app.app_context():
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            db.engine.dispose()
    upgrade(app)
    return app


def add_exhibitors(show, n: int) -> list[int]:
    from crm_expo.extensions import db
    from crm_expo.models import Organization
    from plugins.exhibitors.models import Exhibitor
    orgs = [Organization(name_zh=f"基准公司{i}", name_en=f"Bench Co {i}") for i in range(n)]
    db.session.add_all(orgs)
    db.session.flush()
    exs = [Exhibitor(show_id=show.id, organization_id=o.id, status="approved", kind="main") for o in orgs]
    db.session.add_all(exs)
    db.session.commit()
    return [e.id for e in exs]
