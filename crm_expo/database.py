"""Database plumbing shared by the core and the plugins.

SQLite is the embedded default, so it is set up to behave under concurrent requests:
WAL (readers never block the writer), a busy timeout (a writer waits instead of failing),
foreign keys on, and read-then-write transactions that begin IMMEDIATE — otherwise two
requests can both read, then both try to write, and one fails with "database is locked"."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from .extensions import db

SQLITE_BUSY_TIMEOUT_MS = 30_000


def utcnow() -> dt.datetime:
    """Naive UTC now: every stored timestamp is UTC (converted for display only)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def is_sqlite(engine: Engine | None = None) -> bool:
    engine = engine or db.engine
    return engine.dialect.name == "sqlite"


def configure_engine(engine: Engine) -> None:
    """Install the SQLite connection setup on an engine (no-op for other databases)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the driver, emit BEGIN, so we can choose its kind.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def write_transaction() -> None:
    """Start the session's transaction as a writer.

    Call at the start of an operation that reads and then writes (book a booth, check in a
    badge). On SQLite the transaction begins IMMEDIATE, taking the write lock up front (the
    busy timeout queues competitors instead of failing them); on PostgreSQL it is a normal
    transaction and the operation relies on constraints and row locks. A read-only
    transaction already open in the session (e.g. loading the current user) is ended first.
    """
    session = db.session()   # the real Session behind the scoped_session proxy
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            session.flush()
        session.commit()
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


@contextmanager
def transaction():
    """``with transaction(): ...`` — one write transaction that commits or rolls back whole."""
    write_transaction()
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def describe_connection_error(url, exc: Exception) -> str:
    safe = url.render_as_string(hide_password=True) if hasattr(url, "render_as_string") else str(url)
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
    return f"cannot connect to the database {safe}: {reason}"


def check_connection(engine: Engine) -> str | None:
    """Return None if the database answers, else a one-line message naming the cause."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        return describe_connection_error(engine.url, exc)
    except Exception as exc:  # a driver that is missing, a malformed URL …
        return describe_connection_error(engine.url, exc)
    return None
