"""Database plumbing: the SQLite server setup (background WAL checkpoints) and FastStatement."""
from __future__ import annotations

import datetime as dt
import os
import time

from sqlalchemy import JSON, Date, DateTime, Integer, String, create_engine

from crm_expo.database import FastStatement, configure_engine, hot_connection, start_background_checkpoints


def test_background_checkpoints_copy_the_wal_back_while_connections_never_do(tmp_path):
    path = tmp_path / "server.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    configure_engine(engine)
    start_background_checkpoints(engine, every_seconds=0.2)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
        conn.commit()
        size_before = os.path.getsize(path)
        for _ in range(20):   # ~2,500 pages through the WAL, past the default 1,000-page threshold
            conn.exec_driver_sql("INSERT INTO t (payload) SELECT hex(randomblob(2000)) FROM "
                                 "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250) "
                                 "SELECT i FROM n)")
            conn.commit()
    deadline = time.monotonic() + 10
    while os.path.getsize(path) <= size_before + 5_000_000 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert os.path.getsize(path) > size_before + 5_000_000, "the background thread never checkpointed"
    engine.dispose()


def test_fast_statement_converts_like_the_orm_both_ways(app):
    """Dates, times, booleans and JSON go in and come out as the ORM stores them, on SQLite
    (text) and PostgreSQL alike; parameters are bound, never spliced into the SQL."""
    from crm_expo.extensions import db
    from crm_expo.models import Setting
    from tests.factories import make_show
    show = make_show()
    with app.test_request_context():
        db.session.add(Setting(show_id=show.id, key="core.test", value={"a": [1, "二"]}))
        db.session.commit()
        stmt = FastStatement(
            "SELECT s.value, d.date, :when AS at, :name AS name FROM settings s "
            "JOIN show_days d ON d.show_id = s.show_id WHERE s.key = :key AND d.date = :day",
            params={"day": Date(), "when": DateTime()},
            columns={"value": JSON(), "date": Date(), "at": DateTime(), "name": String()})
        day = show.days[0].date
        when = dt.datetime(2027, 5, 10, 9, 30, 15, 250)
        rows = stmt.run({"key": "core.test", "day": day, "when": when, "name": "x' OR '1'='1"})
        hot_connection().commit()
        assert rows == [({"a": [1, "二"]}, day, when, "x' OR '1'='1")]
        assert FastStatement("SELECT count(*) FROM settings WHERE key = :key",
                             columns={"n": Integer()}).run({"key": "x' OR '1'='1"}) == [(0,)]


def test_background_checkpoints_ignore_other_databases():
    engine = create_engine("sqlite://")
    start_background_checkpoints(engine)
    assert not getattr(engine, "crm_background_checkpoints", False)
