"""Visitors at scale: generate N registrations, import N more from a CSV, then time the staff
list (SQL count + a page, filtered and searched) and the check-in lookup by badge code.

    python bench/visitors_scale.py [--n 100000] [--db URL]

Default database: a fresh SQLite file in a temporary folder. Prints figures and the machine."""
from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"nproc={os.cpu_count()} cpu={cpu!r} python={platform.python_version()}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--db", default="")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="visitors-bench-")
    url = args.db or "sqlite:///" + os.path.join(tmp, "bench.sqlite3")

    from crm_expo import create_app
    from crm_expo.extensions import db
    from crm_expo.migrations import upgrade
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench", "PLUGINS": "visitors"})
    if url.startswith("postgresql"):
        from sqlalchemy import text
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(app)
    print(machine())
    print(f"database: {url.split('@')[-1]}  n={args.n}")
    return app, args, tmp


def run(app, args, tmp):
    import datetime as dt

    from sqlalchemy import func, select

    from crm_expo.extensions import db
    from crm_expo.imports import run_import
    from crm_expo.operations import create_show
    from plugins.visitors import bulk
    from plugins.visitors import operations as ops
    from plugins.visitors.models import Registration

    with app.test_request_context():
        show = create_show("bench", "基准展会", dt.date(2027, 5, 10), 3)
        t = time.perf_counter()
        bulk.generate(show, {"visitors": args.n}, random.Random("bench"))
        gen = time.perf_counter() - t
        print(f"generate {args.n} visitors: {gen:.1f} s ({args.n / gen:,.0f}/s)")

        path = os.path.join(tmp, "visitors.csv")
        rng = random.Random("csv")
        with open(path, "w", encoding="utf-8-sig") as fh:
            fh.write("姓名,英文姓名,邮箱,手机,公司,类别,同意营销,同意分享给参展商\n")
            for i in range(args.n):
                zh = rng.choice(bulk.SURNAMES) + rng.choice(bulk.GIVEN)
                fh.write(f"{zh},,imp{i}@example.org,+861770{i:07d},公司{i % 3000},"
                         f"{rng.choice(['专业观众', '公众'])},{rng.choice(['是', '否'])},否\n")
        t = time.perf_counter()
        report = run_import(show, path, path, "visitors", bulk.COLUMNS, bulk.apply_rows)
        imp = time.perf_counter() - t
        print(f"import {args.n} rows (CSV): {imp:.1f} s; {report.summary()}")

        total = db.session.scalar(select(func.count()).select_from(Registration))
        for label, filters in (("all", {}), ("category=public", {"category": "public"}),
                               ("consent=marketing", {"consent": "marketing"}), ("q=zhang", {"q": "zhang"}),
                               ("sort=name page 100", {"sort": "name"})):
            stmt = ops.visitor_query(show, **filters)
            t = time.perf_counter()
            n = ops.count(stmt)
            page = 100 if "page 100" in label else 1
            rows = db.session.scalars(stmt.limit(50).offset((page - 1) * 50)).all()
            _ = [r.person.name_zh for r in rows]
            print(f"list {label}: {n} of {total} in {1000 * (time.perf_counter() - t):.0f} ms (count + page of 50)")
        codes = list(db.session.scalars(select(Registration.badge_code).limit(5000)))
        t = time.perf_counter()
        for c in codes:
            reg, badge = ops.registration_by_code(show, c)
            assert reg is not None
        el = time.perf_counter() - t
        print(f"registration_by_code: {len(codes)} lookups, {1e6 * el / len(codes):.0f} µs each")


if __name__ == "__main__":
    run(*main())
