"""Settings: every threshold is visible, typed and bounded, per show, with the plugin's
default until changed; the admin page edits them as one form per plugin."""
import pytest
from sqlalchemy import select

from crm_expo.extensions import db
from crm_expo.models import AuditEntry, Setting, get_setting, set_setting
from crm_expo.settings import SettingError
from tests.factories import make_show, make_user

KEY = "booths.hold_minutes"


def _booths_form(**values):
    data = {"plugin": "booths", "booths__hold_minutes": "4320", "booths__offer_minutes": "2880"}
    data.update(values)
    return data


def test_labels_in_both_languages(client, app):
    make_show()
    client.login(make_user("organizer", locale="zh"))
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "展位保留时长（分钟）" in page and "观众再次入场" in page
    english = app.test_client()
    english.login(make_user("organizer", locale="en"))
    page = english.get("/admin/settings").get_data(as_text=True)
    assert "Hold time (minutes)" in page and 'name="onsite__sla_minutes__urgent"' in page


def test_form_round_trip_stores_and_audits_the_change(client, app):
    show = make_show()
    default = get_setting(KEY, show)
    assert default == 4320
    client.login(make_user("organizer"))
    resp = client.form_post("/admin/settings", _booths_form(booths__hold_minutes="90"), follow_redirects=True)
    assert "Booths settings saved" in resp.get_data(as_text=True)
    assert get_setting(KEY, show) == 90
    assert get_setting(KEY, make_show()) == default         # other shows keep the default
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "setting.set")).all()
    assert len(entries) == 1                                 # only the changed value
    assert entries[0].before == {"value": None} and entries[0].after == {"value": 90}
    client.form_post("/show", {"show": show.slug})          # the newer show became the current one
    assert 'value="90"' in client.get("/admin/settings").get_data(as_text=True)


def test_global_scope_and_a_map_setting(client, app):
    show = make_show()
    client.login(make_user("organizer"))
    data = {"plugin": "onsite", "onsite__reentry": "y", "onsite__sla_minutes__urgent": "15",
            "onsite__sla_minutes__high": "120", "onsite__sla_minutes__normal": "480", "onsite__sla_minutes__low": "1440"}
    assert client.form_post("/admin/settings?scope=global", data).status_code == 302
    assert get_setting("onsite.reentry", show) is True and get_setting("onsite.reentry") is True
    assert get_setting("onsite.sla_minutes", show)["urgent"] == 15
    assert db.session.scalar(select(Setting.show_id).where(Setting.key == "onsite.reentry")) is None


@pytest.mark.parametrize("raw,why", [("ninety", "Not a valid integer value"), ("0", "between 1 and"),
                                     ("99999999", "between 1 and"), ("", "This field is required")])
def test_wrong_type_or_out_of_bounds_names_the_field_and_keeps_the_old_value(client, app, raw, why):
    show = make_show()
    set_setting(KEY, 100, show)
    db.session.commit()
    client.login(make_user("organizer"))
    resp = client.form_post("/admin/settings", _booths_form(booths__hold_minutes=raw, booths__offer_minutes="77"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Settings not changed: Hold time (minutes)" in page and why in page
    assert get_setting(KEY, show) == 100
    assert get_setting("booths.offer_minutes", show) == 2880      # nothing of the form was saved


def test_the_accessor_takes_show_then_global_then_default(app):
    show, other = make_show(), make_show()
    assert get_setting(KEY, show) == 4320 and get_setting(KEY) == 4320
    set_setting(KEY, 200)
    assert get_setting(KEY, show) == 200 and get_setting(KEY, other) == 200
    set_setting(KEY, 300, show)
    assert get_setting(KEY, show) == 300 and get_setting(KEY, other) == 200 and get_setting(KEY) == 200
    assert get_setting(KEY, show.id) == 300
    with pytest.raises(KeyError):
        get_setting("nosuch.key", show)


@pytest.mark.parametrize("key,value", [(KEY, "90"), (KEY, 0), (KEY, True), ("onsite.reentry", 1),
                                       ("onsite.sla_minutes", {"urgent": 5}),
                                       ("exhibitors.required_documents", ["passport"])])
def test_a_value_the_spec_refuses_names_the_setting(app, key, value):
    with pytest.raises(SettingError) as caught:
        set_setting(key, value, make_show())
    assert caught.value.field == key


def test_desk_staff_cannot_change_settings(client):
    make_show()
    client.login(make_user("desk"))
    assert client.get("/admin/settings").status_code == 403
