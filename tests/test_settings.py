"""Settings: every threshold is visible, per show, with the plugin's default until changed."""
from sqlalchemy import select

from crm_expo.extensions import db
from crm_expo.models import AuditEntry, get_setting
from tests.factories import make_show, make_user

KEY = "booths.hold_minutes"


def test_default_then_show_value_audited(client, app):
    show = make_show()
    default = get_setting(KEY, show)
    assert isinstance(default, int)
    client.login(make_user("organizer"))
    page = client.get("/admin/settings").get_data(as_text=True)
    assert KEY in page
    resp = client.form_post("/admin/settings", {"key": KEY, "value": "90"}, follow_redirects=True)
    assert "saved" in resp.get_data(as_text=True)
    assert get_setting(KEY, show) == 90
    assert get_setting(KEY, make_show()) == default         # other shows keep the default
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "setting.set"))
    assert entry.before == {"value": None} and entry.after == {"value": 90}


def test_bad_values_are_refused_naming_the_setting(client, app):
    show = make_show()
    client.login(make_user("organizer"))
    for raw in ("ninety", '"90"'):
        page = client.form_post("/admin/settings", {"key": KEY, "value": raw}, follow_redirects=True)
        assert f"Setting {KEY} not changed" in page.get_data(as_text=True)
    page = client.form_post("/admin/settings", {"key": "nosuch.key", "value": "1"}, follow_redirects=True)
    assert "nosuch.key" in page.get_data(as_text=True)
    assert get_setting(KEY, show) != "90"


def test_desk_staff_cannot_change_settings(client):
    make_show()
    client.login(make_user("desk"))
    assert client.get("/admin/settings").status_code == 403
