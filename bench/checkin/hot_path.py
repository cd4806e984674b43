"""Where a check-in's time goes, in-process (no HTTP server): CPU per call of each part of the
hot path, on the benchmark database that run.py builds (/tmp/onsite-bench; run it first).

    python bench/checkin/hot_path.py [--n 1000]
"""
from __future__ import annotations

import argparse
import json
import os
import time
import uuid

from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from crm_expo import create_app
from crm_expo.api import ShowRow, authenticate_token
from crm_expo.database import close_hot_connection, hot_connection
from crm_expo.extensions import db
from crm_expo.web import SCHEMA_OK

ROOT = "/tmp/onsite-bench"
GATE = "hot-path-bench"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()
    app = create_app({"DATABASE_URL": f"sqlite:///{ROOT}/crm.sqlite3", "INSTANCE_PATH": ROOT,
                      "SECRET_KEY": "bench-secret"})
    from crm_expo.models import Show
    from crm_expo.operations import create_token
    from plugins.onsite import operations as ops
    with app.app_context():
        show = db.session.scalar(select(Show).where(Show.slug == "bench"))
        if show is None:
            raise SystemExit("no benchmark database: run bench/checkin/run.py first")
        _, token = create_token(show, "desk")
        row = ShowRow(show.id, show.slug, show.timezone, show.currency)
    with open(os.path.join(ROOT, "codes.txt")) as fh:
        codes = iter([line.strip() for line in fh][-5 * args.n - 400:])   # the end: unlikely scanned
    day = ops.local_day(row, ops.utcnow())

    def bench(label, fn):
        with app.test_request_context("/api/v1/shows/bench/checkins", method="POST",
                                      headers={"Authorization": "Bearer " + token, "Accept-Language": "zh"}):
            for _ in range(50):
                fn()
            start = time.process_time()
            for _ in range(args.n):
                fn()
            cpu = time.process_time() - start
            close_hot_connection()
        print(f"{label:44} {1e6 * cpu / args.n:7.0f} µs CPU per call")

    def bench_wsgi(label, fn, n):   # no request context: the WSGI app makes its own
        for _ in range(50):
            fn()
        start = time.process_time()
        for _ in range(n):
            fn()
        print(f"{label:44} {1e6 * (time.process_time() - start) / n:7.0f} µs CPU per call")

    print(f"n={args.n} load={os.getloadavg()[0]:.2f}")
    bench("authenticate_token (token + its show)", lambda: authenticate_token(token))
    bench("lookup statement (every fact, one SELECT)", lambda: (
        ops._LOOKUP_SQL.run({"code": next(codes), "day": day, "show_id": row.id}), hot_connection().commit()))
    bench("check_in, malformed code (no lookup)", lambda: ops.check_in(row, "x", GATE, nonce=uuid.uuid4().hex))
    bench("check_in, a new badge (lookup, decide, insert)",
          lambda: ops.check_in(row, next(codes), GATE, nonce=uuid.uuid4().hex))
    app.extensions[SCHEMA_OK] = True   # as `crm-expo serve` does before its workers start
    lane = app.wsgi_app

    def whole_scan(wsgi):
        body = json.dumps({"code": next(codes), "gate": GATE, "nonce": uuid.uuid4().hex}).encode()
        environ = EnvironBuilder("/api/v1/shows/bench/checkins", method="POST", data=body,
                                 content_type="application/json",
                                 headers={"Authorization": "Bearer " + token, "Accept-Language": "zh"}).get_environ()
        b"".join(wsgi(environ, lambda status, headers, exc_info=None: None))

    bench_wsgi("a whole scan, WSGI in and out (fast lane)", lambda: whole_scan(lane), args.n)
    bench_wsgi("a whole scan through Flask (lane taken out)", lambda: whole_scan(lane.wsgi_app), args.n)
    with app.app_context():
        from sqlalchemy import text
        db.session.execute(text("DELETE FROM onsite_scan WHERE gate = :gate"), {"gate": GATE})
        db.session.commit()
    print("(the scans written here were deleted again)")


if __name__ == "__main__":
    main()
