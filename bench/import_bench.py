"""Import at scale: write a CSV (UTF-8 with BOM, as Excel saves it) of N contact rows — name,
company, mobile, email — and time crm_expo.imports.run_import with the core contact importer
(contacts.importing.PERSON_COLUMNS / apply_person_rows): file read, header mapping, cell checks,
phone/email normalisation, duplicate lookups, bulk inserts of people and search tokens.
Then import the same file again (re-import: nothing added) and time that too.

    python bench/import_bench.py [--n 100000] [--db URL] [--visitors]

--visitors also times `crm-expo import visitors FILE --show bench` (the visitors plugin's
importer, a separate process) on a fresh database. Prints figures and the machine."""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from search_bench import app_for, machine, name_pools  # noqa: E402


def load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def write_csv(path: str, n: int, rng: random.Random) -> None:
    surnames, given, en_first, en_last, companies = name_pools()
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        fh.write("姓名,公司,手机,邮箱,职位\n")
        for i in range(n):
            if rng.random() < 0.1:
                name = f"{rng.choice(en_first)} {rng.choice(en_last)}"
            else:
                name = rng.choice(surnames) + rng.choice(given) + (rng.choice(given) if rng.random() < .5 else "")
            fh.write(f"{name},{rng.choice(companies)}科技有限公司,1{rng.choice('3589')}{i:09d},"
                     f"v{i}@example{i % 50}.cn,{rng.choice(['经理', '工程师', '采购', ''])}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--db", default="")
    ap.add_argument("--visitors", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="import-bench-")
    url = args.db or "sqlite:///" + os.path.join(tmp, "bench.sqlite3")
    path = os.path.join(tmp, "contacts.csv")
    write_csv(path, args.n, random.Random("import-bench"))
    print(machine())
    print(f"database: {url.split('@')[-1]}  rows={args.n}  file={os.path.getsize(path) / 1e6:.1f} MB")

    app = app_for(url, tmp)
    from crm_expo.contacts.importing import PERSON_COLUMNS, apply_person_rows, run_import
    with app.app_context():
        for label in ("first import", "re-import"):
            t, cpu = time.perf_counter(), time.process_time()
            report = run_import(None, path, path, "contacts", PERSON_COLUMNS, apply_person_rows)
            el, cpu = time.perf_counter() - t, time.process_time() - cpu
            print(f"{label}: {el:.1f} s wall, {cpu:.1f} s CPU of this process + "
                  f"{os.times().children_user:.1f} s checking worker so far ({args.n / el:,.0f} rows/s, "
                  f"load average {load()}); {report.summary()}")

    if args.visitors:
        vdb = "sqlite:///" + os.path.join(tmp, "visitors.sqlite3") if not args.db else args.db
        env = dict(os.environ, CRM_EXPO_DATABASE_URL=vdb, CRM_EXPO_INSTANCE_PATH=tmp, CRM_EXPO_SECRET_KEY="bench")
        if args.db:
            app_for(args.db, tmp)     # fresh schema
        subprocess.run(["crm-expo", "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run(["crm-expo", "shows", "create", "bench", "--name", "基准展会", "--start", "2027-05-10"],
                       env=env, check=True, capture_output=True)
        cmd = ["crm-expo", "import", "visitors", path, "--show", "bench"]
        t = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        el = time.perf_counter() - t
        print(f"`{' '.join(cmd)}`: {el:.1f} s (process start included, load average {load()}), "
              f"exit {done.returncode}: "
              f"{(done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) else ''}")


if __name__ == "__main__":
    main()
