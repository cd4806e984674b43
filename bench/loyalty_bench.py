"""Loyalty benchmark (not a test): N organizations with 10 editions of imported history,
then every model recomputed for the current show, the segment list page p95, the organization
page p95, and a 100,000-row history import. Prints the figures and the machine.

    PYTHONPATH=$PWD python3 bench/loyalty_bench.py [--orgs 50000] [--url postgresql+psycopg://…]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.booths_common import fresh_app, machine  # noqa: E402


def p95(values):
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orgs", type=int, default=50_000)
    ap.add_argument("--import-rows", type=int, default=100_000)
    ap.add_argument("--url", default="")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="loyalty-bench-")
    url = args.url or f"sqlite:///{tmp}/bench.sqlite3"
    app = fresh_app(url, tmp)
    from crm_expo.contacts.keys import name_key, search_keys, sort_key
    from crm_expo.database import executemany, new_ids, transaction, utcnow
    from crm_expo.extensions import db
    from crm_expo.models import Organization
    from crm_expo.operations import create_show, create_user
    from plugins.loyalty import operations as ops
    from plugins.loyalty.models import Participation
    rng = random.Random(1)
    print(machine(), "db:", url.split(":")[0], "load:", os.getloadavg())
    with app.app_context():
        shows = []
        for year in range(2016, 2027):
            s = create_show(f"bench-{year}", f"{year}基准展", dt.date(year, 5, 10), 3, series="bench")
            s.status = "closed" if year < 2026 else "open"
            shows.append(s)
        db.session.commit()
        now = shows[-1]
        t = time.perf_counter()
        with transaction():
            ids = new_ids(Organization.__table__, args.orgs)
            stamp = utcnow()
            rows = []
            for oid in ids:
                zh = f"基准公司{oid}"
                rows.append((oid, zh, "", name_key(zh), "", search_keys(zh, ""), sort_key(zh), "CN", "", "", "", "",
                             "", "", "", "", stamp, stamp))
            executemany(Organization.__table__, ["id", "name_zh", "name_en", "name_key", "name_en_key", "search_keys",
                                                 "sort_name", "country", "region", "city", "address", "website",
                                                 "email", "phone", "licence_no", "notes", "created_at", "updated_at"],
                        rows)
            parts = []
            for oid in ids:
                for s in shows[:-1]:
                    if rng.random() < 0.6:
                        parts.append((oid, s.id, float(rng.choice((9, 18, 36))), rng.randrange(0, 10_000_000),
                                      rng.random() < 0.8, rng.choice((None, 3, 4, 5)), rng.choice((None, 5, 8, 10)),
                                      "import", stamp))
            executemany(Participation.__table__, ["id", "organization_id", "show_id", "booth_m2", "amount_paid_minor",
                                                  "paid_on_time", "satisfaction", "would_recommend", "source",
                                                  "created_at"],
                        [(i, *p) for i, p in zip(new_ids(Participation.__table__, len(parts)), parts, strict=True)])
        print(f"generated {args.orgs} organizations, {len(parts)} participations in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        result = ops.recompute(now)
        print(f"recompute: {result['customers']} customers in {time.perf_counter() - t:.2f} s (target ≤ 5 s)")
        user = create_user("bench@example.com", "bench-password", "organizer")
        org_id = ids[len(ids) // 2]
        client = app.test_client()
        client.post("/auth/login", data={"email": user.email, "password": "bench-password"})
        app.config["WTF_CSRF_ENABLED"] = False
        client.post("/auth/login", data={"email": user.email, "password": "bench-password"})
        for label, path, target in (("segment list", f"/shows/{now.slug}/loyalty/?abc=A", 150),
                                    ("organization page", f"/organizations/{org_id}", 100)):
            times = []
            for _ in range(40):
                t = time.perf_counter()
                resp = client.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert resp.status_code == 200, resp.status_code
            print(f"{label}: p95 {p95(times):.0f} ms, median {statistics.median(times):.0f} ms (target ≤ {target} ms)")
        path = os.path.join(tmp, "history.csv")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("公司,届次,展位面积,金额,按时付款,满意度\n")
            for i in range(args.import_rows):
                fh.write(f"导入公司{i % (args.import_rows // 2)},{2006 + i // (args.import_rows // 2)},18,13800,是,4\n")
        from crm_expo.contacts.importing import run_import
        from crm_expo.operations import series_by_slug
        t = time.perf_counter()
        report = run_import(series_by_slug("bench"), path, path, "history", ops.HISTORY_COLUMNS,
                            ops.apply_history_rows)
        print(f"history import: {report.total} rows, {report.imported} imported, {report.rejected} rejected in "
              f"{time.perf_counter() - t:.1f} s (target ≤ 15 s)")


if __name__ == "__main__":
    main()
