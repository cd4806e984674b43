"""Audited attendance at scale: a show with N visitors and M desk scans (the generators:
``crm-expo generate --visitors N --scans M``), then

- the attendance JSON (``plugins.onsite.attendance.figures`` + json.dumps, what
  GET /api/v1/shows/<slug>/reports/attendance answers), target ≤ 2 s;
- ``crm-expo import scans FILE --show bench`` of K gate-system rows (a CSV of the show's badge
  codes, times over its days), target ≤ 60 s for 1,000,000; then the same file again
  (re-import: nothing added).

    python bench/attendance_bench.py [--visitors 200000] [--scans 1000000] [--gate-rows 1000000] [--db URL]

Prints figures, the machine and its load average (the bench machine is shared)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from search_bench import machine  # noqa: E402


def load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def run(cmd, env) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    el = time.perf_counter() - t
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = next((line for line in done.stdout.splitlines() if " rows, " in line), done.stdout.strip()[-200:])
    print(f"  `{' '.join(cmd[:3])} …`: {el:.1f} s wall (load average {load()}) {summary}")
    return el


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--visitors", type=int, default=200_000)
    ap.add_argument("--scans", type=int, default=1_000_000)
    ap.add_argument("--gate-rows", type=int, default=1_000_000)
    ap.add_argument("--db", default="")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="attendance-bench-")
    url = args.db or "sqlite:///" + os.path.join(tmp, "bench.sqlite3")
    env = dict(os.environ, CRM_EXPO_DATABASE_URL=url, CRM_EXPO_INSTANCE_PATH=tmp, CRM_EXPO_SECRET_KEY="bench",
               CRM_EXPO_MAX_UPLOAD_MB="200")   # a million gate rows are ~50 MB of CSV
    print(machine())
    print(f"database: {url.split('@')[-1]}  visitors={args.visitors:,} desk scans={args.scans:,} "
          f"gate rows={args.gate_rows:,}  load average {load()}")
    if args.db.startswith("postgresql"):
        from search_bench import app_for
        app_for(args.db, tmp)     # a fresh schema
    subprocess.run(["crm-expo", "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(["crm-expo", "shows", "create", "bench", "--name", "基准展会", "--start", "2027-05-10"],
                   env=env, check=True, capture_output=True)
    print("generating:")
    run(["crm-expo", "generate", "--show", "bench", "--visitors", str(args.visitors), "--scans", str(args.scans)],
        env)

    from flask_babel import force_locale
    from sqlalchemy import select

    from crm_expo import create_app
    from crm_expo.extensions import db
    from crm_expo.models import Show
    from plugins.onsite.attendance import figures, plain
    from plugins.visitors.models import Registration
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench"})
    with app.test_request_context(), force_locale("en"):
        show = db.session.scalar(select(Show).where(Show.slug == "bench"))
        days = [d.date for d in show.days]
        codes = list(db.session.scalars(select(Registration.badge_code).where(Registration.show_id == show.id)))

        def timed():
            t = time.perf_counter()
            body = json.dumps(plain(figures(show)), ensure_ascii=False)
            return time.perf_counter() - t, body
        print("attendance JSON:")
        timings = []
        for _ in range(3):
            el, body = timed()
            timings.append(el)
        data = json.loads(body)
        print(f"  {min(timings):.2f} s best of 3 ({', '.join(f'{t:.2f}' for t in timings)}; load average {load()}),"
              f" {len(body) / 1e3:.0f} kB: unique_visitors={data['unique_visitors']:,} "
              f"total_attendance={data['total_attendance']:,} entries={data['entries']:,} "
              f"never admitted={data['registered_never_admitted']:,}")
        db.session.remove()

    path = os.path.join(tmp, "gates.csv")
    rng = random.Random("attendance-bench")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("code,time,gate,direction,result\n")
        for i in range(args.gate_rows):
            day = days[i % len(days)]
            at = dt.datetime.combine(day, dt.time(9)) + dt.timedelta(seconds=(i // len(days)) % 28_800,
                                                                     microseconds=i % 1_000_000)
            fh.write(f"{rng.choice(codes)},{at.isoformat(sep=' ')},G{i % 12},"
                     f"{'out' if i % 5 == 0 else 'in'},{'refused' if i % 97 == 0 else 'ok'}\n")
    print(f"gate-system import ({os.path.getsize(path) / 1e6:.0f} MB CSV):")
    run(["crm-expo", "import", "scans", path, "--show", "bench"], env)
    print("re-import of the same file:")
    run(["crm-expo", "import", "scans", path, "--show", "bench"], env)
    with app.test_request_context(), force_locale("en"):
        show = db.session.scalar(select(Show).where(Show.slug == "bench"))
        t = time.perf_counter()
        data = plain(figures(show))
        print(f"attendance JSON after the import: {time.perf_counter() - t:.2f} s (load average {load()}), "
              f"scans={data['scans']:,} total_attendance={data['total_attendance']:,}")


if __name__ == "__main__":
    main()
