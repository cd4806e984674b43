"""Sign-in timing by outcome: does the time of a failed sign-in tell whether the account
exists or is disabled? Times ``auth.operations.authenticate`` with the production password
hasher for an unknown email, a wrong password, a disabled account and a right password.

    python bench/login_timing.py [--rounds 15]

Prints the median and spread per outcome, and the machine. Fresh SQLite in a temporary folder."""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from search_bench import app_for, machine


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = app_for(f"sqlite:///{tmp}/bench.sqlite3", tmp)
        app.config["LOGIN_MAX_FAILURES"] = 10 ** 6        # never locked during the bench
        with app.app_context():
            from crm_expo.auth.operations import authenticate
            from crm_expo.extensions import db
            from crm_expo.models import User
            for email, active in (("known@example.org", True), ("disabled@example.org", False)):
                u = User(email=email, role="organizer", active=active, name="bench")
                u.set_password("the right password")
                db.session.add(u)
            db.session.commit()
            cases = {"unknown email": ("nobody@example.org", "the right password"),
                     "wrong password": ("known@example.org", "a wrong password"),
                     "disabled account": ("disabled@example.org", "the right password"),
                     "right password": ("known@example.org", "the right password")}
            print(machine())
            for label, (email, password) in cases.items():
                runs = []
                for _ in range(args.rounds):
                    t0 = time.perf_counter()
                    authenticate(email, password, "192.0.2.1")
                    runs.append(time.perf_counter() - t0)
                print(f"{label:<18} median {statistics.median(runs) * 1000:6.1f} ms  "
                      f"(min {min(runs) * 1000:.1f}, max {max(runs) * 1000:.1f}, n={len(runs)})")


if __name__ == "__main__":
    main()
