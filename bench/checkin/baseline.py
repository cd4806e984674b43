"""The limit for the check-in benchmark: a minimal Flask + sqlite3 endpoint that does only
the same work as the real one at its core — look the badge up by code, insert one scan row
(with a unique nonce) in one transaction, answer JSON. No auth, no rules, no ORM.

Run: CHECKIN_BASELINE_DB=/path/baseline.sqlite3 gunicorn -w 2 baseline:app   (run.py serves it as crm-expo is served)
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading

from flask import Flask, jsonify, request

DB = os.environ.get("CHECKIN_BASELINE_DB", "/tmp/onsite-bench/baseline.sqlite3")
app = Flask(__name__)
_local = threading.local()


def conn() -> sqlite3.Connection:
    c = getattr(_local, "conn", None)
    if c is None:
        c = sqlite3.connect(DB, isolation_level=None, timeout=30)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")
        _local.conn = c
    return c


def create(path: str, codes: list[tuple[str, int, str]]) -> None:
    if os.path.exists(path):
        os.remove(path)
    c = sqlite3.connect(path)
    c.executescript("""
        PRAGMA journal_mode=WAL;
        CREATE TABLE badge (code TEXT PRIMARY KEY, registration_id INTEGER, category TEXT);
        CREATE TABLE scan (id INTEGER PRIMARY KEY, registration_id INTEGER, code TEXT, gate TEXT,
                           nonce TEXT UNIQUE, result TEXT, at TEXT);
    """)
    c.executemany("INSERT INTO badge VALUES (?, ?, ?)", codes)
    c.commit()
    c.close()


@app.post("/checkin")
def checkin():
    data = request.get_json()
    c = conn()
    c.execute("BEGIN IMMEDIATE")
    try:
        row = c.execute("SELECT registration_id, category FROM badge WHERE code = ?", (data["code"],)).fetchone()
        result = "ok" if row else "unknown"
        c.execute("INSERT INTO scan (registration_id, code, gate, nonce, result, at) VALUES (?, ?, ?, ?, ?, ?)",
                  (row[0] if row else None, data["code"], data["gate"], data["nonce"], result,
                   dt.datetime.utcnow().isoformat()))
        c.execute("COMMIT")
    except Exception:
        c.execute("ROLLBACK")
        raise
    return jsonify(result=result, person={"registration_id": row[0], "category": row[1]} if row else None)
