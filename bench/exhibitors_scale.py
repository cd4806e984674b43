"""Benchmark of the exhibitors and suppliers plugins at scale (not a test).

    python bench/exhibitors_scale.py [--exhibitors 20000] [--suppliers 500] [--import-rows 5000]
                                     [--database-url postgresql+psycopg://…]

Prints: time to generate N exhibitors (bulk inserts), list/search page times (count + first
page of 50, as the list page runs them), status counts, and a CSV import of M new rows;
with the machine it ran on. Default database: a fresh SQLite file in a temporary folder."""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time


def machine() -> str:
    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"nproc={os.cpu_count()} cpu={model} python={platform.python_version()}"


def timed(fn, repeat=1):
    runs = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - t0)
    return result, runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exhibitors", type=int, default=20000)
    parser.add_argument("--suppliers", type=int, default=500)
    parser.add_argument("--import-rows", type=int, default=5000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    import datetime as dt

    from sqlalchemy import func, select, text

    from crm_expo import create_app
    from crm_expo.contacts.importing import run_import
    from crm_expo.extensions import db
    from crm_expo.migrations import upgrade
    from crm_expo.operations import create_show
    from plugins.exhibitors import operations as ops
    from plugins.exhibitors.generate import generate as gen_exhibitors
    from plugins.exhibitors.importing import COLUMNS, apply_rows
    from plugins.suppliers.generate import generate as gen_suppliers

    root = tempfile.mkdtemp(prefix="bench-exhibitors-")
    url = args.database_url or "sqlite:///" + os.path.join(root, "bench.sqlite3")
    app = create_app({"SECRET_KEY": "bench", "INSTANCE_PATH": root, "DATABASE_URL": url, "DEFAULT_LOCALE": "en"})
    if url.startswith("postgresql"):
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(app)
    print(machine())
    print("database: " + url.split("@")[-1])
    with app.test_request_context(headers={"Accept-Language": "en"}):
        show = create_show("bench", "基准测试展", dt.date(2027, 5, 10), 3)
        _r, t = timed(lambda: gen_exhibitors(show, {"exhibitors": args.exhibitors}, random.Random("1:exhibitors")))
        print(f"generate {args.exhibitors} exhibitors: {t[0]:.2f} s ({args.exhibitors / t[0]:.0f} rows/s)")
        _r, t = timed(lambda: gen_suppliers(show, {"suppliers": args.suppliers}, random.Random("1:suppliers")))
        print(f"generate {args.suppliers} suppliers with catalogues: {t[0]:.2f} s")

        def page(**filters):
            stmt = ops.exhibitor_query(show, **filters)
            total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
            rows = db.session.scalars(stmt.limit(50)).all()
            [r.organization.name for r in rows]
            db.session.rollback()
            return total

        for label, filters in [("list page 1, no filter", {}), ("status=approved", {"status": "approved"}),
                               ("search q=长城", {"q": "长城"}), ("search pinyin q=changcheng", {"q": "changcheng"}),
                               ("search initials q=bjhr", {"q": "bjhr"}), ("country=FR", {"country": "FR"})]:
            total, runs = timed(lambda filters=filters: page(**filters), repeat=7)
            print(f"{label:<32} total={total:<6} median {statistics.median(runs) * 1000:.1f} ms "
                  f"(min {min(runs) * 1000:.1f}, max {max(runs) * 1000:.1f})")
        _r, runs = timed(lambda: ops.status_counts(show), repeat=7)
        print(f"{'status counts':<32} median {statistics.median(runs) * 1000:.1f} ms")

        lines = ["公司名称,英文名称,国家"] + [f"导入测试公司{i},Import Test {i},CN" for i in range(args.import_rows)]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        report, t = timed(lambda: run_import(show, data, "bench.csv", "exhibitors", COLUMNS, apply_rows))
        print(f"import {args.import_rows} new rows: {t[0]:.2f} s ({args.import_rows / t[0]:.0f} rows/s), "
              f"imported={report.imported} rejected={report.rejected}")
        report, t = timed(lambda: run_import(show, data, "bench.csv", "exhibitors", COLUMNS, apply_rows))
        print(f"re-import the same file: {t[0]:.2f} s, imported={report.imported} unchanged={report.unchanged}")


if __name__ == "__main__":
    main()
