"""Pages and API for the waiting list, discount rules, block / unblock, split and merge:
what the organizer and the exhibitor portal see, refusals with their reason, nothing changed."""
import pytest
from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.models import Organization
from crm_expo.operations import create_token
from plugins.booths import operations as ops
from plugins.booths.models import Booking, Booth, DiscountRule, WaitlistEntry
from tests.factories import PASSWORD, make_user

from .helpers import booth_show, make_exhibitor


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def portal_user(exhibitor):
    return make_user("exhibitor", org=db.session.get(Organization, exhibitor.organization_id))


def test_organizer_blocks_and_unblocks_from_the_booth_panel_and_the_list(client):
    show = booth_show(2)
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/booths/booth/A101").get_data(as_text=True)
    assert 'id="block-form"' in page and "Block this booth" in page
    refused = client.form_post(f"/shows/{show.slug}/booths/booth/A101/block", {"reason": " ", "next": f"/shows/{show.slug}/booths/booth/A101"},
                               follow_redirects=True).get_data(as_text=True)
    assert "Give a reason." in refused
    assert db.session.get(Booth, ops.booth_by_code(show, "A101").id).blocked is False
    page = client.form_post(f"/shows/{show.slug}/booths/booth/A101/block", {"reason": "pillar", "next": f"/shows/{show.slug}/booths/booth/A101"},
                            follow_redirects=True).get_data(as_text=True)
    assert "Booth A101 is blocked." in page and '<td id="blocked-reason">pillar</td>' in page
    assert "Unblock this booth" in page
    listing = client.get(f"/shows/{show.slug}/booths/list?hall=A").get_data(as_text=True)
    assert 'data-status="blocked">Blocked · pillar' in listing and 'data-status="available">Available' in listing
    resp = client.form_post(f"/shows/{show.slug}/booths/booth/A101/unblock", {"reason": "pillar removed", "next": f"/shows/{show.slug}/booths/list?hall=A"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/shows/{show.slug}/booths/list?hall=A")
    db.session.expire_all()
    assert db.session.get(Booth, ops.booth_by_code(show, "A101").id).blocked is False
    # An outside "next" is not followed.
    for outside in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        resp = client.form_post(f"/shows/{show.slug}/booths/booth/A102/unblock", {"reason": "x", "next": outside})
        assert resp.headers["Location"].endswith(f"/shows/{show.slug}/booths/booth/A102"), outside
    assert client.form_post(f"/shows/{show.slug}/booths/booth/Z9/block", {"reason": "x"}).status_code == 404


def test_split_and_merge_from_the_booth_page_with_clear_refusals(client):
    show = booth_show(0)
    ops.add_booth(show, "A", "R1", 0, 0, 12, 6, "raw")
    ops.add_booth(show, "A", "R9", 30, 0, 6, 6, "raw")
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/booths/booth/R1").get_data(as_text=True)
    assert 'id="split-form"' in page and 'id="merge-form"' in page
    refused = client.form_post(f"/shows/{show.slug}/booths/booth/R1/split", {"at": "15", "left_code": "R1A", "right_code": "R1B"},
                               follow_redirects=True).get_data(as_text=True)
    assert "The split must fall inside the booth (between 0 and 12 m)." in refused
    page = client.form_post(f"/shows/{show.slug}/booths/booth/R1/split", {"at": "5", "left_code": "r1a", "right_code": "R1B"},
                            follow_redirects=True).get_data(as_text=True)
    assert "Booth R1 was split into R1A and R1B." in page and "<h1>Booth R1A</h1>" in page
    refused = client.form_post(f"/shows/{show.slug}/booths/booth/R1A/merge", {"other": "R9", "code": "R1"},
                               follow_redirects=True).get_data(as_text=True)
    assert "Booths R1A and R9 are not side by side with equal depth." in refused
    refused = client.form_post(f"/shows/{show.slug}/booths/booth/R1A/merge", {"other": "Q7", "code": "R1"},
                               follow_redirects=True).get_data(as_text=True)
    assert "No booth Q7 in this show." in refused
    ops.hold_booth(show, "R1B", make_exhibitor(show).id)
    refused = client.form_post(f"/shows/{show.slug}/booths/booth/R1A/merge", {"other": "R1B", "code": "R1"},
                               follow_redirects=True).get_data(as_text=True)
    assert "Booth R1B is booked; release it first." in refused
    assert sorted(db.session.scalars(select(Booth.code)).all()) == ["R1A", "R1B", "R9"]
    ops.release(db.session.scalar(select(Booking)), "changed plans")
    page = client.form_post(f"/shows/{show.slug}/booths/booth/R1A/merge", {"other": "R1B", "code": "R1"},
                            follow_redirects=True).get_data(as_text=True)
    assert "Booths R1A and R1B were merged into R1." in page
    assert sorted(db.session.scalars(select(Booth.code)).all()) == ["R1", "R9"]
    # Shell-scheme booths offer no split or merge.
    ops.add_booth(show, "A", "S1", 0, 20, 3, 3, "shell")
    assert 'id="split-form"' not in client.get(f"/shows/{show.slug}/booths/booth/S1").get_data(as_text=True)


def test_organizer_manages_the_waiting_list_queue_and_sees_offers(client):
    show = booth_show(2)
    holder, first, second = (make_exhibitor(show, name) for name in ("占位公司", "第一公司", "第二公司"))
    booking = ops.hold_booth(show, "A101", holder.id)
    client.login(make_user("organizer"))
    page = client.get(f"/shows/{show.slug}/booths/booth/A101").get_data(as_text=True)
    assert "Nobody is waiting for this booth." in page and 'id="waitlist-form"' in page
    resp = client.form_post(f"/shows/{show.slug}/booths/waitlist", {"exhibitor": first.id, "booth": "A101", "next": f"/shows/{show.slug}/booths/booth/A101"},
                            follow_redirects=True)
    assert "Added to the waiting list" in resp.get_data(as_text=True)
    client.form_post(f"/shows/{show.slug}/booths/waitlist", {"exhibitor": second.id, "booth_type": "shell"})
    again = client.form_post(f"/shows/{show.slug}/booths/waitlist", {"exhibitor": second.id, "booth_type": "shell"},
                             follow_redirects=True).get_data(as_text=True)
    assert "The exhibitor is already on this waiting list." in again
    refused = client.form_post(f"/shows/{show.slug}/booths/waitlist", {"exhibitor": first.id, "booth": "A102"},
                               follow_redirects=True).get_data(as_text=True)
    assert "Booth A102 is available: hold it instead of waiting." in refused
    assert count(WaitlistEntry) == 2
    page = client.get(f"/shows/{show.slug}/booths/waitlist").get_data(as_text=True)
    queues = page[page.index('id="queues"'):page.index('id="offers"')]
    assert queues.index("第一公司") < queues.index("第二公司") and "Shell scheme" in queues
    ops.release(booking, "no budget")                               # first gets A101 offered
    page = client.get(f"/shows/{show.slug}/booths/waitlist").get_data(as_text=True)
    offers = page[page.index('id="offers"'):]
    assert "第一公司" in offers and "offer open" in offers and "Booking" in offers
    second_entry = db.session.scalar(select(WaitlistEntry).where(WaitlistEntry.exhibitor_id == second.id))
    page = client.form_post(f"/shows/{show.slug}/booths/waitlist/{second_entry.id}/leave", {}, follow_redirects=True).get_data(
        as_text=True)
    assert "Taken off the waiting list." in page and "left the list" in page
    again = client.form_post(f"/shows/{show.slug}/booths/waitlist/{second_entry.id}/leave", {}, follow_redirects=True).get_data(
        as_text=True)
    assert "This entry is no longer waiting (it is left the list)." in again
    assert client.form_post(f"/shows/{show.slug}/booths/waitlist/999999/leave", {}).status_code == 404


def test_portal_joins_and_leaves_for_itself_and_never_sees_another_organization(client):
    show = booth_show(2)
    mine, theirs, holder = make_exhibitor(show, "我的公司"), make_exhibitor(show, "别人的公司"), make_exhibitor(show)
    ops.hold_booth(show, "A101", holder.id)
    ops.hold_booth(show, "A102", holder.id)
    their_entry = ops.join_waitlist(show, theirs.id, booth_code="A101")
    client.login(portal_user(mine))
    page = client.get(f"/shows/{show.slug}/booths/booth/A101").get_data(as_text=True)
    assert "Join the waiting list" in page and "别人的公司" not in page and 'name="exhibitor"' not in page
    # The exhibitor field of a crafted post is ignored: a portal user always joins for itself.
    client.form_post(f"/shows/{show.slug}/booths/waitlist", {"booth": "A101", "exhibitor": theirs.id, "next": f"/shows/{show.slug}/booths/booth/A101"})
    client.form_post(f"/shows/{show.slug}/booths/waitlist", {"booth_type": "shell"})
    mine_entries = db.session.scalars(select(WaitlistEntry).where(WaitlistEntry.exhibitor_id == mine.id)).all()
    assert len(mine_entries) == 2 and count(WaitlistEntry, WaitlistEntry.exhibitor_id == theirs.id) == 1
    page = client.get(f"/shows/{show.slug}/booths/waitlist").get_data(as_text=True)
    assert "别人的公司" not in page and f'data-entry="{their_entry.id}"' not in page
    assert f'data-entry="{mine_entries[0].id}"' in page
    queue_row = page[page.index(f'data-entry="{mine_entries[0].id}"'):]
    assert "<td>2</td>" in queue_row[:400]                  # second in line for A101, behind the other one
    assert client.form_post(f"/shows/{show.slug}/booths/waitlist/{their_entry.id}/leave", {}).status_code == 404
    assert db.session.get(WaitlistEntry, their_entry.id).status == "waiting"
    resp = client.form_post(f"/shows/{show.slug}/booths/waitlist/{mine_entries[0].id}/leave", {})
    assert resp.status_code == 302
    assert db.session.get(WaitlistEntry, mine_entries[0].id).status == "left"
    for url in (f"/shows/{show.slug}/booths/rules", f"/shows/{show.slug}/booths/list", f"/shows/{show.slug}/booths/rules/1"):
        assert client.get(url).status_code == 403, url
    assert client.form_post(f"/shows/{show.slug}/booths/booth/A101/block", {"reason": "mine"}).status_code == 403


def test_discount_rule_pages_create_edit_freeze_and_retire(client):
    show = booth_show()
    client.login(make_user("organizer"))
    page = client.form_post(f"/shows/{show.slug}/booths/rules", {"name": "Big stand", "percent": "10", "min_area_m2": "9",
                                              "booth_type": "shell"}, follow_redirects=True).get_data(as_text=True)
    assert "Discount rule Big stand published." in page and "≥ 9 m²" in page
    bad = client.form_post(f"/shows/{show.slug}/booths/rules", {"name": "Bad", "percent": "150"}, follow_redirects=True)
    assert "A discount is 1 to 100 percent." in bad.get_data(as_text=True)
    dup = client.form_post(f"/shows/{show.slug}/booths/rules", {"name": "Big stand", "percent": "5"}, follow_redirects=True)
    assert "A discount rule named Big stand exists already." in dup.get_data(as_text=True)
    assert count(DiscountRule) == 1
    rule = db.session.scalar(select(DiscountRule))
    form = client.get(f"/shows/{show.slug}/booths/rules/{rule.id}").get_data(as_text=True)
    assert 'value="Big stand"' in form and 'value="10"' in form
    page = client.form_post(f"/shows/{show.slug}/booths/rules/{rule.id}", {"name": "Big stand", "percent": "15", "min_area_m2": "9",
                                                         "booth_type": "shell"}, follow_redirects=True)
    assert "Discount rule Big stand saved." in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(DiscountRule, rule.id).percent == 15
    ops.hold_booth(show, "A101", make_exhibitor(show).id, discount_rule_id=rule.id)
    frozen = client.get(f"/shows/{show.slug}/booths/rules/{rule.id}").get_data(as_text=True)
    assert 'id="rule-frozen"' in frozen and 'id="rule-form"' not in frozen
    refused = client.form_post(f"/shows/{show.slug}/booths/rules/{rule.id}", {"name": "Big stand", "percent": "50"},
                               follow_redirects=True).get_data(as_text=True)
    assert "is cited by bookings (1) and cannot be changed" in refused
    db.session.expire_all()
    assert db.session.get(DiscountRule, rule.id).percent == 15
    page = client.form_post(f"/shows/{show.slug}/booths/rules/{rule.id}/retire", {}, follow_redirects=True).get_data(as_text=True)
    assert "Discount rule Big stand retired" in page and "Retired" in page
    # A retired rule is no longer offered on the booth page.
    assert "Big stand (−15%)" not in client.get(f"/shows/{show.slug}/booths/booth/A102").get_data(as_text=True)
    assert client.get(f"/shows/{show.slug}/booths/rules/999999").status_code == 404
    assert client.form_post(f"/shows/{show.slug}/booths/rules/999999/retire", {}).status_code == 404


def test_new_pages_answer_in_chinese(client):
    show = booth_show(1)
    ops.hold_booth(show, "A101", make_exhibitor(show).id)
    client.login(make_user("organizer", locale="zh"))
    waitlist = client.get(f"/shows/{show.slug}/booths/waitlist", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    rules = client.get(f"/shows/{show.slug}/booths/rules", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    booth = client.get(f"/shows/{show.slug}/booths/booth/A101", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "候补名单" in waitlist and "折扣规则" in rules and "将此展位设为不可售" in booth


# --- API ----------------------------------------------------------------------------------------
def _api(client, method, url, token, json=None):
    return client.open(url, method=method, json=json, headers={"Authorization": f"Bearer {token}"})


def test_api_waitlist_join_list_leave_and_refusals(client):
    show = booth_show(2)
    holder, ex = make_exhibitor(show), make_exhibitor(show, "接口公司")
    ops.hold_booth(show, "A101", holder.id)
    _, token = create_token(show, "account_manager")
    base = f"/api/v1/shows/{show.slug}/waitlist"
    r = _api(client, "POST", base, token, {"booth": "A101", "exhibitor": ex.id})
    assert r.status_code == 201, r.get_json()
    entry = r.get_json()
    assert (entry["booth"], entry["exhibitor_name"], entry["status"], entry["outcome"]) == (
        "A101", "接口公司", "waiting", "waiting")
    r = _api(client, "POST", base, token, {"booth_type": "shell", "exhibitor": ex.id})
    assert r.status_code == 201
    dup = _api(client, "POST", base, token, {"booth_type": "shell", "exhibitor": ex.id})
    assert dup.status_code == 409 and dup.get_json()["error"]["code"] == "duplicate"
    free = _api(client, "POST", base, token, {"booth": "A102", "exhibitor": ex.id})
    assert free.status_code == 409 and free.get_json()["error"]["code"] == "booth_available"
    for body, status, code in (({"booth_type": "shell"}, 400, "missing_field"),
                               ({"booth_type": "tent", "exhibitor": ex.id}, 422, "bad_value"),
                               ({"booth": "Z9", "exhibitor": ex.id}, 404, "unknown_booth")):
        r = _api(client, "POST", base, token, body)
        assert (r.status_code, r.get_json()["error"]["code"]) == (status, code), body
    assert _api(client, "POST", base, token, None).get_json()["error"]["code"] == "bad_json"
    listed = _api(client, "GET", base, token).get_json()
    assert listed["total"] == 2 and [i["booth"] for i in listed["items"]] == ["A101", None]
    assert _api(client, "GET", base + "?booth_type=shell", token).get_json()["total"] == 1
    assert _api(client, "GET", base + "?booth=A101", token).get_json()["items"][0]["id"] == entry["id"]
    assert _api(client, "GET", base + "?per_page=1", token).get_json()["items"].__len__() == 1
    assert _api(client, "GET", base + "?state=soon", token).status_code == 422
    left = _api(client, "DELETE", f"{base}/{entry['id']}", token)
    assert left.status_code == 200 and left.get_json()["status"] == "left"
    again = _api(client, "DELETE", f"{base}/{entry['id']}", token)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "bad_transition"
    past = _api(client, "GET", base + "?state=past", token).get_json()
    assert [i["outcome"] for i in past["items"]] == ["left"]
    assert _api(client, "DELETE", f"{base}/999999", token).status_code == 404


def test_api_portal_token_joins_for_itself_and_sees_only_its_own_entries(client):
    show = booth_show(1)
    holder, mine, theirs = make_exhibitor(show), make_exhibitor(show), make_exhibitor(show)
    ops.hold_booth(show, "A101", holder.id)
    their_entry = ops.join_waitlist(show, theirs.id, booth_code="A101")
    _, token = create_token(show, "exhibitor", organization_id=mine.organization_id)
    base = f"/api/v1/shows/{show.slug}/waitlist"
    r = _api(client, "POST", base, token, {"booth": "A101", "exhibitor": theirs.id})
    assert r.status_code == 201 and r.get_json()["exhibitor"] == mine.id
    listed = _api(client, "GET", base, token).get_json()
    assert [i["exhibitor"] for i in listed["items"]] == [mine.id] and listed["total"] == 1
    gone = _api(client, "DELETE", f"{base}/{their_entry.id}", token)
    assert gone.status_code == 404 and gone.get_json()["error"]["code"] == "unknown_entry"
    assert db.session.get(WaitlistEntry, their_entry.id).status == "waiting"
    blocked = _api(client, "POST", f"/api/v1/shows/{show.slug}/booths/A101/block", token, {"reason": "x"})
    assert blocked.status_code == 403


def test_api_block_unblock_and_discount_rules(client):
    show = booth_show(2)
    _, token = create_token(show, "organizer")
    base = f"/api/v1/shows/{show.slug}/booths"
    r = _api(client, "POST", base + "/A102/block", token, {})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "reason_required"
    r = _api(client, "POST", base + "/A102/block", token, {"reason": "stage"})
    assert r.get_json() == {"code": "A102", "blocked": True, "blocked_reason": "stage"}
    assert _api(client, "GET", base, token).get_json()["items"][1]["status"] == "blocked"
    r = _api(client, "POST", base + "/A102/block", token, {"reason": "stage"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "bad_transition"
    ops.hold_booth(show, "A101", make_exhibitor(show).id)
    r = _api(client, "POST", base + "/A101/block", token, {"reason": "x"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "booth_taken"
    assert _api(client, "POST", base + "/A102/unblock", token, {"reason": "stage moved"}).get_json()["blocked"] is False
    assert _api(client, "POST", base + "/Z9/block", token, {"reason": "x"}).status_code == 404
    assert _api(client, "POST", base + "/A102/paint", token, {}).status_code == 404
    _, sales = create_token(show, "account_manager")
    assert _api(client, "POST", base + "/A102/block", sales, {"reason": "x"}).status_code == 403
    keep = ops.add_discount_rule(show, "Loyal", 5, booth_type="shell")
    old = ops.add_discount_rule(show, "Old", 8)
    ops.retire_discount_rule(show, old.id)
    rules = _api(client, "GET", f"/api/v1/shows/{show.slug}/discount-rules", token).get_json()
    assert rules["total"] == 1 and rules["items"][0] == {
        "id": keep.id, "name": "Loyal", "percent": 5, "min_area_m2": 0.0, "booth_type": "shell", "retired": False,
        "retired_at": None, "bookings": 0}
    everything = _api(client, "GET", f"/api/v1/shows/{show.slug}/discount-rules?retired=1", token).get_json()
    assert [i["name"] for i in everything["items"]] == ["Loyal", "Old"] and everything["items"][1]["retired"]
    exhibitor = make_exhibitor(show)
    _, portal = create_token(show, "exhibitor", organization_id=exhibitor.organization_id)
    assert _api(client, "GET", f"/api/v1/shows/{show.slug}/discount-rules", portal).status_code == 403


def test_an_exhibitor_cannot_give_itself_a_discount_over_the_api(client):
    """Security review finding (ASVS 5.0 V8.2.1): the portal page has no discount, and the API
    honoured one from an exhibitor's token, halving its price."""
    show = booth_show(2)
    rule = ops.add_discount_rule(show, "Staff only", 50)
    exhibitor = make_exhibitor(show)
    _, portal = create_token(show, "exhibitor", organization_id=exhibitor.organization_id)
    r = _api(client, "POST", f"/api/v1/shows/{show.slug}/bookings", portal, {"booth": "A101", "discount_rule": rule.id})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "discount_staff_only"
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0      # nothing held
    list_price = _api(client, "POST", f"/api/v1/shows/{show.slug}/bookings", portal, {"booth": "A101"})
    assert list_price.status_code == 201
    _, sales = create_token(show, "account_manager")
    discounted = _api(client, "POST", f"/api/v1/shows/{show.slug}/bookings", sales,
                      {"booth": "A102", "exhibitor": make_exhibitor(show).id, "discount_rule": rule.id})
    assert discounted.status_code == 201
    assert discounted.get_json()["price_minor"] * 2 == list_price.get_json()["price_minor"]


@pytest.mark.browser
def test_block_a_booth_from_its_panel_on_the_floor_plan(page, live_server):
    show = booth_show(2)
    show_id, slug = show.id, show.slug
    user = make_user("organizer")
    page.goto(live_server + "/auth/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#logout")
    page.goto(live_server + f"/shows/{slug}/booths/")
    page.click('svg.floorplan a[data-code="A102"] rect')
    page.wait_for_selector("#block-form")
    page.click("#block-form button")                         # no reason: refused, nothing changed
    page.wait_for_selector("text=Give a reason.")
    page.fill("#block-form input[name=reason]", "sponsor lounge")
    page.click("#block-form button")
    page.wait_for_selector("#blocked-reason")
    assert page.inner_text("#blocked-reason") == "sponsor lounge"
    page.goto(live_server + f"/shows/{slug}/booths/")
    assert page.locator('svg.floorplan a[data-code="A102"]').get_attribute("data-status") == "blocked"
    db.session.remove()         # a fresh read, after the server's commits
    assert db.session.scalar(select(Booth.blocked_reason).where(Booth.show_id == show_id, Booth.code == "A102")) \
        == "sponsor lounge"
