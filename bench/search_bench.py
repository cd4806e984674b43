"""Person search at scale: bulk-insert N people (bilingual names, emails, phones, companies),
then time representative queries through crm_expo.customers.search_persons.

    python bench/search_bench.py [--n 200000] [--queries 400] [--db URL]

Default database: a fresh SQLite file in a temporary folder (PostgreSQL: --db
postgresql+psycopg://postgres@127.0.0.1:5433/DBNAME — its schema is dropped and recreated).
Prints p50/p95/p99 overall and per kind of query, and the machine."""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
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


def name_pools():
    from faker.providers.company.zh_CN import Provider as Company
    from faker.providers.person.en_US import Provider as En
    from faker.providers.person.zh_CN import Provider as Zh
    return (list(Zh.last_names), list(Zh.first_names), list(En.first_names), list(En.last_names),
            list(Company.company_prefixes))


def app_for(url: str, tmp: str):
    from crm_expo import create_app
    from crm_expo.extensions import db
    from crm_expo.migrations import upgrade
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench", "PLUGINS": ""})
    if url.startswith("postgresql"):
        from sqlalchemy import text
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(app)
    return app


def generate(n: int, rng: random.Random):
    """Bulk-insert n people and n/100 companies; returns the generated rows (for queries)."""
    from crm_expo.contacts.duplicates import bulk_organizations
    from crm_expo.contacts.keys import name_key, search_keys, sort_key
    from crm_expo.contacts.search import insert_persons
    from crm_expo.database import utcnow
    from crm_expo.extensions import db
    surnames, given, en_first, en_last, companies = name_pools()
    org_names = list(dict.fromkeys(f"{rng.choice(['上海', '北京', '广州', '深圳', '杭州', '苏州'])}{c}"
                                   f"{rng.choice(['科技', '展览', '电子', '贸易', '机械'])}有限公司"
                                   for c in companies for _ in range(3)))[:max(10, n // 100)]
    org_ids = bulk_organizations((name, "") for name in org_names)
    org_list = list(org_ids.values())
    now = utcnow()
    rows = []
    for i in range(n):
        english = rng.random() < 0.15
        zh = "" if english else rng.choice(surnames) + rng.choice(given) + (rng.choice(given) if rng.random() < .6 else "")
        en = f"{rng.choice(en_first)} {rng.choice(en_last)}" if english or rng.random() < 0.2 else ""
        rows.append({"name_zh": zh, "name_en": en, "email": f"user{i}.{rng.randrange(10**6)}@example{i % 97}.com",
                     "phone": f"+86139{i:08d}", "organization_id": rng.choice(org_list) if rng.random() < .7 else None,
                     "name_key": name_key(zh or en), "sort_name": sort_key(zh or en),
                     "search_keys": search_keys(zh, en), "created_at": now, "updated_at": now})
    for i in range(0, n, 20000):
        insert_persons(rows[i:i + 20000])
        db.session.commit()
    return rows, org_names


def queries(rows, org_names, count: int, rng: random.Random) -> list[tuple[str, str]]:
    from opencc import OpenCC

    from crm_expo.contacts.keys import pinyin_keys
    s2t = OpenCC("s2t")
    zh_rows = [r for r in rows if r["name_zh"]]
    en_rows = [r for r in rows if r["name_en"]]
    out = []
    kinds = ["chinese", "traditional", "pinyin", "initials", "surname", "english", "email", "phone", "company",
             "prefix", "none"]
    for i in range(count):
        kind = kinds[i % len(kinds)]
        r = rng.choice(zh_rows)
        full, initials = pinyin_keys(r["name_zh"])
        q = {"chinese": r["name_zh"], "traditional": s2t.convert(r["name_zh"]), "pinyin": full,
             "initials": initials, "surname": r["name_zh"][0], "english": rng.choice(en_rows)["name_en"],
             "email": rng.choice(rows)["email"].split("@")[0], "phone": rng.choice(rows)["phone"][3:],
             "company": rng.choice(org_names)[2:6], "prefix": full[:3], "none": f"qqxz{i}"}[kind]
        out.append((kind, q))
    return out


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=440)
    ap.add_argument("--db", default="")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="search-bench-")
    url = args.db or "sqlite:///" + os.path.join(tmp, "bench.sqlite3")
    app = app_for(url, tmp)
    print(machine())
    print(f"database: {url.split('@')[-1]}  people={args.n}")
    from sqlalchemy import text

    from crm_expo.contacts.search import search_persons
    from crm_expo.extensions import db
    with app.test_request_context():
        t = time.perf_counter()
        rows, org_names = generate(args.n, random.Random("search-bench"))
        print(f"generate + index {args.n} people: {time.perf_counter() - t:.1f} s")
        if url.startswith("postgresql"):
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        qs = queries(rows, org_names, args.queries, random.Random("queries"))
        for _kind, q in qs[:20]:    # warm caches (first connection, pinyin tables)
            search_persons(q, 20)
        times: dict[str, list[float]] = {}
        hits = 0
        for kind, q in qs:
            t = time.perf_counter()
            found = search_persons(q, 20)
            times.setdefault(kind, []).append(1000 * (time.perf_counter() - t))
            hits += bool(found) if kind != "none" else 0
            db.session.rollback()      # end the read transaction like a request would
        every = [v for vs in times.values() for v in vs]
        print(f"{len(every)} queries, {hits} of {len(every) - len(times.get('none', []))} expected hits found")
        print(f"all: p50={pct(every, 50):.1f} ms  p95={pct(every, 95):.1f} ms  p99={pct(every, 99):.1f} ms  "
              f"max={max(every):.1f} ms")
        for kind, vs in times.items():
            print(f"  {kind:<12} n={len(vs):<4} p50={pct(vs, 50):.1f} ms  p95={pct(vs, 95):.1f} ms  "
                  f"mean={statistics.mean(vs):.1f} ms")


if __name__ == "__main__":
    main()
