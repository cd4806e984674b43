"""Service orders at scale (issue #5): the organizer's order list (filters, totals per
supplier), the CSV export, the API list, and placing an order, timed through the real app
(Flask test client, HTML rendered) on data made by the real generator.

    python bench/service_orders_bench.py [--exhibitors 60000] [--suppliers 300] [--repeat 7]
                                         [--db URL] [--rebuild]

SQLite is built once in ``$TMPDIR/crm-orders-bench/`` and reused; with ``--db`` (PostgreSQL)
the schema of that database is dropped and rebuilt. Prints p50/p95/max per scenario and the
machine and load average."""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SLUG = "ordersbench"
PLUGINS = "exhibitors,suppliers"
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def machine() -> str:
    with open("/proc/loadavg") as fh:
        load = " ".join(fh.read().split()[:3])
    return f"nproc={os.cpu_count()} python={platform.python_version()} loadavg={load}"


def cli(env: dict, *args: str) -> None:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "crm_expo", *args], env=env, check=True)
    print(f"  crm-expo {' '.join(args)}: {time.perf_counter() - t:.1f} s", flush=True)


def build(url: str, instance: str, args) -> None:
    env = dict(os.environ, CRM_EXPO_INSTANCE_PATH=instance, CRM_EXPO_SECRET_KEY="bench", CRM_EXPO_PLUGINS=PLUGINS)
    target = url
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[1]
        if args.rebuild and os.path.exists(path):
            os.remove(path)
        if os.path.exists(path):
            env["CRM_EXPO_DATABASE_URL"] = url
            cli(env, "db", "upgrade")
            return
        target = "sqlite:///" + path + ".building"
        if os.path.exists(path + ".building"):
            os.remove(path + ".building")
    else:
        from sqlalchemy import create_engine, text
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    env["CRM_EXPO_DATABASE_URL"] = target
    cli(env, "db", "upgrade")
    # The show starts in 40 days so that today is before the final order deadlines.
    import datetime as dt
    start = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    cli(env, "shows", "create", SLUG, "--name", "订单基准展会", "--start", start)
    cli(env, "generate", "--show", SLUG, "--exhibitors", str(args.exhibitors), "--suppliers", str(args.suppliers))
    if target != url:
        os.replace(target.split("sqlite:///", 1)[1], url.split("sqlite:///", 1)[1])
    if url.startswith("postgresql"):
        from sqlalchemy import create_engine, text
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()


def percentile(values, p):
    values = sorted(values)
    return values[max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))]


def timed(label, fn, repeat, results):
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    results.append((label, runs))
    print(f"{label:55s} p50 {statistics.median(runs):7.1f}  p95 {percentile(runs, 95):7.1f}  "
          f"max {max(runs):7.1f} ms", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exhibitors", type=int, default=60000)
    parser.add_argument("--suppliers", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--db")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    cache = os.path.join(tempfile.gettempdir(), "crm-orders-bench")
    os.makedirs(cache, exist_ok=True)
    url = args.db or "sqlite:///" + os.path.join(cache, f"orders-{args.exhibitors}-{args.suppliers}.sqlite3")
    instance = tempfile.mkdtemp(prefix="orders-bench-")
    try:
        build(url, instance, args)
        from sqlalchemy import delete, func, select

        from crm_expo import create_app
        from crm_expo.extensions import db
        from crm_expo.models import Show, User
        from crm_expo.operations import create_token, create_user
        from plugins.exhibitors.models import Exhibitor
        from plugins.suppliers import operations as ops
        from plugins.suppliers.models import ServiceOrder
        from tests.fixtures import Client
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "SECRET_KEY": "bench",
                          "PLUGINS": PLUGINS, "DEFAULT_LOCALE": "zh"})
        app.test_client_class = Client
        with app.app_context():
            db.session.execute(delete(User).where(User.email == "orders-bench@example.com"))
            db.session.commit()
            create_user("orders-bench@example.com", "bench-password-1", "organizer", name="bench")
            show = db.session.scalar(select(Show).where(Show.slug == SLUG))
            n_orders = db.session.scalar(select(func.count()).select_from(ServiceOrder)
                                         .where(ServiceOrder.show_id == show.id))
            supplier_id = db.session.scalar(select(ServiceOrder.supplier_id).where(ServiceOrder.show_id == show.id)
                                            .group_by(ServiceOrder.supplier_id)
                                            .order_by(func.count().desc()).limit(1))
            _t, token = create_token(show, "organizer")
            exhibitor_ids = list(db.session.scalars(select(Exhibitor.id).where(Exhibitor.show_id == show.id,
                                                                               Exhibitor.status == "approved")))
            item_ids = [i.id for i in ops.orderable_catalogue(show)]
        client = app.test_client()
        client.login(type("U", (), {"email": "orders-bench@example.com"})(), "bench-password-1")
        print(machine())
        print(f"database: {url.split('@')[-1]}  exhibitors={args.exhibitors} suppliers={args.suppliers} "
              f"orders={n_orders} repeat={args.repeat}", flush=True)
        results = []
        base = f"/shows/{SLUG}/suppliers/orders"

        def get(url, **kw):
            def run():
                resp = client.get(url, **kw)
                assert resp.status_code == 200, (url, resp.status_code)
            return run
        timed("orders page, first page + totals", get(base), args.repeat, results)
        timed("orders page, status=delivered", get(base + "?status=delivered"), args.repeat, results)
        timed("orders page, one supplier", get(f"{base}?supplier_id={supplier_id}"), args.repeat, results)
        timed("orders page, search q=shanghai", get(base + "?q=shanghai"), args.repeat, results)
        timed("orders page, page 50", get(base + "?page=50"), args.repeat, results)
        timed(f"CSV export of every line ({n_orders} orders)", get(base + "/export.csv"), max(2, args.repeat // 3),
              results)
        timed("API list, per_page=200", get(f"/api/v1/shows/{SLUG}/service-orders?per_page=200",
                                            headers={"Authorization": f"Bearer {token}"}), args.repeat, results)
        with app.test_request_context(headers={"Accept-Language": "zh"}):
            show = db.session.scalar(select(Show).where(Show.slug == SLUG))
            pending = iter(exhibitor_ids)

            def place():
                ex = db.session.get(Exhibitor, next(pending))
                ops.place_order(show, ex, [(item_ids[0], 2), (item_ids[-1], 1)])
            timed("place_order (2 lines, one transaction, audited)", place, args.repeat * 3, results)
        allruns = [r for _label, runs in results[:5] for r in runs]
        print(f"order pages overall: p50 {statistics.median(allruns):.1f}  p95 {percentile(allruns, 95):.1f} ms")
        print(machine())
    finally:
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
