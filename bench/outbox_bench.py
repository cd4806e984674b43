"""Outbox benchmark (not a test): queue N mails in one transaction, then deliver them to a
local aiosmtpd — with one `crm-expo worker` process on the SQLite job queue, and with two
worker processes on Redis (a redis-server started here on loopback, when installed).

    PYTHONPATH=. python3 bench/outbox_bench.py [--mails 20000] [--threads 2] [--database URL]

Targets (issue 17): queueing 20,000 ≤ 10 s; delivery ≥ 200 mails/s in both modes."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.booths_common import fresh_app, machine  # noqa: E402


class Inbox:
    def __init__(self):
        self.ids: set[str] = set()
        self.count = 0
        self.first = self.last = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        head = envelope.content.split(b"\r\n\r\n", 1)[0]
        mid = next((line for line in head.split(b"\r\n") if line.lower().startswith(b"message-id:")), b"")
        now = time.perf_counter()
        with self.lock:
            self.ids.add(mid)
            self.count += 1
            self.first = self.first or now
            self.last = now
        return "250 OK"


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(mode: str, url: str, n: int, threads: int, processes: int, redis_url: str | None) -> None:
    from aiosmtpd.controller import Controller

    from crm_expo.database import transaction
    from crm_expo.extensions import db
    from crm_expo.mail import queue_mail
    instance = tempfile.mkdtemp(prefix="outbox-bench-")
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app = fresh_app(url, instance)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, REDIS_URL=redis_url)
    from crm_expo import jobs
    jobs.init_app(app)
    with app.app_context():
        started = time.perf_counter()
        with transaction():
            for i in range(n):
                queue_mail(f"guest{i}@example.com", f"邀请 {i}", f"您好，第 {i} 位来宾", f"<p>您好 {i}</p>")
        queued = time.perf_counter() - started
        db.session.remove()
    print(f"[{mode}] queued {n} mails in {queued:.2f} s ({n / queued:,.0f}/s; target ≤ 10 s for 20,000)")
    env = dict(os.environ, CRM_EXPO_DATABASE_URL=url, CRM_EXPO_SECRET_KEY="bench", CRM_EXPO_INSTANCE_PATH=instance,
               CRM_EXPO_MAIL_SERVER="127.0.0.1", CRM_EXPO_MAIL_PORT=str(port))
    if redis_url:
        env["CRM_EXPO_REDIS_URL"] = redis_url
    started = time.perf_counter()
    workers = [subprocess.Popen([sys.executable, "-m", "crm_expo", "worker", "--workers", str(threads)], env=env,
                                stderr=subprocess.DEVNULL) for _ in range(processes)]
    try:
        while len(inbox.ids) < n and time.perf_counter() - started < 600:
            time.sleep(0.1)
    finally:
        for w in workers:
            w.terminate()
            w.wait(10)
        controller.stop()
    span = (inbox.last or 0) - (inbox.first or 0)
    print(f"[{mode}] delivered {len(inbox.ids)} distinct of {n} ({inbox.count} received) with {processes} worker "
          f"process(es) × {threads} thread(s): {span:.2f} s from first to last mail, "
          f"{len(inbox.ids) / span if span else 0:,.0f} mails/s (target ≥ 200); "
          f"{time.perf_counter() - started:.2f} s including the workers' start")
    shutil.rmtree(instance, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--database", default=None, help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    print(machine(), f"load average {os.getloadavg()[0]:.2f}")
    url = args.database or "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="outbox-bench-db-"), "bench.sqlite3")
    run("sqlite queue", url, args.mails, args.threads, 1, None)
    exe = shutil.which("redis-server")
    if exe is None:
        print("[redis] skipped: redis-server is not installed")
        return
    port = free_port()
    redis = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        if not args.database:
            url = "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="outbox-bench-db-"), "bench.sqlite3")
        run("redis queue", url, args.mails, args.threads, 2, f"redis://127.0.0.1:{port}/0")
    finally:
        redis.terminate()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
