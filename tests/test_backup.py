"""crm-expo backup / restore: a backup taken while desks scan and staff book holds every write
answered before it began; restore goes into an empty instance only and refuses what is not
a backup of this code's schema, writing nothing."""
from __future__ import annotations

import io
import json
import os
import stat
import tarfile
import threading
import time
import uuid

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from crm_expo.backup import BackupError, create_backup, read_manifest, restore_backup
from crm_expo.extensions import db
from crm_expo.models import Show
from crm_expo.operations import create_token
from plugins.booths import operations as booth_ops
from plugins.booths.models import Booking
from plugins.booths.tests.helpers import make_exhibitor
from plugins.onsite.models import Scan
from plugins.onsite.tests.helpers import desk_token, register, today_show


@pytest.fixture
def fresh_instance(make_app, tmp_path, is_postgres, database):
    """An empty instance (its own folder and database) to restore into."""
    folder = tmp_path / "restored"
    if not is_postgres:
        yield lambda: make_app(INSTANCE_PATH=str(folder), DATABASE_URL=f"sqlite:///{folder}/crm-expo.sqlite3")
        return
    url = make_url(database[0])
    name = f"{url.database}_restore"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield lambda: make_app(INSTANCE_PATH=str(folder), DATABASE_URL=url.set(database=name).render_as_string(False))
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_backup_under_load_holds_every_write_answered_before_it_began(served, app, fresh_instance,
                                                                        tmp_path, is_postgres):
    show = today_show()
    codes = [register(show).badge_code for _ in range(30)]
    booth_ops.publish_price_list(show, {"shell": 100_000, "raw": 80_000, "corner": 120_000,
                                        "peninsula": 130_000, "island": 140_000})
    booths = [f"B{100 + i}" for i in range(80)]
    for i, number in enumerate(booths):
        booth_ops.add_booth(show, "B", number, i * 3, 0, 3, 3, "shell", 1)
    exhibitors = [make_exhibitor(show).id for _ in range(4)]
    desk, seller = desk_token(show), create_token(show, "account_manager")[1]
    slug = show.slug
    db.session.commit()
    db.session.remove()
    base = f"{served}/api/v1/shows/{slug}"
    acked: list[tuple[float, str, object]] = []     # (when answered, kind, nonce or booking id)
    lock, stop = threading.Lock(), threading.Event()

    def scanner(n):
        with requests.Session() as s:
            s.headers["Authorization"] = f"Bearer {desk}"
            i = 0
            while not stop.is_set():
                nonce = uuid.uuid4().hex
                r = s.post(f"{base}/checkins", json={"code": codes[(n * 7 + i) % len(codes)], "gate": f"G{n}",
                                                     "nonce": nonce}, timeout=60)
                i += 1
                if r.status_code == 200:
                    with lock:
                        acked.append((time.monotonic(), "scan", nonce))

    def seller_thread(n):
        with requests.Session() as s:
            s.headers["Authorization"] = f"Bearer {seller}"
            for number in booths[n::2]:
                if stop.is_set():
                    return
                r = s.post(f"{base}/bookings", json={"booth": number, "exhibitor": exhibitors[n]}, timeout=60)
                if r.status_code == 201:
                    with lock:
                        acked.append((time.monotonic(), "booking", r.json()["id"]))
                time.sleep(0.02)

    threads = [threading.Thread(target=scanner, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=seller_thread, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    archive = tmp_path / "crm-expo.backup"
    began = time.monotonic()
    before_scans = len([a for a in acked if a[1] == "scan"])
    manifest = create_backup(app, str(archive))
    with lock:
        during = len([a for a in acked if a[1] == "scan"]) - before_scans
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(60)
    assert during > 0, "the desks went on scanning while the backup ran"
    assert _mode(archive) == 0o600
    assert manifest["database"] == ("postgresql" if is_postgres else "sqlite")

    before = [a for a in acked if a[0] < began]
    scans_before = {a[2] for a in before if a[1] == "scan"}
    bookings_before = {a[2] for a in before if a[1] == "booking"}
    assert len(scans_before) > 10 and len(bookings_before) > 5

    target = fresh_instance()
    report = restore_backup(target, str(archive))
    assert report.manifest["heads"] == manifest["heads"]
    with target.app_context():
        restored_scans = set(db.session.scalars(select(Scan.nonce)))
        restored_bookings = set(db.session.scalars(select(Booking.id)))
        assert scans_before - restored_scans == set()
        assert bookings_before - restored_bookings == set()
        assert db.session.scalar(select(Show.slug)) == slug
        if is_postgres:
            assert db.session.scalar(select(func.count()).select_from(Scan)) >= len(scans_before)
        else:
            assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert _mode(make_url(target.config["SQLALCHEMY_DATABASE_URI"]).database) == 0o600
        db.session.remove()


def test_the_instance_files_come_back_and_a_second_restore_is_refused(app, fresh_instance, tmp_path):
    uploads = os.path.join(app.instance_path, "uploads", "exhibitors")
    os.makedirs(uploads, exist_ok=True)
    card = os.path.join(uploads, f"{uuid.uuid4().hex}.pdf")
    with open(card, "wb") as fh:
        fh.write(b"%PDF-1.4 licence")
    today_show()
    archive = tmp_path / "b.tar"
    try:
        manifest = create_backup(app, str(archive))
    finally:
        os.remove(card)
    rel = os.path.relpath(card, app.instance_path)
    assert rel in manifest["files"]
    target = fresh_instance()
    restore_backup(target, str(archive))
    restored = os.path.join(target.instance_path, rel)
    assert open(restored, "rb").read() == b"%PDF-1.4 licence"
    assert _mode(restored) == 0o600 and _mode(os.path.dirname(restored)) == 0o700
    with pytest.raises(BackupError, match="not empty"):
        restore_backup(target, str(archive))


def _rewrite_manifest(src, dst, **changes):
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        for member in tin.getmembers():
            data = tin.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                manifest.update(changes)
                data = json.dumps(manifest).encode()
                member.size = len(data)
            tout.addfile(member, io.BytesIO(data))


def test_restore_refuses_what_is_not_a_backup_or_is_newer_and_writes_nothing(app, fresh_instance, tmp_path):
    today_show()
    good = tmp_path / "good.tar"
    create_backup(app, str(good))
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not a backup")
    plain_tar = tmp_path / "plain.tar"
    with tarfile.open(plain_tar, "w") as tar:
        tar.add(str(junk), arcname="notes.txt")
    newer = tmp_path / "newer.tar"
    _rewrite_manifest(good, newer, heads=read_manifest(str(good))["heads"] + ["ffffffffffff"])
    target = fresh_instance()
    for path, message in ((junk, "is not a crm-expo backup"), (plain_tar, "is not a crm-expo backup"),
                          (newer, "newer schema")):
        with pytest.raises(BackupError, match=message):
            restore_backup(target, str(path))
    with target.app_context():
        from sqlalchemy import inspect
        assert "shows" not in inspect(db.engine).get_table_names()   # nothing was written
        db.session.remove()
    restore_backup(target, str(good))                               # the good one still goes in


def test_the_commands_back_up_and_refuse_a_non_empty_database(app, tmp_path, database):
    import subprocess
    import sys
    today_show()
    db.session.commit()
    env = dict(os.environ, CRM_EXPO_DATABASE_URL=database[0], CRM_EXPO_INSTANCE_PATH=str(tmp_path / "inst"),
               CRM_EXPO_SECRET_KEY="x")
    out = tmp_path / "cli.backup"
    r = subprocess.run([sys.executable, "-m", "crm_expo", "backup", "-o", str(out)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and _mode(out) == 0o600
    r = subprocess.run([sys.executable, "-m", "crm_expo", "restore", str(out)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "not empty" in r.stderr and "restore again" in r.stderr
    r = subprocess.run([sys.executable, "-m", "crm_expo", "restore", str(tmp_path / "missing")], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no file" in r.stderr
