"""List pages at scale: the staff visitor list and the exhibitors list, timed through the real
page (Flask test client, logged in as an organizer, HTML rendered), for every filter and
sort a user can choose, first pages, pages reached with Next, and the last page.

    python bench/list_bench.py [--visitors 200000] [--exhibitors 20000] [--repeat 7]
                               [--db URL] [--rebuild] [--only visitors|exhibitors]

The data is built once with the real generator (``crm-expo db upgrade``, ``crm-expo shows
create``, ``crm-expo generate --show listbench --visitors N --exhibitors M``) and kept:
SQLite in ``$TMPDIR/crm-list-bench/`` (one file per size), PostgreSQL in the database of
``--db`` (its schema is dropped and rebuilt only when the counts do not match, or with
--rebuild). Every run applies pending migrations first, so new indexes are measured.

Prints p50/p95/max per scenario, the worst combination, and the machine and load."""
from __future__ import annotations

import argparse
import itertools
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SLUG = "listbench"
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    with open("/proc/loadavg") as fh:
        load = " ".join(fh.read().split()[:3])
    return f"nproc={os.cpu_count()} cpu={cpu!r} python={platform.python_version()} loadavg={load}"


def cli(env: dict, *args: str) -> None:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "crm_expo", *args], env=env, check=True)
    print(f"  crm-expo {' '.join(args)}: {time.perf_counter() - t:.1f} s", flush=True)


def counts(url: str, instance: str) -> tuple[int, int] | None:
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            n_v = conn.execute(text("SELECT count(*) FROM visitors_registration r JOIN shows s ON s.id = r.show_id "
                                    "WHERE s.slug = :s"), {"s": SLUG}).scalar()
            n_e = conn.execute(text("SELECT count(*) FROM exhibitors_exhibitor e JOIN shows s ON s.id = e.show_id "
                                    "WHERE s.slug = :s"), {"s": SLUG}).scalar()
            return n_v, n_e
    except Exception:
        return None
    finally:
        engine.dispose()


def build(url: str, instance: str, args) -> str:
    """The database with the show and its data, built once and reused; migrations applied."""
    env = dict(os.environ, CRM_EXPO_INSTANCE_PATH=instance, CRM_EXPO_SECRET_KEY="bench",
               CRM_EXPO_PLUGINS="exhibitors,visitors")
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[1]
        if args.rebuild and os.path.exists(path):
            os.remove(path)
        if not os.path.exists(path):
            print(f"building {path} (once; later runs reuse it)", flush=True)
            partial = path + ".building"
            if os.path.exists(partial):
                os.remove(partial)
            env["CRM_EXPO_DATABASE_URL"] = "sqlite:///" + partial
            cli(env, "db", "upgrade")
            cli(env, "shows", "create", SLUG, "--name", "列表基准展会", "--start", "2027-05-10")
            cli(env, "generate", "--show", SLUG, "--visitors", str(args.visitors),
                "--exhibitors", str(args.exhibitors))
            os.replace(partial, path)   # only a complete build is cached
    else:
        env["CRM_EXPO_DATABASE_URL"] = url
        if args.rebuild or counts(url, instance) != (args.visitors, args.exhibitors):
            print(f"building {url.split('@')[-1]}", flush=True)
            from sqlalchemy import create_engine, text
            engine = create_engine(url)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()
            cli(env, "db", "upgrade")
            cli(env, "shows", "create", SLUG, "--name", "列表基准展会", "--start", "2027-05-10")
            cli(env, "generate", "--show", SLUG, "--visitors", str(args.visitors),
                "--exhibitors", str(args.exhibitors))
    env["CRM_EXPO_DATABASE_URL"] = url
    cli(env, "db", "upgrade")     # new indexes since the build
    if url.startswith("postgresql"):
        # What autovacuum does on a live server: statistics and a fresh visibility map.
        from sqlalchemy import create_engine, text
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()
    return url


def percentile(values, p):
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


NEXT = re.compile(r'<a href="([^"]+)"[^>]*rel="next"')
LAST = re.compile(r'<a href="([^"]+)"[^>]*rel="last"')


class Bench:
    def __init__(self, app, client, repeat):
        self.app, self.client, self.repeat = app, client, repeat
        self.results: list[tuple[str, list[float]]] = []
        # CPU time of this process per request: SQLite runs in it, so on SQLite this is the
        # page's own cost whatever else the machine is doing (PostgreSQL's work is not in it).
        self.cpu: list[tuple[str, list[float]]] = []
        self.last_cpu = 0.0

    def get(self, url: str) -> tuple[float, str]:
        t, c = time.perf_counter(), time.process_time()
        resp = self.client.get(url)
        body = resp.get_data(as_text=True)
        el = 1000 * (time.perf_counter() - t)
        self.last_cpu = 1000 * (time.process_time() - c)
        if resp.status_code != 200:
            raise SystemExit(f"GET {url}: {resp.status_code}\n{body[:800]}")
        return el, body

    def scenario(self, label: str, url: str, follow: int = 0, last: bool = False, quiet=False):
        """Time ``url``; ``follow`` > 0: then follow Next that many times and time the last
        page reached; ``last``: time the Last link."""
        if follow or last:
            body = self.get(url)[1]
            for _ in range(follow):
                m = NEXT.search(body)
                if not m:
                    break
                url = m.group(1).replace("&amp;", "&")
                body = self.get(url)[1]
            if last:
                m = LAST.search(body)
                if m:
                    url = m.group(1).replace("&amp;", "&")
        self.get(url)   # warm (first use of a query shape)
        runs, cpu = [], []
        for _ in range(self.repeat):
            runs.append(self.get(url)[0])
            cpu.append(self.last_cpu)
        self.results.append((label, runs))
        self.cpu.append((label, cpu))
        if not quiet:
            print(f"  {label:<58} p50 {statistics.median(runs):6.1f}  p95 {percentile(runs, 95):6.1f}  "
                  f"max {max(runs):6.1f} ms   (cpu p50 {statistics.median(cpu):5.1f}  "
                  f"p95 {percentile(cpu, 95):5.1f})", flush=True)
        return runs


def visitors(b: Bench):
    from plugins.visitors.models import CATEGORIES, VERIFICATIONS
    print("visitors list (/visitors/):", flush=True)
    b.scenario("all, newest first", f"/shows/{SLUG}/visitors/")
    b.scenario("all, oldest first", f"/shows/{SLUG}/visitors/?sort=oldest")
    b.scenario("all, by name", f"/shows/{SLUG}/visitors/?sort=name")
    b.scenario("category=public", f"/shows/{SLUG}/visitors/?category=public")
    b.scenario("category=media by name", f"/shows/{SLUG}/visitors/?category=media&sort=name")
    b.scenario("verification=pending", f"/shows/{SLUG}/visitors/?verification=pending")
    b.scenario("consent=marketing", f"/shows/{SLUG}/visitors/?consent=marketing")
    b.scenario("consent=share_with_exhibitors by name", f"/shows/{SLUG}/visitors/?consent=share_with_exhibitors&sort=name")
    b.scenario("q=zhang", f"/shows/{SLUG}/visitors/?q=zhang")
    b.scenario("q=王 by name", f"/shows/{SLUG}/visitors/?q=%E7%8E%8B&sort=name")
    b.scenario("q=zw", f"/shows/{SLUG}/visitors/?q=zw")
    b.scenario("by name, 100 pages deep (Next ×99)", f"/shows/{SLUG}/visitors/?sort=name", follow=99)
    b.scenario("newest, 100 pages deep (Next ×99)", f"/shows/{SLUG}/visitors/", follow=99)
    b.scenario("by name, last page", f"/shows/{SLUG}/visitors/?sort=name", last=True)
    b.scenario("oldest, last page", f"/shows/{SLUG}/visitors/?sort=oldest", last=True)
    b.scenario("consent=marketing by name, last page", f"/shows/{SLUG}/visitors/?consent=marketing&sort=name", last=True)
    b.scenario("category=public consent=marketing by name, page 2",
               f"/shows/{SLUG}/visitors/?category=public&consent=marketing&sort=name", follow=1)
    b.scenario("public + pending by name (no row matches)", f"/shows/{SLUG}/visitors/?category=public&verification=rejected&sort=name")
    # Every combination a user can pick in the filter form (first page), once each set.
    combos = []
    for cat, ver, con, sort in itertools.product(("",) + CATEGORIES, ("",) + VERIFICATIONS,
                                                 ("", "marketing", "share_with_exhibitors"),
                                                 ("newest", "oldest", "name")):
        url = f"/shows/{SLUG}/visitors/?category={cat}&verification={ver}&consent={con}&sort={sort}"
        combos.append((f"category={cat or '*'} verification={ver or '*'} consent={con or '*'} sort={sort}", url))
    summary(b, "visitors", combos)


def exhibitors(b: Bench):
    from sqlalchemy import select

    from crm_expo.extensions import db
    from crm_expo.models import User
    from plugins.exhibitors.models import STATUSES, ExhibitorCategory
    base = f"/shows/{SLUG}/exhibitors/"
    with b.app.app_context():
        cat = db.session.scalar(select(ExhibitorCategory.id).order_by(ExhibitorCategory.id))
        manager = db.session.scalar(select(User.id).where(User.role == "account_manager").order_by(User.id))
    print(f"exhibitors list ({base}):", flush=True)
    sorts = ("name", "-name", "-applied", "applied", "status", "country")
    for s in sorts:
        b.scenario(f"all, sort={s}", f"{base}?sort={s}")
    b.scenario("status=approved", f"{base}?status=approved")
    b.scenario(f"category={cat}", f"{base}?category={cat}")
    b.scenario("country=DE", f"{base}?country=DE")
    if manager:
        b.scenario("manager", f"{base}?manager={manager}")
    b.scenario("q=shanghai", f"{base}?q=shanghai")
    b.scenario("q=科技", f"{base}?q=%E7%A7%91%E6%8A%80")
    b.scenario("sort=name, 50 pages deep (Next ×49)", f"{base}?sort=name", follow=49)
    b.scenario("sort=-applied, last page", f"{base}?sort=-applied", last=True)
    b.scenario("sort=country, last page", f"{base}?sort=country", last=True)
    combos = []
    for st, s, c in itertools.product(("",) + STATUSES, sorts, ("", str(cat or ""))):
        combos.append((f"status={st or '*'} category={c or '*'} sort={s}", f"{base}?status={st}&category={c}&sort={s}"))
    summary(b, "exhibitors", combos)


def summary(b: Bench, name: str, combos):
    print(f"  every combination of the {name} filter form ({len(combos)}, first page, "
          f"{max(3, b.repeat // 2)} runs each):", flush=True)
    saved, b.repeat = b.repeat, max(3, b.repeat // 2)
    allruns, worst = [], []
    for label, url in combos:
        runs = b.scenario(label, url, quiet=True)
        allruns += runs
        worst.append((percentile(runs, 95), label))
    b.repeat = saved
    worst.sort(reverse=True)
    cpu = [r for _label, runs in b.cpu[-len(combos):] for r in runs]
    print(f"    all combinations: p50 {statistics.median(allruns):.1f}  p95 {percentile(allruns, 95):.1f}  "
          f"max {max(allruns):.1f} ms   (cpu p50 {statistics.median(cpu):.1f}  p95 {percentile(cpu, 95):.1f})",
          flush=True)
    for p95, label in worst[:5]:
        print(f"    slowest p95 {p95:6.1f} ms  {label}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--visitors", type=int, default=200_000)
    ap.add_argument("--exhibitors", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--db", default="", help="SQLAlchemy URL; default: a cached SQLite file")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--only", choices=("visitors", "exhibitors"))
    ap.add_argument("--build-only", action="store_true", help="build (or check) the data and stop")
    args = ap.parse_args()
    cache = os.path.join(tempfile.gettempdir(), "crm-list-bench")
    os.makedirs(cache, exist_ok=True)
    url = args.db or "sqlite:///" + os.path.join(cache, f"list-{args.visitors}-{args.exhibitors}.sqlite3")
    instance = tempfile.mkdtemp(prefix="list-bench-")
    try:
        build(url, instance, args)
        if args.build_only:
            return
        from crm_expo import create_app
        from crm_expo.extensions import db
        from crm_expo.operations import create_user
        from tests.fixtures import Client
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "SECRET_KEY": "bench",
                          "PLUGINS": "exhibitors,visitors", "DEFAULT_LOCALE": "zh"})
        app.test_client_class = Client
        with app.app_context():
            from sqlalchemy import delete

            from crm_expo.models import User
            db.session.execute(delete(User).where(User.email == "list-bench@example.com"))
            db.session.commit()
            create_user("list-bench@example.com", "bench-password-1", "organizer", name="bench")
        client = app.test_client()
        client.login(type("U", (), {"email": "list-bench@example.com"})(), "bench-password-1")
        print(machine())
        print(f"database: {url.split('@')[-1]}  visitors={args.visitors} exhibitors={args.exhibitors} "
              f"repeat={args.repeat} (ms per GET of the HTML page, logged in)", flush=True)
        b = Bench(app, client, args.repeat)
        if args.only in (None, "visitors"):
            visitors(b)
        if args.only in (None, "exhibitors"):
            exhibitors(b)
        allruns = [r for _label, runs in b.results for r in runs]
        allcpu = [r for _label, runs in b.cpu for r in runs]
        print(f"overall: {len(allruns)} page loads, p50 {statistics.median(allruns):.1f}  "
              f"p95 {percentile(allruns, 95):.1f}  max {max(allruns):.1f} ms   "
              f"(cpu of this process p50 {statistics.median(allcpu):.1f}  p95 {percentile(allcpu, 95):.1f}  "
              f"max {max(allcpu):.1f} ms)")
        print(machine())
    finally:
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
