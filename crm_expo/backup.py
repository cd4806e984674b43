"""Backups of one instance into one file, and their restore into an empty instance.

A backup is a tar archive (owner-only, 0600) holding:

- ``manifest.json``: ``format`` ("crm-expo-backup"), ``format_version``, the crm-expo
  ``version``, the ``database`` kind (sqlite or postgresql), the Alembic ``heads`` the
  database was at, ``created_at`` (UTC) and the instance ``files`` included;
- ``database.sqlite3`` (SQLite: the online backup API, one read transaction — in WAL mode
  the desks keep writing while it runs, and the copy is the database as of its start) or
  ``database.pgdump`` (PostgreSQL: ``pg_dump --format=custom``, one snapshot);
- ``instance/…``: the secret key and every file under ``uploads/`` (exhibitors' documents,
  import files waiting for their confirmation).

Restore refuses, before anything is written: a file that is not a backup, a backup of a
newer schema than this code knows, a backup of the other database kind, and a database that
already holds data. After the restore the schema is migrated to this code's heads.
"""
from __future__ import annotations

import datetime as dt
import glob
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from .errors import DomainError
from .extensions import db

FORMAT = "crm-expo-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
INSTANCE_PREFIX = "instance/"
INSTANCE_FILES = ("secret_key",)
INSTANCE_FOLDERS = ("uploads",)


class BackupError(DomainError):
    code = "backup"
    status = 400


@dataclass
class RestoreReport:
    manifest: dict
    files: list[str] = field(default_factory=list)
    migrated: bool = False


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("crm-expo")
    except Exception:   # not installed (a source checkout on the path)
        return "0"


def database_kind(app: Flask) -> str:
    return "postgresql" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else "sqlite"


def _sqlite_path(app: Flask) -> str:
    return make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: on the PATH, else the newest one installed with a server."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not candidates:
        raise BackupError(f"{name} is not installed (it comes with the PostgreSQL client: apt-get install "
                          f"postgresql-client)")
    return candidates[-1]


def _libpq_url(app: Flask) -> str:
    """The database URL for libpq's tools (without SQLAlchemy's +driver)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _instance_files(app: Flask) -> list[str]:
    """The instance files a backup holds, relative to the instance folder."""
    root = app.instance_path
    out = [name for name in INSTANCE_FILES if os.path.isfile(os.path.join(root, name))]
    for folder in INSTANCE_FOLDERS:
        for dirpath, _dirs, files in os.walk(os.path.join(root, folder)):
            for name in sorted(files):
                out.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(out)


def _private_open(path: str):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    return os.fdopen(fd, "wb")


def _dump_sqlite(app: Flask, target: str) -> None:
    source = sqlite3.connect(_sqlite_path(app), timeout=30)
    try:
        with _private_open(target):
            pass
        dest = sqlite3.connect(target)
        try:
            # pages=-1: the whole copy in one step, inside one read transaction. In WAL mode a
            # reader blocks no writer, so scans go on; a stepwise copy would start over after
            # every write by another connection and might never end under load.
            source.backup(dest, pages=-1)
        finally:
            dest.close()
    finally:
        source.close()


def _dump_postgres(app: Flask, target: str) -> None:
    with _private_open(target):
        pass
    proc = subprocess.run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                           "--file", target, "--dbname", _libpq_url(app)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackupError(f"pg_dump failed: {proc.stderr.strip()[-500:]}")


def create_backup(app: Flask, output: str) -> dict:
    """Write a backup of ``app``'s database and instance files to ``output`` (0600). The file
    appears only when complete (written beside it, then renamed). Returns the manifest."""
    from .migrations import applied_heads
    output = os.path.abspath(output)
    folder = os.path.dirname(output)
    if not os.path.isdir(folder):
        raise BackupError(f"no folder {folder}")
    kind = database_kind(app)
    with app.app_context():
        heads = sorted(applied_heads(app))
    if not heads:
        raise BackupError("the database has no schema yet: nothing to back up")
    with tempfile.TemporaryDirectory(dir=folder, prefix=".crm-expo-backup-") as work:
        os.chmod(work, 0o700)
        member = SQLITE_MEMBER if kind == "sqlite" else PG_MEMBER
        dumped = os.path.join(work, member)
        (_dump_sqlite if kind == "sqlite" else _dump_postgres)(app, dumped)
        files = _instance_files(app)
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "version": _version(),
                    "database": kind, "heads": heads,
                    "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z",
                    "files": files}
        partial = os.path.join(work, "backup.tar")
        with _private_open(partial) as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
            tar.add(dumped, arcname=member)
            for rel in files:
                tar.add(os.path.join(app.instance_path, rel), arcname=INSTANCE_PREFIX + rel)
        os.replace(partial, output)
    return manifest


# --- restore -----------------------------------------------------------------------------------
def read_manifest(path: str) -> dict:
    """The manifest of a backup file; BackupError if the file is not a backup."""
    not_one = BackupError(f"{path} is not a crm-expo backup")
    try:
        with tarfile.open(path, mode="r:") as tar:
            member = tar.getmember(MANIFEST)
            manifest = json.loads(tar.extractfile(member).read())
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise not_one from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise not_one
    if not isinstance(manifest.get("format_version"), int) or manifest["format_version"] > FORMAT_VERSION:
        raise BackupError(f"{path} is a backup of a newer format ({manifest.get('format_version')}) than this "
                          f"version of crm-expo reads ({FORMAT_VERSION}): upgrade crm-expo first")
    if manifest.get("database") not in ("sqlite", "postgresql") or not isinstance(manifest.get("heads"), list):
        raise not_one
    return manifest


def _known_revisions(app: Flask) -> set[str]:
    from alembic.script import ScriptDirectory

    from .migrations import alembic_config
    script = ScriptDirectory.from_config(alembic_config(app))
    return {rev.revision for rev in script.walk_revisions()}


def _rows_in_database(app: Flask) -> dict[str, int]:
    """Tables of the target database that hold rows (its version table aside)."""
    found = {}
    with app.app_context():
        with db.engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                if table == "alembic_version":
                    continue
                if conn.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first() is not None:
                    found[table] = conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()
    return found


def check_restorable(app: Flask, path: str) -> dict:
    """Every refusal, before anything is written. Returns the manifest."""
    manifest = read_manifest(path)
    kind = database_kind(app)
    if manifest["database"] != kind:
        raise BackupError(f"{path} is a backup of a {manifest['database']} database; this instance uses {kind}: "
                          f"restore it into a {manifest['database']} instance (CRM_EXPO_DATABASE_URL)")
    unknown = sorted(set(manifest["heads"]) - _known_revisions(app))
    if unknown:
        raise BackupError(f"{path} holds a newer schema ({', '.join(unknown)}) than this version of crm-expo "
                          f"knows: upgrade crm-expo, then restore")
    with tarfile.open(path, mode="r:") as tar:
        names = set(tar.getnames())
    member = SQLITE_MEMBER if kind == "sqlite" else PG_MEMBER
    if member not in names:
        raise BackupError(f"{path} is not a complete crm-expo backup (no {member})")
    for rel in manifest.get("files", []):
        if not isinstance(rel, str) or rel.startswith("/") or ".." in rel.split("/") \
                or INSTANCE_PREFIX + rel not in names:
            raise BackupError(f"{path} is not a complete crm-expo backup (file {rel!r})")
    filled = _rows_in_database(app)
    if filled:
        shown = ", ".join(f"{t} ({n})" for t, n in sorted(filled.items())[:5])
        how = (f"move or delete {_sqlite_path(app)} (and its -wal and -shm files)" if kind == "sqlite" else
               "create a new empty database and point CRM_EXPO_DATABASE_URL at it (or DROP SCHEMA public "
               "CASCADE; CREATE SCHEMA public)")
        raise BackupError(f"the database is not empty ({shown}{' …' if len(filled) > 5 else ''}): a backup is "
                          f"restored into an empty instance only; {how}, then restore again")
    for rel in manifest.get("files", []):
        target = os.path.join(app.instance_path, rel)
        if os.path.exists(target) and rel != "secret_key":
            raise BackupError(f"{target} exists already: restore into an empty instance folder")
    return manifest


def _restore_sqlite(app: Flask, dumped: str) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    path = _sqlite_path(app)
    source = sqlite3.connect(dumped)
    try:
        if not os.path.exists(path):
            with _private_open(path):
                pass
        dest = sqlite3.connect(path, timeout=30)
        try:
            source.backup(dest)
            ok = dest.execute("PRAGMA integrity_check").fetchone()[0]
            dest.execute("PRAGMA journal_mode=WAL")
        finally:
            dest.close()
    finally:
        source.close()
    os.chmod(path, 0o600)
    if ok != "ok":
        raise BackupError(f"the restored database fails its integrity check: {ok}")


def _restore_postgres(app: Flask, dumped: str) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    # --clean --if-exists: a database that was migrated but holds no rows has the tables already.
    proc = subprocess.run([pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--clean", "--if-exists",
                           "--exit-on-error", "--single-transaction", "--dbname", _libpq_url(app), dumped],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackupError(f"pg_restore failed: {proc.stderr.strip()[-500:]}")


def _private_folders(root: str, rel: str) -> None:
    """Create each folder of ``rel`` under ``root`` owner-only (makedirs' mode is the last one's only)."""
    path = root
    for part in [p for p in rel.split("/") if p]:
        path = os.path.join(path, part)
        if not os.path.isdir(path):
            os.mkdir(path, 0o700)


def restore_backup(app: Flask, path: str) -> RestoreReport:
    """Restore ``path`` into ``app``'s (empty) database and instance folder, then migrate it
    to this code's heads (a backup of an older version)."""
    from .migrations import pending_heads, upgrade
    manifest = check_restorable(app, path)
    kind = manifest["database"]
    report = RestoreReport(manifest)
    with tempfile.TemporaryDirectory(dir=app.instance_path, prefix=".crm-expo-restore-") as work:
        os.chmod(work, 0o700)
        member = SQLITE_MEMBER if kind == "sqlite" else PG_MEMBER
        with tarfile.open(path, mode="r:") as tar:
            dumped = os.path.join(work, member)
            with _private_open(dumped) as out:
                shutil.copyfileobj(tar.extractfile(member), out)
            (_restore_sqlite if kind == "sqlite" else _restore_postgres)(app, dumped)
            for rel in manifest.get("files", []):
                target = os.path.join(app.instance_path, rel)
                _private_folders(app.instance_path, os.path.dirname(rel))
                with _private_open(target) as out:
                    shutil.copyfileobj(tar.extractfile(INSTANCE_PREFIX + rel), out)
                report.files.append(rel)
    with app.app_context():
        if pending_heads(app):
            upgrade(app)
            report.migrated = True
    return report
