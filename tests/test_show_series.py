"""Shows form series: the previous edition is derived from the series and the dates; the
command line, the API and the admin page name and set a show's series; existing shows are
given a series by the migration."""
import datetime as dt
import os
import subprocess
import sys

import pytest
from sqlalchemy import select, text

from crm_expo.config import ALL_PLUGINS
from crm_expo.copying import copy_show
from crm_expo.extensions import db
from crm_expo.models import AuditEntry, Setting, Show, ShowSeries
from crm_expo.operations import (
    CoreError,
    create_show,
    create_token,
    earlier_editions,
    previous_edition,
    series_for,
)
from tests.factories import make_show, make_user

BEFORE_SERIES = "6cb41394f63b"      # the core revision before show_series


def _edition(slug, series, start):
    return create_show(slug, f"{start.year}食品博览会", start, 3, name_en=f"Food Expo {start.year}", series=series)


def test_previous_edition_is_the_latest_earlier_show_of_the_same_series(app):
    e2025 = _edition("food-2025", "foodexpo", dt.date(2025, 5, 10))
    e2027 = _edition("food-2027", "foodexpo", dt.date(2027, 5, 10))     # made before 2026: dates decide, not ids
    e2026 = _edition("food-2026", "foodexpo", dt.date(2026, 5, 10))
    wine = _edition("wine-2026", "wine-fair", dt.date(2026, 12, 1))       # later than food-2026, another series
    undated = Show(slug="food-undated", name_zh="未定日期", series=e2025.series)   # an edition with no days
    db.session.add(undated)
    db.session.commit()
    assert e2025.series is e2026.series is e2027.series and e2025.series.slug == "foodexpo"
    assert e2025.series.name_zh == "食品博览会" and e2025.series.name_en == "Food Expo"   # the year taken out
    assert previous_edition(e2027) == e2026
    assert previous_edition(e2026) == e2025
    assert previous_edition(e2025) is None                # the first edition
    assert previous_edition(wine) is None                 # alone in its series
    assert previous_edition(undated) is None              # no days: no "before"
    assert set(db.session.scalars(earlier_editions(e2027))) == {e2025.id, e2026.id}
    assert previous_edition(make_show()) is None          # a show in no series


def test_series_codes_are_checked_and_new_series_need_a_name(app):
    with pytest.raises(CoreError) as bad:
        series_for("Food Expo!", name_zh="食品展")
    assert bad.value.field == "series" and "Food Expo!".lower() in str(bad.value)
    with pytest.raises(CoreError) as unnamed:
        series_for("foodexpo")
    assert unnamed.value.field == "series_name"
    assert db.session.scalar(select(ShowSeries)) is None
    made = series_for("foodexpo", name_zh="食品展")
    assert series_for("FoodExpo ") == made                 # an existing code needs no name
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "series.create")) is not None


def test_copy_puts_the_new_edition_in_the_source_series(app):
    alone = make_show("tea-2026", name_zh="2026茶博会", name_en="Tea Fair 2026", start=dt.date(2026, 4, 1))
    assert alone.series is None
    new, _report = copy_show("tea-2026", "tea-2027", dt.date(2027, 4, 1))
    db.session.expire_all()
    alone = db.session.get(Show, alone.id)
    assert alone.series is not None and alone.series.slug == "tea" and alone.series.name_zh == "茶博会"
    assert new.series_id == alone.series_id and previous_edition(new) == alone


@pytest.fixture
def cli(database, tmp_path):
    url, _reset = database

    def run(*args):
        env = dict(os.environ, CRM_EXPO_DATABASE_URL=url, CRM_EXPO_INSTANCE_PATH=str(tmp_path),
                   CRM_EXPO_SECRET_KEY="x", CRM_EXPO_PLUGINS=",".join(ALL_PLUGINS), CRM_EXPO_DEFAULT_LOCALE="en")
        db.session.commit()
        return subprocess.run([sys.executable, "-m", "crm_expo", *args], env=env, capture_output=True, text=True,
                              timeout=120)
    return run


def test_cli_create_with_series_and_list_shows_it(app, cli):
    r = cli("shows", "create", "foodexpo-2026", "--name", "2026食品博览会", "--start", "2026-05-10",
            "--series", "foodexpo", "--series-name", "中国食品博览会")
    assert r.returncode == 0, r.stderr
    assert "series foodexpo" in r.stdout
    r = cli("shows", "create", "foodexpo-2027", "--name", "2027食品博览会", "--start", "2027-05-10",
            "--series", "foodexpo")
    assert r.returncode == 0, r.stderr
    db.session.expire_all()
    series = db.session.scalar(select(ShowSeries).where(ShowSeries.slug == "foodexpo"))
    assert series.name_zh == "中国食品博览会" and len(series.shows) == 2     # joined, not made again
    assert previous_edition(db.session.scalar(select(Show).where(Show.slug == "foodexpo-2027"))).slug \
        == "foodexpo-2026"
    listed = [line for line in cli("shows", "list").stdout.splitlines() if line.startswith("foodexpo-")]
    assert len(listed) == 2 and all(line.split()[1] == "foodexpo" for line in listed)
    r = cli("shows", "create", "bad-2027", "--name", "展", "--start", "2027-05-10", "--series", "Food Expo")
    assert r.returncode == 2 and "series code" in r.stderr and "food expo" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    db.session.expire_all()
    assert db.session.scalar(select(Show).where(Show.slug == "bad-2027")) is None


def test_api_show_has_its_series_and_patch_sets_it(client, app):
    show = _edition("food-2027", "foodexpo", dt.date(2027, 5, 10))
    alone = make_show("alone-2027")
    series_for("wine-fair", name_zh="酒类博览会", name_en="Wine Fair")
    _, token = create_token(alone, "organizer")
    _, food_token = create_token(show, "organizer")
    db.session.commit()
    body = client.api("GET", "/api/v1/shows/food-2027", food_token).get_json()
    assert body["series"] == {"slug": "foodexpo", "name": "Food Expo", "name_zh": "食品博览会", "name_en": "Food Expo"}
    assert client.api("GET", "/api/v1/shows", token).get_json()["items"][0]["series"] is None
    url = "/api/v1/shows/alone-2027"
    resp = client.api("PATCH", url, token, json={"series": "wine-fair"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["series"]["slug"] == "wine-fair"
    for bad, code in (("nosuch", "unknown_series"), (12, "bad_value")):
        resp = client.api("PATCH", url, token, json={"series": bad, "days": 2})
        assert resp.status_code == 400
        error = resp.get_json()["error"]
        assert error["field"] == "series" and error["code"] == code and "series" in error["message"]
    db.session.expire_all()
    alone = db.session.get(Show, alone.id)
    assert alone.series.slug == "wine-fair" and len(alone.days) == 3        # nothing written by the refusals
    resp = client.api("PATCH", url, token, json={"series": None})
    assert resp.status_code == 200 and resp.get_json()["series"] is None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "show.series")) is not None


def test_admin_page_shows_and_edits_the_series(client, app):
    past = _edition("food-2026", "foodexpo", dt.date(2026, 5, 10))
    show = make_show("food-2027", name_zh="2027食品博览会", name_en="", start=dt.date(2027, 5, 10))
    client.login(make_user("admin", locale="en"))
    page = client.get("/admin/shows").get_data(as_text=True)
    assert "<td>Food Expo" in page and "Series (code)" in page and "Change series" in page
    page = client.get(f"/admin/shows/{show.id}/series").get_data(as_text=True)
    assert "In no series." in page and "No previous edition." in page
    resp = client.form_post(f"/admin/shows/{show.id}/series", {"series": "Not a code!"})
    assert resp.status_code == 200 and "The series code must be" in resp.get_data(as_text=True)
    resp = client.form_post(f"/admin/shows/{show.id}/series", {"series": "foodexpo"}, follow_redirects=True)
    assert "Series of 2027食品博览会 saved" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Show, show.id).series_id == past.series_id
    page = client.get(f"/admin/shows/{show.id}/series").get_data(as_text=True)
    assert "Previous edition: Food Expo 2026" in page
    # a new show made on the page, in a new series named after it
    resp = client.form_post("/admin/shows", {"slug": "tea-2027", "name_zh": "2027茶博会", "start": "2027-04-01",
                                             "days": "2", "series": "tea"}, follow_redirects=True)
    assert "Show 2027茶博会 created" in resp.get_data(as_text=True)
    db.session.expire_all()
    tea = db.session.scalar(select(Show).where(Show.slug == "tea-2027"))
    assert tea.series.slug == "tea" and tea.series.name_zh == "茶博会"


SHOW = ("INSERT INTO shows (slug, name_zh, name_en, venue, halls, timezone, currency, status, created_at) "
        "VALUES (:slug, :zh, :en, '', '[]', 'Asia/Shanghai', 'CNY', 'closed', '2026-01-01 00:00:00')")


def test_migration_gives_existing_shows_a_series(walked_down_to):
    app = walked_down_to(BEFORE_SERIES)
    conn = db.session.connection()
    for slug, zh, en in (("food-expo-2025", "2025中国食品博览会", "Food Expo 2025"),
                         ("food-expo-2026", "2026中国食品博览会", "China Food Expo 2026"),
                         ("wine-2026", "2026酒类博览会", ""),
                         ("spring-fair", "春季展", "Spring Fair"),    # linked by the old setting
                         ("2027", "2027展", "")):                     # nothing left without the year
        conn.execute(text(SHOW), {"slug": slug, "zh": zh, "en": en})
    ids = dict(conn.execute(text("SELECT slug, id FROM shows")).all())
    for day, slug in (("2025-05-10", "food-expo-2025"), ("2026-05-10", "food-expo-2026"),
                      ("2026-03-01", "spring-fair")):
        conn.execute(text("INSERT INTO show_days (show_id, date, opens, closes, trade_only) "
                          "VALUES (:s, :d, '09:00:00', '17:00:00', 0)"), {"s": ids[slug], "d": day})
    conn.execute(text("INSERT INTO settings (show_id, key, value) VALUES (:s, 'booths.previous_show', :v)"),
                 {"s": ids["spring-fair"], "v": '"wine-2026"'})
    db.session.commit()
    from crm_expo.migrations import upgrade
    upgrade(app)
    db.session.expire_all()
    series = {s.slug: s.series.slug for s in db.session.scalars(select(Show))}
    assert series == {"food-expo-2025": "food-expo", "food-expo-2026": "food-expo", "wine-2026": "wine",
                      "spring-fair": "wine", "2027": "2027"}
    food = db.session.scalar(select(ShowSeries).where(ShowSeries.slug == "food-expo"))
    assert (food.name_zh, food.name_en) == ("中国食品博览会", "China Food Expo")      # named after the newest
    assert previous_edition(db.session.get(Show, ids["food-expo-2026"])).slug == "food-expo-2025"
    assert db.session.scalar(select(Setting).where(Setting.key == "booths.previous_show")) is None
    # and down again: the column and the table go, the shows and their days stay
    from alembic import command

    from crm_expo.migrations import alembic_config
    db.session.commit()
    command.downgrade(alembic_config(app), BEFORE_SERIES)
    assert db.session.execute(text("SELECT count(*) FROM shows")).scalar() == 5
    assert db.session.execute(text("SELECT count(*) FROM show_days")).scalar() == 3
