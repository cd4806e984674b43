"""A person's data (PIPL, GDPR): the export gives every plugin's part; the erasure leaves none
of it in a dump of the database or in the instance folder, and every figure unchanged."""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.engine import make_url

from crm_expo.backup import pg_tool
from crm_expo.extensions import db
from crm_expo.mail import queue_mail
from crm_expo.models import AuditEntry, Person
from crm_expo.models.audit import verify_chain
from crm_expo.privacy import UnknownPerson, erase, export_zip
from plugins.booths import operations as booth_ops
from plugins.booths.tests.helpers import make_exhibitor
from plugins.onsite import operations as onsite_ops
from plugins.onsite.tests.helpers import register, today_show
from plugins.visitors import operations as visitor_ops
from plugins.visitors import retention
from tests.factories import make_org, make_user

NAME, NAME_EN, PHONE, EMAIL, ID_NO = "林晓梅", "Lin Xiaomei", "+8613912345678", "lin.xiaomei@example.com", \
    "110101199003074519"
SECRETS = (NAME, NAME_EN, PHONE, PHONE.lstrip("+"), EMAIL, ID_NO)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def person_everywhere(app, english_request):
    """Lin Xiaomei: a trade visitor with a card, scans, a lead, a service request, a mail, and the
    contact of a company with a booking part paid (its reference names her: a chained entry)."""
    show = today_show()
    company = make_org("晓梅贸易有限公司")
    reg = register(show, category="trade", name_zh=NAME, name_en=NAME_EN, email=EMAIL, phone=PHONE, share=True)
    person = db.session.get(Person, reg.person_id)
    person.organization_id, person.id_number = company.id, ID_NO
    db.session.commit()
    visitor_ops.attach_business_card(reg, f"{NAME}.png", _png(), company="晓梅贸易")
    other = register(show)
    for code in (reg.badge_code, other.badge_code):
        onsite_ops.check_in(show, code, "A")
    onsite_ops.check_in(show, reg.badge_code, "B")
    exhibitor = make_exhibitor(show)
    onsite_ops.capture_lead(show, exhibitor.organization_id, reg.badge_code, rating=4, notes=f"{NAME} 想要样品")
    onsite_ops.open_request(show, category="cleaning", description=f"{NAME} 的展台需要清洁",
                            contact=f"{NAME} {PHONE}", user=make_user("service_agent"))
    queue_mail(EMAIL, f"{NAME}，欢迎参观", f"尊敬的{NAME}：您的胸卡号 {reg.badge_code}", person=person)
    db.session.commit()
    booth_ops.publish_price_list(show, {"shell": 100_000, "raw": 80_000, "corner": 120_000, "peninsula": 130_000,
                                        "island": 140_000})
    booth_ops.add_booth(show, "A", "A101", 0, 0, 3, 3, "shell", 1)
    own = make_exhibitor(show, org=company)
    booking = booth_ops.hold_booth(show, "A101", own.id)
    booth_ops.reserve(booking)
    booth_ops.record_payment(booking, 100_000, reference=f"{NAME} 转账 {PHONE}")
    db.session.commit()
    return show, reg


def _figures(show):
    from plugins.booths.operations.figures import figures
    att = onsite_ops.attendance(show)
    return json.dumps(att, default=str, sort_keys=True), figures(show)


def _dump(app, is_postgres, database) -> str:
    db.session.commit()
    if is_postgres:
        url = make_url(database[0]).set(drivername="postgresql").render_as_string(False)
        return subprocess.run([pg_tool("pg_dump"), "--data-only", "--dbname", url], capture_output=True,
                              text=True, check=True).stdout
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    conn = sqlite3.connect(path)
    try:
        lines = "\n".join(conn.iterdump())
    finally:
        conn.close()
    return lines.encode().decode("unicode_escape", errors="ignore") + "\n" + lines


def _instance_bytes(app) -> bytes:
    out = []
    for dirpath, _dirs, files in os.walk(os.path.join(app.instance_path, "uploads")):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as fh:
                out.append(fh.read())
    return b"\n".join(out)


def test_the_export_gives_every_plugins_part_as_json_and_csv(person_everywhere):
    _show, reg = person_everywhere
    archive = zipfile.ZipFile(io.BytesIO(export_zip(EMAIL.upper())))
    names = set(archive.namelist())
    data = json.loads(archive.read("data.json"))["sections"]
    for section in ("person", "consents", "mails", "audit", "registrations", "business_cards", "scans", "leads",
                    "service_requests"):
        assert f"{section}.csv" in names and data[section], section
    assert data["person"][0]["id_number"] == ID_NO
    assert len(data["scans"]) == 2 and data["leads"][0]["notes"].startswith(NAME)
    assert data["registrations"][0]["badge_code"] == reg.badge_code
    card = data["business_cards"][0]["file"]
    assert archive.read(card).startswith(b"\x89PNG")
    assert NAME in archive.read("mails.csv").decode("utf-8-sig")


def test_an_erasure_leaves_no_trace_in_a_dump_and_keeps_every_figure(person_everywhere, app, is_postgres,
                                                                     database):
    show, reg = person_everywhere
    # an import file waiting for its confirmation holds her too
    waiting = os.path.join(app.instance_path, "uploads", "imports")
    os.makedirs(waiting, exist_ok=True)
    with open(os.path.join(waiting, "pending-import"), "w", encoding="utf-8") as fh:
        fh.write(f"姓名,手机\n{NAME},{PHONE}\n")
    dump = _dump(app, is_postgres, database)
    assert all(s in dump for s in (NAME, EMAIL, ID_NO)), "the test data is in the dump before the erasure"
    attendance, revenue = _figures(show)
    assert verify_chain()[1] is None

    report = erase(EMAIL, "the person asked (ticket 42)")
    assert report.counts["people"] == 1 and report.counts["leads"] == 1 and report.counts["files"] == 1
    assert any("Kept the unpaid booking" in line and "晓梅贸易有限公司" in line for line in report.kept)

    dump = _dump(app, is_postgres, database)
    files = _instance_bytes(app)
    for secret in SECRETS:
        assert dump.count(secret) == 0, _where(dump, secret)
        for enc in ("utf-8", "gb18030"):
            assert files.count(secret.encode(enc)) == 0, secret
    assert _figures(show) == (attendance, revenue)
    person = db.session.get(Person, reg.person_id)
    assert person.erased_at is not None and person.id == reg.person_id
    # the audit chain still verifies: the redacted payment entry is recorded by the erasure's entry
    checked, broken, _why = verify_chain()
    assert broken is None and checked >= 4
    erasures = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.erase")).all()
    assert len(erasures) == 1 and erasures[0].entry_hash and erasures[0].after["redacted"]
    # a redacted entry changed once more breaks the chain again
    redacted = db.session.get(AuditEntry, int(next(iter(erasures[0].after["redacted"]))))
    redacted.after = dict(redacted.after, amount_minor=1)
    db.session.commit()
    assert verify_chain()[1].id == redacted.id


def test_an_unknown_email_is_said_and_the_commands_exit_2(app, database, tmp_path, person_everywhere):
    with pytest.raises(UnknownPerson, match="nobody@example.com"):
        erase("nobody@example.com", "asked")
    env = dict(os.environ, CRM_EXPO_DATABASE_URL=database[0], CRM_EXPO_INSTANCE_PATH=str(tmp_path),
               CRM_EXPO_SECRET_KEY="x", CRM_EXPO_DEFAULT_LOCALE="en")

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "crm_expo", "privacy", *args], env=env, capture_output=True,
                              text=True, timeout=120)
    r = cli("erase", "--email", "nobody@example.com", "--reason", "asked")
    assert r.returncode == 2 and "No person with the email nobody@example.com" in r.stderr
    out = tmp_path / "lin.zip"
    r = cli("export", "--email", EMAIL, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert oct(os.stat(out).st_mode & 0o777) == "0o600" and "data.json" in zipfile.ZipFile(out).namelist()
    r = cli("erase", "--email", EMAIL, "--reason", "asked")
    assert r.returncode == 0, r.stderr
    assert "Kept the unpaid booking" in r.stdout and "company's contract" in r.stdout
    r = subprocess.run([sys.executable, "-m", "crm_expo", "audit", "verify"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "intact" in r.stdout
    r = cli("erase", "--email", EMAIL, "--reason", "asked")
    assert r.returncode == 2 and "already erased" in r.stderr


def test_the_staff_page_downloads_and_erases(client, person_everywhere):
    client.login(make_user("organizer"))
    page = client.get("/admin/privacy")
    assert page.status_code == 200 and "Erase the personal data" in page.get_data(as_text=True)
    token = client.csrf_token()
    got = client.post("/admin/privacy", data={"csrf_token": token, "find-csrf_token": token, "find-email": EMAIL,
                                              "find-export": "1"})
    assert got.status_code == 200 and got.mimetype == "application/zip"
    assert "data.json" in zipfile.ZipFile(io.BytesIO(got.data)).namelist()
    unknown = client.form_post("/admin/privacy", {"find-email": "nobody@example.com", "find-export": "1"})
    assert "No person with the email" in unknown.get_data(as_text=True)
    differ = client.form_post("/admin/privacy", {"erase-email": EMAIL, "erase-reason": "asked",
                                                 "erase-confirm": "other@example.com", "erase-erase": "1"})
    assert "The two emails differ." in differ.get_data(as_text=True)
    done = client.form_post("/admin/privacy", {"erase-email": EMAIL, "erase-reason": "asked",
                                               "erase-confirm": EMAIL, "erase-erase": "1"})
    body = done.get_data(as_text=True)
    assert "was erased" in body and "Kept the unpaid booking" in body
    assert db.session.scalar(select(Person).where(Person.email == EMAIL)) is None


def test_a_desk_user_may_not_open_the_privacy_page(client, app):
    client.login(make_user("desk"))
    assert client.get("/admin/privacy").status_code == 403


def test_retention_erases_a_closed_shows_visitors_after_the_setting_offering_a_download_first(
        client, app, english_request):
    from crm_expo.models.settings import set_setting
    from crm_expo.operations import change_show_status
    show = today_show(start=dt.date(2026, 1, 5), days=2)
    reg = register(show, name_zh=NAME, email=EMAIL)
    set_setting("visitors.erase_after_days", 30, show=show)
    assert retention.erase_on(show) is None               # not closed yet
    for status in ("open", "live", "closed"):
        change_show_status(show, status)
    assert retention.erase_on(show) == dt.date(2026, 2, 5)
    client.login(make_user("organizer"))
    index = client.get(f"/shows/{show.slug}/visitors/").get_data(as_text=True)
    assert "retention-export" in index
    got = client.get(f"/shows/{show.slug}/visitors/personal-data.zip")
    assert got.status_code == 200 and NAME in got.data.decode("utf-8", errors="ignore") + \
        zipfile.ZipFile(io.BytesIO(got.data)).read("person.csv").decode("utf-8-sig")
    assert retention.run_retention(dt.date(2026, 2, 4)) == {}
    assert retention.run_retention(dt.date(2026, 2, 5)) == {show.slug: 1}
    assert db.session.get(Person, reg.person_id).erased_at is not None
    assert verify_chain()[1] is None


def _where(dump, secret):
    return [line[:300] for line in dump.splitlines() if secret in line]
