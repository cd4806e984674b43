"""Check-in benchmark (issue #5): `crm-expo serve --workers 2`, 16 concurrent connections,
100,000 registered visitors, each badge scanned once, measured with wrk — and in the same run
the minimal Flask + sqlite3 baseline (baseline.py) served the same way (gunicorn, 2 workers,
the same worker kind), as the limit. Target: ≥ 50 % of the baseline's throughput and
p99 ≤ 15 ms.

    python bench/checkin/run.py [--visitors 100000] [--duration 20] [--connections 16] [--rounds 3]
                                [--server-threads 1]

--server-threads 1 (crm-expo serve's default) runs crm-expo's sync workers (crm_expo.server.
DeskSyncWorker, gunicorn's sync worker that closes a finished connection at once) for both
servers; more runs gunicorn's threaded workers (gthread) with that many threads.

Prints the figures and the machine. Data lives in /tmp/onsite-bench (reused between runs;
the scan tables are emptied before each run, so every badge is scanned once).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = "/tmp/onsite-bench"
DB = os.path.join(ROOT, "crm.sqlite3")
BASE_DB = os.path.join(ROOT, "baseline.sqlite3")
CODES = os.path.join(ROOT, "codes.txt")
REFERENCE_BASELINE_RPS = 3500   # issue #5: "such a baseline does about 3,500 check-ins/s"


def env() -> dict:
    return dict(os.environ, CRM_EXPO_INSTANCE_PATH=ROOT, CRM_EXPO_DATABASE_URL=f"sqlite:///{DB}",
                CRM_EXPO_SECRET_KEY="bench-secret")


def crm(*args: str) -> str:
    out = subprocess.run(["crm-expo", *args], env=env(), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"crm-expo {' '.join(args)} failed: {out.stderr[-2000:]}")
    return out.stdout


def prepare(visitors: int) -> str:
    os.makedirs(ROOT, exist_ok=True)
    have = 0
    if os.path.exists(DB):
        with sqlite3.connect(DB) as c:
            try:
                have = c.execute("SELECT count(*) FROM visitors_registration r JOIN shows s ON s.id = r.show_id "
                                 "WHERE s.slug = 'bench'").fetchone()[0]
            except sqlite3.Error:
                have = 0
    if have == visitors and subprocess.run(["crm-expo", "db", "upgrade"], env=env(), capture_output=True).returncode:
        have = 0   # a schema the migrations cannot bring up to date: rebuild
    if have != visitors:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(DB + suffix):
                os.remove(DB + suffix)
        crm("db", "upgrade")
        start = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() - dt.timedelta(days=1)
        crm("shows", "create", "bench", "--name", "基准展会", "--start", start.isoformat(), "--days", "4")
        t = time.perf_counter()
        crm("generate", "--show", "bench", "--visitors", str(visitors), "--seed", "1")
        print(f"generated {visitors} visitors in {time.perf_counter() - t:.0f} s")
    with sqlite3.connect(DB) as c:
        # Trade visitors are verified before the show in real life; most scans should admit.
        c.execute("UPDATE visitors_registration SET verification = 'verified' WHERE verification = 'pending'")
        c.execute("DELETE FROM onsite_scan")
        rows = c.execute("SELECT badge_code, id, category FROM visitors_registration ORDER BY id").fetchall()
    with open(CODES, "w") as fh:
        fh.write("\n".join(r[0] for r in rows) + "\n")
    sys.path.insert(0, HERE)
    import baseline
    baseline.create(BASE_DB, rows)
    token = re.search(r"(ce_\S+)", crm("tokens", "create", "--role", "desk", "--show", "bench"))
    if not token:
        sys.exit("no token printed by crm-expo tokens create")
    return token.group(1)


def serve(cmd: list[str], port: int, extra_env: dict) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=dict(env(), **extra_env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.3)
    proc.kill()
    sys.exit(f"server did not start: {proc.stderr.read().decode()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def wrk(url: str, token: str, run: str, duration: int, connections: int, threads: int) -> dict:
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
                          "-s", os.path.join(HERE, "checkin.lua"), url],
                         env=dict(os.environ, CODES=CODES, TOKEN=token, NTHREADS=str(threads), RUN=run),
                         capture_output=True, text=True)
    text = out.stdout

    def ms(label):
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not m:
            return None
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    total = re.search(r"(\d+) requests in", text)
    return {"rps": float(rps.group(1)) if rps else 0.0, "p50": ms("50%"), "p99": ms("99%"),
            "requests": int(total.group(1)) if total else 0, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "raw": text}


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        pass
    load = os.getloadavg()
    return (f"nproc={os.cpu_count()} cpu='{model}' python={platform.python_version()} "
            f"load(1/5/15 min)={load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--visitors", type=int, default=100_000)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--server-threads", type=int, default=1,
                    help="threads per gunicorn worker, for both servers (1 = sync workers)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="crm-expo then baseline, this many times; the median is reported (a shared VM's "
                         "throughput swings by a quarter from one run to the next)")
    args = ap.parse_args()
    token = prepare(args.visitors)
    print(machine())
    print(f"visitors={args.visitors} connections={args.connections} duration={args.duration}s "
          f"wrk threads={args.threads} rounds={args.rounds} server threads per worker={args.server_threads}; "
          f"each request a distinct badge code and nonce")
    st = args.server_threads
    # the baseline gets crm-expo serve's own worker kind, so that the two differ only in the app
    worker = ["-k", "gthread", "--threads", str(st)] if st > 1 else ["-k", "crm_expo.server.DeskSyncWorker"]
    base_name = f"baseline Flask+sqlite3 (gunicorn 2×{st})"
    port, bport = 18731, 18732
    reals, bases, ratios = [], [], []
    for n in range(1, args.rounds + 1):
        for path, table in ((DB, "onsite_scan"), (BASE_DB, "scan")):
            with sqlite3.connect(path) as c:
                c.execute(f"DELETE FROM {table}")   # every badge scanned once per round
        proc = serve(["crm-expo", "serve", "--workers", "2", "--threads", str(st), "--port", str(port)], port, {})
        try:
            real = wrk(f"http://127.0.0.1:{port}/api/v1/shows/bench/checkins", token, "crm", args.duration,
                       args.connections, args.threads)
        finally:
            stop(proc)
        with sqlite3.connect(DB) as c:
            results = dict(c.execute("SELECT result, count(*) FROM onsite_scan GROUP BY result").fetchall())
        bproc = serve([sys.executable, "-m", "gunicorn", "-w", "2", *worker,
                       "-b", f"127.0.0.1:{bport}", "--chdir", HERE, "baseline:app"], bport,
                      {"CHECKIN_BASELINE_DB": BASE_DB})
        try:
            base = wrk(f"http://127.0.0.1:{bport}/checkin", "", "base", args.duration, args.connections, args.threads)
        finally:
            stop(bproc)
        ratio = real["rps"] / base["rps"] if base["rps"] else 0
        reals.append(real), bases.append(base), ratios.append(ratio)
        print(f"round {n}:")
        for name, r in ((f"crm-expo serve --workers 2 --threads {st}", real), (base_name, base)):
            print(f"  {name:<40} {r['rps']:>9.1f} req/s  p50 {r['p50']} ms  p99 {r['p99']} ms  "
                  f"requests {r['requests']}  non-2xx {r['non2xx']}")
        print(f"  scan rows recorded by crm-expo: {results}; throughput vs baseline {100 * ratio:.1f} %")

    def median(values):
        return statistics.median(v for v in values if v is not None) if any(v is not None for v in values) else None
    print(f"median of {args.rounds} rounds: crm-expo {median([r['rps'] for r in reals]):.1f} req/s, "
          f"p99 {median([r['p99'] for r in reals])} ms; baseline {median([r['rps'] for r in bases]):.1f} req/s, "
          f"p99 {median([r['p99'] for r in bases])} ms")
    print(f"throughput vs baseline: {100 * median(ratios):.1f} % (target ≥ 50 %); "
          f"p99 {median([r['p99'] for r in reals])} ms (target ≤ 15 ms)")
    # The targets were set on a machine where this baseline did about 3,500 check-ins/s;
    # the p99 (queueing behind 16 connections) scales with the machine's speed, the ratio does not.
    print(f"machine speed: the baseline did {median([r['rps'] for r in bases]):.0f} req/s here, "
          f"{median([r['rps'] for r in bases]) / REFERENCE_BASELINE_RPS:.2f}× the issue's reference "
          f"({REFERENCE_BASELINE_RPS:,} req/s)")
    print(machine())


if __name__ == "__main__":
    main()
