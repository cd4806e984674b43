"""Database plumbing shared by the core and the plugins.

SQLite is the embedded default, so it is set up to behave under concurrent requests:
WAL (readers never block the writer), a busy timeout (a writer waits instead of failing),
foreign keys on, and read-then-write transactions that begin IMMEDIATE — otherwise two
requests can both read, then both try to write, and one fails with "database is locked"."""
from __future__ import annotations

import datetime as dt
import fcntl
import functools
import os
import sqlite3
import threading
import time
from contextlib import contextmanager

from flask import g
from sqlalchemy import UniqueConstraint, bindparam, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from .extensions import db

SQLITE_BUSY_TIMEOUT_MS = 30_000


# The largest integer a database column holds (BIGINT; SQLite's INTEGER): ids and numbers from
# outside beyond it are refused before they reach the driver, which would overflow.
DATABASE_INT_MAX = 2 ** 63 - 1


def utcnow() -> dt.datetime:
    """Naive UTC now: every stored timestamp is UTC (converted for display only)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


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
        if getattr(engine, "crm_background_checkpoints", False):
            cur.execute("PRAGMA wal_autocheckpoint = 0")   # see start_background_checkpoints
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
            # 32 MiB of page cache per connection (SQLite's default is 2 MiB): a desk's random
            # badge lookups touch pages all over the badge, registration and person tables,
            # and each miss is a system call. Pooled connections keep their cache warm.
            # The file is not memory-mapped: after a write by another connection (the other
            # server worker, between most check-ins) SQLite drops the mapping with the page
            # cache, and mapping the file again and faulting its pages in cost more than the
            # reads it saved (bench/checkin: about 1,540 → 1,710–1,910 check-ins/s).
            cur.execute("PRAGMA cache_size = -32768")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def start_background_checkpoints(engine: Engine, every_seconds: float = 0.1) -> None:
    """For a server process on SQLite: move WAL checkpoints off the request threads.

    By default the connection whose commit grows the WAL past 1,000 pages copies it back
    into the database (and syncs it) before its request can answer: every few hundred
    check-ins one scan waited tens of milliseconds. Here the server's connections never
    checkpoint; a daemon thread of the process does, every ``every_seconds``, in PASSIVE
    mode (it never blocks readers or writers). Often, so that each copy is small: at full
    check-in rate a checkpoint every half second took 20–25 ms (up to 140 ms) of copying
    and syncing and held up the scans around it; every tenth of a second it takes about
    9 ms, and the check-in's p99 fell from about 19 to about 14 ms (bench/checkin). Call
    it in each server process before the first connection (gunicorn's post_fork)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    engine.crm_background_checkpoints = True
    path = engine.url.database

    def checkpoint_forever():
        conn = sqlite3.connect(path, timeout=1, isolation_level=None, check_same_thread=False)
        while True:
            time.sleep(every_seconds)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:   # the other process is checkpointing: next time
                pass

    threading.Thread(target=checkpoint_forever, name="sqlite-wal-checkpoint", daemon=True).start()


def checkpoint(engine: Engine | None = None) -> None:
    """SQLite: copy the WAL back into the database file now, in PASSIVE mode (it copies
    what no reader still needs and never waits). Bulk imports call it once at the end, since
    their commits skip the automatic checkpoint (tune_for_bulk)."""
    engine = engine or db.engine
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    raw = engine.raw_connection()      # autocommit: a checkpoint cannot run inside a transaction
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        raw.close()


BULK_CACHE_KIB = 256 * 1024


def tune_for_bulk() -> None:
    """SQLite, on the session's connection while a bulk import writes:

    - a 256 MB page cache (with the default 2 MB, index inserts in random order spill and
      re-read pages);
    - no automatic checkpoint at its commits. By default a commit that leaves the WAL over
      1,000 pages copies the whole WAL back into the database file, so the index pages every
      batch touches were copied once per batch: 0.9 s of a 100,000-row visitors import. The
      importer checkpoints once at the end instead (:func:`checkpoint`).

    The connection's own settings are put back when it returns to the pool."""
    conn = db.session.connection()
    if conn.dialect.name != "sqlite":
        return
    info = conn.connection.info          # lives as long as the driver connection
    if "crm_bulk_settings" not in info:
        info["crm_bulk_settings"] = (conn.exec_driver_sql("PRAGMA cache_size").scalar(),
                                     conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar())
        conn.exec_driver_sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")
        pool = conn.engine.pool
        if not getattr(pool, "_crm_bulk_restore", False):
            pool._crm_bulk_restore = True
            event.listen(pool, "checkin", _restore_settings)


def _restore_settings(dbapi_connection, record) -> None:
    old = record.info.pop("crm_bulk_settings", None) if record is not None else None
    if old is not None and dbapi_connection is not None:
        cache_size, autocheckpoint = (int(v) for v in old)
        dbapi_connection.execute(f"PRAGMA cache_size = {cache_size}")
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint = {autocheckpoint}")


_writer_locks: dict[str, tuple[threading.Lock, int]] = {}   # database path → (thread lock, lock file)
_writer_locks_guard = threading.Lock()
# A forked worker opens its own lock file: an flock() on the parent's open file would be
# the parent's lock too, and not keep the two apart.
os.register_at_fork(after_in_child=_writer_locks.clear)


@contextmanager
def writer_lock(engine: Engine | None = None):
    """``with writer_lock(): <one short write>`` — queue SQLite writers fairly.

    SQLite lets one connection write at a time; the others wait in its busy handler, which
    polls in sleeps of 1, 2, 5 … up to 100 ms. Under a stream of short writes from several
    server processes a waiter keeps waking to find the lock taken again, and a few wait
    hundreds of milliseconds. Here writers queue instead on a thread lock within the process
    and an flock() on a file beside the database across processes; the kernel wakes the
    next waiter the moment the lock is released. A no-op on PostgreSQL (row locks do this)."""
    engine = engine or db.engine
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    lock = _writer_locks.get(path)
    if lock is None:
        with _writer_locks_guard:
            lock = _writer_locks.get(path)
            if lock is None:
                fd = os.open(path + "-writer-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                lock = _writer_locks[path] = (threading.Lock(), fd)
    thread_lock, fd = lock
    with thread_lock:
        fcntl.flock(fd, fcntl.LOCK_EX)   # flock() releases the GIL while it waits
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


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


# --- one way to write a transaction ---------------------------------------------------------
# The state of the helper lives in the Session's info dict (one Session per request or thread
# behind the scoped session): how deep the nesting is, the signals waiting for the outermost
# commit, and the constraint names each level turns into a domain error.
_DEPTH, _QUEUE = "crm_tx_depth", "crm_tx_after_commit"


@contextmanager
def transaction(*, write: bool = True, constraint_errors: dict | None = None, savepoint: bool = False,
                dry_run: bool = False):
    """``with transaction(constraint_errors={"uq_booths_booking_active": BoothError(...)}): ...``

    The one way an operation writes. The outermost use begins the transaction (``write``:
    as a writer, see :func:`write_transaction`: SQLite BEGIN IMMEDIATE, so read-then-write
    never fails with "database is locked"), commits when the block ends and rolls back on
    any exception. Signals queued with ``signals.send_after_commit`` inside it, at any depth,
    are sent after that commit and dropped on a rollback, so a receiver always finds the data.

    ``constraint_errors`` maps the name of a constraint or unique index (as in the database:
    ``uq_…``, ``ck_<table>_<name>``) to the domain error to raise when a statement of the block
    violates it; the IntegrityError is its cause. A violation of any other constraint is a
    bug and is raised as it is.

    A nested use joins the outer transaction (its block is part of the outer one: nothing is
    committed before the outermost ends), or with ``savepoint=True`` runs in a SAVEPOINT: a
    failure inside rolls back that step only (and its queued signals) and the outer block
    may catch the error and go on.

    ``dry_run=True`` (an import's trial run) runs the block and rolls it back at the end, as if
    it had failed: the caller reads what would have happened, nothing stays, no signal goes."""
    session = db.session()   # the real Session behind the scoped_session proxy
    depth = session.info.get(_DEPTH, 0)
    if depth == 0:
        if write:
            write_transaction()
        session.info[_QUEUE] = []
    queue = session.info.setdefault(_QUEUE, [])
    queued_before = len(queue)
    session.info[_DEPTH] = depth + 1
    try:
        if savepoint:
            try:
                with session.begin_nested():
                    yield session
            except BaseException:
                del queue[queued_before:]
                raise
        else:
            yield session
            session.flush()     # a violation surfaces here, where this level's names apply
        if depth == 0:
            if dry_run:
                _rollback(session)
            else:
                session.commit()
    except IntegrityError as exc:
        if depth == 0:
            _rollback(session)
        refusal = constraint_error(exc, constraint_errors)
        if refusal is None:
            raise
        raise refusal from exc
    except BaseException:
        if depth == 0:
            _rollback(session)
        raise
    finally:
        session.info[_DEPTH] = depth
    if depth == 0:
        pending = session.info.pop(_QUEUE, [])
        for signal, sender, kwargs in pending:
            signal.send(sender, **kwargs)


def _rollback(session) -> None:
    session.info.pop(_QUEUE, None)
    session.rollback()


def after_commit(signal, sender, kwargs: dict) -> bool:
    """Queue a signal for the end of the open :func:`transaction`; False when none is open
    (the caller sends it now: whatever it announces is committed already)."""
    session = db.session()
    if not session.info.get(_DEPTH):
        return False
    session.info.setdefault(_QUEUE, []).append((signal, sender, kwargs))
    return True


def constraint_error(exc: IntegrityError, errors: dict | None) -> Exception | None:
    """The error of ``errors`` (constraint name → exception) whose constraint ``exc`` violated."""
    if not errors:
        return None
    for name, error in errors.items():
        if violated(exc, name):
            return error
    return None


def violated(exc: IntegrityError, name: str) -> bool:
    """Did this IntegrityError come from the constraint or unique index called ``name``?

    PostgreSQL (psycopg) names it in the error's diagnostics. SQLite names a CHECK constraint
    (``CHECK constraint failed: ck_…``) but a unique index or constraint only by its columns
    (``UNIQUE constraint failed: booths_booking.booth_id``): those are looked up in the
    models' metadata by the name."""
    orig = getattr(exc, "orig", exc)
    diag = getattr(orig, "diag", None)
    if diag is not None:
        return getattr(diag, "constraint_name", None) == name
    message = str(orig)
    if f": {name}" in message or f"'{name}'" in message:
        return True
    columns = _unique_columns().get(name)
    return columns is not None and message.startswith("UNIQUE constraint failed: ") and \
        message[len("UNIQUE constraint failed: "):].strip() == columns


_unique_columns_cache: dict[str, str] | None = None


def _unique_columns() -> dict[str, str]:
    """Name of each unique index and constraint of the models → SQLite's "table.a, table.b"."""
    global _unique_columns_cache
    if _unique_columns_cache is None:
        preparer = db.engine.dialect.identifier_preparer
        found = {}
        for table in db.metadata.tables.values():
            uniques = [i for i in table.indexes if i.unique] + \
                [c for c in table.constraints if isinstance(c, UniqueConstraint)]
            for unique in uniques:
                try:
                    name = preparer.format_constraint(unique)
                except Exception:    # an unnamed one the convention cannot name: not matchable
                    continue
                found[name.strip('"')] = ", ".join(f"{table.name}.{c.name}" for c in unique.columns)
        _unique_columns_cache = found
    return _unique_columns_cache


class FastStatement:
    """One fixed SQL statement run straight on a DB-API connection, for the few hot paths
    where SQLAlchemy's per-execution work (some 60 µs a statement, more than the statement
    itself) decides the throughput: the gate's check-in.

    Written with ``:name`` parameters. SQLAlchemy still does the dialect work, once per
    dialect: it compiles the text to the driver's parameter style (``?`` or ``%(name)s``,
    with PostgreSQL casts), and its types convert parameters and results exactly as the ORM
    stores them (SQLite keeps dates and times as text). ``columns`` lists the selected
    columns in order with their types; rows come back as tuples."""

    def __init__(self, sql: str, params: dict | None = None, columns: dict | None = None):
        self.sql, self.param_types, self.column_types = sql, params or {}, columns or {}
        self.column_names = tuple(self.column_types)
        self._prepared: dict[str, tuple] = {}

    def _prepare(self, dialect) -> tuple:
        stmt = text(self.sql).bindparams(*(bindparam(k, type_=t) for k, t in self.param_types.items()))
        compiled = stmt.compile(dialect=dialect)
        binds = {k: p for k, t in self.param_types.items()
                 if (p := t.dialect_impl(dialect).bind_processor(dialect)) is not None}
        results = [t.dialect_impl(dialect).result_processor(dialect, None) for t in self.column_types.values()]
        order = tuple(compiled.positiontup) if dialect.positional else None
        return compiled.string, order, binds, results if any(results) else None

    def run(self, params: dict) -> list[tuple]:
        """Execute on the request's ``hot_connection()``; the rows."""
        conn, dialect = _hot()
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            prepared = self._prepared[dialect.name] = self._prepare(dialect)
        sql, order, binds, results = prepared
        if binds:
            params = {k: (binds[k](v) if k in binds else v) for k, v in params.items()}
        cursor = conn.cursor()
        try:
            cursor.execute(sql, tuple(params[k] for k in order) if order is not None else params)
            rows = cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()
        if results:
            rows = [tuple(p(v) if p else v for p, v in zip(results, row, strict=True)) for row in rows]
        return rows


def hot_connection():
    """The request's own DB-API connection for FastStatements: checked out of the pool once
    per request and given back when it ends (``close_hot_connection``). Outside the ORM
    session, so a hot path pays for no session bookkeeping. On SQLite every statement
    commits by itself (the driver runs in autocommit: see ``configure_engine``); call
    ``commit()`` after a group of statements so PostgreSQL ends its transaction too."""
    return _hot()[0]


def _hot() -> tuple:
    hot = g.get("_hot_connection")
    if hot is None:
        engine = db.engine
        hot = g._hot_connection = (engine.raw_connection(), engine.dialect)
    return hot


def close_hot_connection(_exc=None) -> None:
    hot = g.pop("_hot_connection", None)
    if hot is not None:
        hot[0].close()   # back to the pool, which rolls back anything left open


def integrity_error(exc: BaseException) -> bool:
    """Is this DB-API exception a constraint violation (for FastStatement callers)?"""
    return isinstance(exc, _hot()[1].loaded_dbapi.IntegrityError)


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


# === bulk SQL ====================================================================================
# Generic helpers for code that writes many rows at once (imports, generators): fresh ids
# drawn before the insert, multi-row INSERTs straight through the driver (COPY on PostgreSQL,
# a JSON array on SQLite). Values are always bound parameters.
def chunks(seq, n: int):
    """``seq`` in lists of at most ``n`` items (IN lists, statement batches)."""
    seq = list(seq)
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def new_ids(table, n: int) -> list[int]:
    """n fresh primary keys of ``table``, so a bulk insert needs no RETURNING (slow for big
    batches on SQLite) and related rows can be built before the insert. PostgreSQL: from the
    table's sequence. SQLite: after the current maximum — safe because bulk inserts run in a
    write transaction (BEGIN IMMEDIATE holds the write lock)."""
    from sqlalchemy import func, select
    if n == 0:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        return list(db.session.scalars(text(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, :n)"),
            {"n": n}))
    start = (db.session.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(start, start + n))


def executemany(table, cols: list[str], rows: list[tuple], ready=()) -> None:
    """INSERT many rows straight through the driver: SQLAlchemy's per-row parameter
    processing costs more than the database's own work at 100,000 rows. Values are bound
    parameters as always. ``ready``: date/time columns whose values are all given in the
    stored form already (:func:`driver_datetime`), which saves looking at them row by row."""
    from sqlalchemy import Date, DateTime
    if not rows:
        return
    conn = db.session.connection()
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        # COPY: one stream instead of a statement per row (10× faster at 100,000 rows).
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy(f'COPY {table.name} ({", ".join(cols)}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        return
    if conn.dialect.name == "sqlite":
        # dates as SQLAlchemy stores them in SQLite (the driver's own adapters differ)
        dates = [i for i, c in enumerate(cols) if isinstance(table.c[c].type, (Date, DateTime))
                 and c not in ready and any(isinstance(r[i], dt.date) for r in rows)]
        if dates:
            rows = [_sqlite_dates(r, dates) for r in rows]
        if insert_from_json(conn, table, cols, rows):
            return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f'INSERT INTO {table.name} ({", ".join(cols)}) VALUES ({", ".join([mark] * len(cols))})'
    for chunk in chunks(rows, 20000):
        conn.exec_driver_sql(sql, chunk)


_JSON_SCALARS = (str, int, float, bool, type(None))
_JSON_MIN_CONSTANT, _JSON_MAX_VARYING = 2, 6     # where the JSON path measured faster


def insert_from_json(conn, table, cols: list[str], rows: list[tuple]) -> bool:
    """SQLite: ``INSERT … SELECT … FROM json_each(?)``, the rows as one JSON array per chunk.

    The driver's executemany binds every value of every row, converting each from Python;
    at 100,000 rows that costs more than the insert itself. Here a column with one value in
    every row (the show, the import's timestamp, a default) is bound once for the chunk and
    the varying ones travel as JSON that SQLite parses in C. Each ``->>`` parses its row's
    JSON again, so this pays only for narrow rows with several constant columns: replaying a
    100,000-row visitors import, registrations (6 varying, 7 constant columns) took 2.1–2.5 →
    1.3–1.8 s and consents 1.4–1.7 → 0.8–1.1 s, while persons (10 varying) got slower and
    stay on executemany. Still one bound parameter per value: nothing is spliced into the
    SQL. Returns False (nothing done) when the rows do not suit it, a value is not a plain
    JSON scalar of the same meaning (bytes, NaN…) or SQLite predates ``->>`` (3.38)."""
    import json
    import operator

    def suits(same: list[int]) -> bool:
        return len(same) >= _JSON_MIN_CONSTANT and 0 < len(cols) - len(same) <= _JSON_MAX_VARYING

    if sqlite3.sqlite_version_info < (3, 38) or len(rows) < 2:
        return False
    first, middle, last = rows[0], rows[len(rows) // 2], rows[-1]
    # Three rows rule out most columns at once; the rest are checked over every row.
    maybe_same = [i for i, value in enumerate(first) if middle[i] == value and last[i] == value]
    if not suits(maybe_same):
        return False
    same = []
    for i in maybe_same:
        column = list(map(operator.itemgetter(i), rows))        # C loops: 100,000 rows in ~2 ms
        if column.count(first[i]) == len(column) and set(map(type, column)) == {type(first[i])}:
            same.append(i)
    if not suits(same) or any(type(first[i]) not in _JSON_SCALARS for i in same):
        return False
    varying = [i for i in range(len(cols)) if i not in same]
    pick = operator.itemgetter(*varying) if len(varying) > 1 else (lambda r: (r[varying[0]],))
    position = {i: n for n, i in enumerate(varying)}
    select = ", ".join(f"value ->> {position[i]}" if i in position else "?" for i in range(len(cols)))
    sql = f'INSERT INTO {table.name} ({", ".join(cols)}) SELECT {select} FROM json_each(?)'
    try:
        payloads = [json.dumps([pick(r) for r in chunk], ensure_ascii=False, allow_nan=False)
                    for chunk in chunks(rows, 20000)]
    except (TypeError, ValueError):
        return False
    constants = tuple(first[i] for i in same)
    for payload in payloads:
        conn.exec_driver_sql(sql, (*constants, payload))
    return True


def driver_datetime(value: dt.datetime):
    """``value`` as :func:`executemany` stores it: the SQLite text form, else unchanged."""
    return _sqlite_date(value) if db.session.get_bind().dialect.name == "sqlite" else value


@functools.lru_cache(maxsize=1024)
def _sqlite_date(value):
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _sqlite_dates(row: tuple, positions: list[int]) -> tuple:
    row = list(row)
    for i in positions:
        if row[i] is not None:
            row[i] = _sqlite_date(row[i])
    return tuple(row)
