"""Floor plan of one hall with 2,000 booths (not a test).

    python bench/booths_floorplan.py [--booths 2000] [--database-url …]

Prints the time to build the SVG (one query + rendering) and to serve the whole floor plan
page (GET /booths/?hall=A through the Flask test client): median, p95 and max of --runs runs,
with the machine and the load average. ``--profile`` prints where a page render spends its
time (cProfile, cumulative)."""
from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.booths_common import add_exhibitors, fresh_app, machine  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--booths", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--profile", action="store_true", help="cProfile one page render")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="booths-plan-")
    url = args.database_url or "sqlite:///" + os.path.join(tmp, "bench.sqlite3")
    app = fresh_app(url, tmp)
    from crm_expo.extensions import db
    from crm_expo.operations import create_show, create_user
    from plugins.booths import operations as ops
    with app.app_context(), app.test_request_context():
        show = create_show("bench-plan", "平面图基准", dt.date(2027, 5, 10), 3)
        add_exhibitors(show, 300)
        per_row = 50
        rows = (args.booths + per_row - 1) // per_row
        hall = ops.get_or_create_hall(show, "A", width_m=per_row * 4 + 4, depth_m=rows * 4 + 4)
        db.session.commit()
        # generate() lays out its own halls; here one big hall, then let generate book 60 %.
        from plugins.booths.models import Booth
        db.session.execute(Booth.__table__.insert(), [
            {"show_id": show.id, "hall_id": hall.id, "code": f"A{i:04d}", "x_cm": 200 + (i % per_row) * 400,
             "y_cm": 200 + (i // per_row) * 400, "width_cm": 300, "depth_cm": 300, "type": "shell",
             "open_sides": 1, "blocked": False} for i in range(args.booths)])
        db.session.commit()
        ops.generate(show, {"booths": 1}, random.Random(1))      # price list + bookings on the free booths
        create_user("plan@example.com", "bench-password-1", "organizer")
        svg_runs = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            svg = ops.hall_svg(show, hall)
            svg_runs.append(time.perf_counter() - t0)
        count = svg.count('class="booth"')
        taken = svg.count('data-status="sold"') + svg.count('data-status="reserved"') + svg.count('data-status="held"')
    client = app.test_client()
    with client:
        page = client.get("/auth/login").get_data(as_text=True)
        import re
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        client.post("/auth/login", data={"email": "plan@example.com", "password": "bench-password-1", "csrf_token": token})
        page_runs = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            resp = client.get(f"/shows/{show.slug}/booths/?hall=A")
            page_runs.append(time.perf_counter() - t0)
        assert resp.status_code == 200, resp.status_code
        if args.profile:
            import cProfile
            import pstats
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(5):
                client.get(f"/shows/{show.slug}/booths/?hall=A")
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
            pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    print(f"machine: {machine()}")
    with open("/proc/loadavg") as fh:
        print(f"load average: {' '.join(fh.read().split()[:3])}")
    print(f"database: {url.split('@')[-1]}")
    print(f"booths in hall A: {count} (taken {taken}), svg {len(svg) // 1024} KiB")
    print(f"svg (query + render): {_figures(svg_runs)} over {args.runs} runs")
    print(f"whole page GET /booths/?hall=A: {_figures(page_runs)}")


def _figures(runs: list[float]) -> str:
    ms = sorted(r * 1000 for r in runs)
    p95 = ms[min(len(ms) - 1, math.ceil(0.95 * len(ms)) - 1)]      # nearest-rank percentile
    return f"median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms"


if __name__ == "__main__":
    main()
