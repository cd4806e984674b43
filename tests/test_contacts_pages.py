"""The organization page and its merge page are core pages: they work whatever plugins are
loaded (here without exhibitors), keep the merged company's history, and the old
/exhibitors/organizations/… links still lead to them."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_expo.extensions import db
from crm_expo.models import AuditEntry, Organization, Person
from tests.factories import make_org, make_person, make_user
from tests.fixtures import Client


@pytest.fixture
def visitors_only(app, make_app):    # app: the test database, migrated and emptied
    subset = make_app(plugins=("visitors",))
    subset.test_client_class = Client
    with subset.app_context():
        yield subset
        db.session.remove()


def test_without_exhibitors_the_organization_page_shows_and_a_merge_moves_the_people(visitors_only):
    app = visitors_only
    assert "exhibitors" not in app.blueprints
    keep, dup = make_org("宁夏贺兰山酒庄"), make_org("寧夏賀蘭山酒莊")
    person = make_person("王芳", organization=dup)
    db.session.commit()
    keep_id, dup_id, person_id = keep.id, dup.id, person.id
    client = app.test_client()
    client.login(make_user("organizer"))
    page = client.get(f"/organizations/{keep_id}").get_data(as_text=True)
    assert "宁夏贺兰山酒庄" in page and f"#{dup_id}" in page     # the duplicate is pointed out
    assert 'id="merge-form"' in page
    assert client.get(f"/organizations/{keep_id}/merge").status_code == 200
    resp = client.form_post(f"/organizations/{keep_id}/merge", {"other_id": str(dup_id)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/organizations/{keep_id}")
    db.session.expire_all()
    assert db.session.get(Organization, dup_id) is None
    assert db.session.get(Person, person_id).organization_id == keep_id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "organization.merge"))
    assert entry.before["merged"]["name_zh"] == "寧夏賀蘭山酒莊"      # the merged record as it was


def test_a_merge_with_a_bad_id_says_so_and_changes_nothing(visitors_only):
    client = visitors_only.test_client()
    keep = make_org("上海食品有限公司")
    db.session.commit()
    client.login(make_user("organizer"))
    for bad in ("abc", "999999", str(keep.id)):
        page = client.form_post(f"/organizations/{keep.id}/merge", {"other_id": bad}).get_data(as_text=True)
        assert f"No other company with the id {bad}." in page
    assert client.get("/organizations/999999").status_code == 404


def test_viewers_see_the_page_but_only_organizers_merge(visitors_only):
    client = visitors_only.test_client()
    keep, dup = make_org("甲公司"), make_org("乙公司")
    db.session.commit()
    client.login(make_user("account_manager"))
    page = client.get(f"/organizations/{keep.id}").get_data(as_text=True)
    assert 'id="merge-form"' not in page
    assert client.get(f"/organizations/{keep.id}/merge").status_code == 403
    assert client.form_post(f"/organizations/{keep.id}/merge", {"other_id": str(dup.id)}).status_code == 403
    assert db.session.get(Organization, dup.id) is not None
    client.post("/auth/logout", data={"csrf_token": client.csrf_token()})
    client.login(make_user("desk"))
    assert client.get(f"/organizations/{keep.id}").status_code == 403


def test_the_old_exhibitors_urls_redirect(client, app):
    org = make_org("上海食品有限公司")
    db.session.commit()
    client.login(make_user("organizer"))
    resp = client.get(f"/exhibitors/organizations/{org.id}")
    assert resp.status_code == 301 and resp.headers["Location"].endswith(f"/organizations/{org.id}")
    resp = client.form_post(f"/exhibitors/organizations/{org.id}", {"other_id": "1"})
    assert resp.status_code == 308 and resp.headers["Location"].endswith(f"/organizations/{org.id}/merge")
    assert "客户历史" in client.get(f"/organizations/{org.id}", headers={"Accept-Language": "zh"}).get_data(as_text=True)
