"""Visitors at scale: time the import of N visitor rows from a CSV (the issue's figure: ≤ 10 s
for 100,000 rows) into an EMPTY database, then generate N other people and import N more rows
into a database that already holds them; then time the staff list (SQL count + a page,
filtered and searched) and the check-in lookup by badge code.

    python bench/visitors_scale.py [--n 100000] [--db URL] [--no-lists]

The import runs as `crm-expo import visitors` does (crm_expo.imports.run_import with the
visitors importer's batch size, outside a request: cells checked in a worker process).
Prints rows/s, wall and CPU seconds, a phase breakdown, the machine and its load average.
Default database: a fresh SQLite file in a temporary folder."""
from __future__ import annotations

import argparse
import gc
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
    ap.add_argument("--no-lists", action="store_true", help="time the imports only")
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
    gc.freeze()      # as the CLI does once the app is created (crm_expo.cli._create_app)
    print(machine())
    print(f"database: {url.split('@')[-1]}  n={args.n}")
    return app, args, tmp


def load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def write_csv(path: str, n: int, prefix: str, rng: random.Random) -> None:
    from plugins.visitors import bulk
    with open(path, "w", encoding="utf-8-sig") as fh:
        fh.write("姓名,英文姓名,邮箱,手机,公司,类别,同意营销,同意分享给参展商\n")
        for i in range(n):
            zh = rng.choice(bulk.SURNAMES) + rng.choice(bulk.GIVEN)
            phone = f"+861770{i:07d}" if prefix == "imp" else f"+861660{i:07d}"
            fh.write(f"{zh},,{prefix}{i}@example.org,{phone},公司{i % 3000},"
                     f"{rng.choice(['专业观众', '公众'])},{rng.choice(['是', '否'])},否\n")


def timed_import(show, path: str, n: int, label: str) -> None:
    """run_import as the CLI runs it, with the time of each phase (wall clock, this process)."""
    from crm_expo import database
    from crm_expo.contacts import duplicates, search
    from crm_expo.contacts import importing as imports
    from plugins.visitors import bulk
    phases: dict[str, float] = {}

    def timing(name, fn):
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - t0
        return wrapper

    saved = (imports.read_table, imports.checkpoint, bulk.apply_rows, bulk.bulk_register,
             duplicates.bulk_get_or_create_persons, duplicates.insert_person_rows, database.executemany)
    imports.read_table = timing("read file", imports.read_table)
    imports.checkpoint = timing("WAL checkpoint at the end", imports.checkpoint)
    apply_rows = timing("apply_rows (all database work + commit)", bulk.apply_rows)
    bulk.bulk_register = timing("  bulk_register", bulk.bulk_register)
    bulk.bulk_get_or_create_persons = timing("    find-or-create persons", duplicates.bulk_get_or_create_persons)
    duplicates.insert_person_rows = timing("      insert persons + tokens", duplicates.insert_person_rows)
    # executemany is bound by name in each module that uses it: time it where it runs
    bulk.executemany = search.executemany = timing("    INSERT executemany (all tables)", database.executemany)
    before = load()
    t, cpu, children = time.perf_counter(), time.process_time(), os.times().children_user
    try:
        report = imports.run_import(show, path, path, "visitors", bulk.COLUMNS, apply_rows,
                                    batch_size=bulk.BATCH_SIZE)
    finally:
        (imports.read_table, imports.checkpoint, bulk.apply_rows, bulk.bulk_register,
         bulk.bulk_get_or_create_persons, duplicates.insert_person_rows, database.executemany) = saved
        bulk.executemany = search.executemany = database.executemany
    el, cpu, children = time.perf_counter() - t, time.process_time() - cpu, os.times().children_user - children
    print(f"IMPORT {n:,} visitor rows into {label}: {el:.1f} s, {n / el:,.0f} rows/s "
          f"(CPU: {cpu:.1f} s this process + {children:.1f} s checking worker; load average before {before}, "
          f"after {load()})")
    print(f"  {report.summary()}")
    waited = el - sum(v for k, v in phases.items() if not k.startswith(" "))
    for name, v in phases.items():
        print(f"  {name}: {v:.2f} s")
    print(f"  rest (header, waiting for checked batches, progress): {waited:.2f} s")


def run(app, args, tmp):
    import datetime as dt

    from sqlalchemy import func, select

    from crm_expo.database import checkpoint
    from crm_expo.extensions import db
    from crm_expo.models import Person
    from crm_expo.operations import create_show
    from plugins.visitors import bulk
    from plugins.visitors import operations as ops
    from plugins.visitors.models import Registration

    with app.app_context():
        show = create_show("bench", "基准展会", dt.date(2027, 5, 10), 3)
        show2 = create_show("bench-2", "基准展会二", dt.date(2027, 9, 10), 3)
        path = os.path.join(tmp, "visitors.csv")
        write_csv(path, args.n, "imp", random.Random("csv"))
        timed_import(show, path, args.n, "empty database")

        t = time.perf_counter()
        bulk.generate(show2, {"visitors": args.n}, random.Random("bench"))
        checkpoint()     # as `crm-expo generate` does at its end: not left to the next import
        gen = time.perf_counter() - t
        people = db.session.scalar(select(func.count()).select_from(Person))
        print(f"generate {args.n} visitors (other people): {gen:.1f} s ({args.n / gen:,.0f}/s); "
              f"{people:,} people in the database now")
        path2 = os.path.join(tmp, "visitors2.csv")
        write_csv(path2, args.n, "new", random.Random("csv2"))
        timed_import(show2, path2, args.n, f"{people:,} people already there")
        if args.no_lists:
            return

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
