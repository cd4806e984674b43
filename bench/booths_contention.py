"""Contended booking through `crm-expo serve --workers 2` (not a test).

    python bench/booths_contention.py [--clients 64] [--booths 20] [--database-url postgresql+psycopg://…]

64 client threads race for 20 booths over the JSON API: each client tries the booths in its
own random order until one is its. Prints bookings won, 409s, 5xx, double bookings (checked
in the database) and throughput, with the machine. Default: a scratch SQLite file."""
from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.booths_common import add_exhibitors, fresh_app, machine  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--booths", type=int, default=20)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="booths-bench-")
    url = args.database_url or "sqlite:///" + os.path.join(tmp, "bench.sqlite3")
    app = fresh_app(url, tmp)

    import datetime as dt

    import requests
    from sqlalchemy import text

    from crm_expo.extensions import db
    from crm_expo.operations import create_show, create_token
    from plugins.booths import operations as ops
    with app.app_context(), app.test_request_context():
        show = create_show("bench-booths", "基准展会", dt.date(2027, 5, 10), 3)
        ops.publish_price_list(show, {"shell": 100_000})
        for i in range(args.booths):
            ops.add_booth(show, "A", f"A{101 + i}", (i % 10) * 3, (i // 10) * 3, 3, 3)
        exhibitors = add_exhibitors(show, args.clients)
        _, token = create_token(show, "organizer")
        slug = show.slug
        db.engine.dispose()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, CRM_EXPO_DATABASE_URL=url, CRM_EXPO_SECRET_KEY="bench", CRM_EXPO_INSTANCE_PATH=tmp)
    server = subprocess.Popen([sys.executable, "-m", "crm_expo", "serve", "--workers", "2", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        headers = {"Authorization": f"Bearer {token}"}
        requests.get(f"{base}/api/v1/shows/{slug}/booths", headers=headers, timeout=30)   # token's first use
        codes = [f"A{101 + i}" for i in range(args.booths)]
        results, lock, gate = [], threading.Lock(), threading.Barrier(args.clients)

        def client(ex_id, seed):
            order = codes[:]
            random.Random(seed).shuffle(order)
            session = requests.Session()
            gate.wait()
            for code in order:
                r = session.post(f"{base}/api/v1/shows/{slug}/bookings", json={"booth": code, "exhibitor": ex_id},
                                 headers=headers, timeout=120)
                with lock:
                    results.append(r.status_code)
                if r.status_code == 201:
                    return

        threads = [threading.Thread(target=client, args=(ex, i)) for i, ex in enumerate(exhibitors)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(10)

    with app.app_context():
        double = db.session.execute(text(
            "SELECT count(*) FROM (SELECT booth_id FROM booths_booking WHERE status IN "
            "('held','reserved','confirmed','paid') GROUP BY booth_id HAVING count(*) > 1) d")).scalar()
        booked = db.session.execute(text("SELECT count(*) FROM booths_booking")).scalar()
    won = results.count(201)
    print(f"machine: {machine()}")
    print(f"database: {url.split('@')[-1]}")
    print(f"clients={args.clients} booths={args.booths} requests={len(results)} elapsed={elapsed:.2f}s")
    print(f"bookings won={won} (rows in db={booked}) 409={results.count(409)} "
          f"5xx={sum(1 for c in results if c >= 500)} other={sum(1 for c in results if c not in (201, 409) and c < 500)}")
    print(f"double bookings={double}")
    print(f"throughput: {won / elapsed:.1f} bookings/s, {len(results) / elapsed:.1f} requests/s")
    ok = double == 0 and won == booked == min(args.booths, args.clients) and all(c < 500 for c in results)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
