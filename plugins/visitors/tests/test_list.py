"""The staff visitor list at any depth: keyset pages in every sort order and filter, with
many people of one name (ties), a second show whose people must never leak in, bad list
URLs answered 400 with the problem named, and honest totals."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm_expo.extensions import db
from crm_expo.listing import Position
from crm_expo.models import Consent
from plugins.visitors import operations as ops
from plugins.visitors.models import Registration
from tests.factories import make_show, make_user

NAMES = ("张伟", "章伟", "张伟", "王芳", "Alice Smith", "张伟", "李娜")
CATEGORIES = ("trade", "public", "trade", "media", "vip", "exhibitor_staff")
ROW = re.compile(r'<a href="/shows/[^/]+/visitors/(\d+)">')
LINK = r'<a href="([^"]+)" rel="{}"'


def _person(name: str, i: int) -> dict:
    key = "name_en" if name.isascii() else "name_zh"
    return {key: name, "email": f"p{i}@example.com"}


@pytest.fixture
def crowd(app):
    """75 registrations (a third of them 张伟 or its homophone 章伟: one sort key) and 12
    people registered only for another show, between them in name order."""
    show, other = make_show("list-2027"), make_show("other-2027")
    with app.test_request_context():
        regs = []
        for i in range(75):
            regs.append(ops.register_visitor(
                show, _person(NAMES[i % len(NAMES)], i), CATEGORIES[i % len(CATEGORIES)], source="staff",
                consents={"marketing": i % 2 == 0, "share_with_exhibitors": i % 3 == 0}))
        for i in range(12):
            ops.register_visitor(other, _person(NAMES[i % len(NAMES)], 1000 + i), "trade", source="staff",
                                 consents={"marketing": True, "share_with_exhibitors": True})
        # A consent withdrawn later: the latest answer counts.
        db.session.add(Consent(person_id=regs[0].person_id, purpose="marketing", granted=False, source="test"))
        ops.verify_registration(regs[2], "verified")
        ops.cancel_registration(regs[3])
        db.session.commit()
    return show


def expected(show, sort="newest", category="", verification="", consent=""):
    regs = db.session.scalars(select(Registration).where(Registration.show_id == show.id)).all()
    regs = [r for r in regs if (not category or r.category == category)
            and (not verification or r.verification == verification)
            and (not consent or r.person.consent(consent))]
    key = {"newest": lambda r: -r.id, "oldest": lambda r: r.id,
           "name": lambda r: (r.person.sort_name, r.person.id)}[sort]
    return [r.id for r in sorted(regs, key=key)]


def walk(show, per_page=7, **filters):
    """Every page forwards with Next, then backwards from Last with Previous. Backwards the
    pages are aligned on the end; arriving at the start, Previous shows the (full) first
    page, which may repeat a few rows of the page after it: take those off."""
    forward, pos = [], Position()
    while True:
        page = ops.visitor_page(show, pos, per_page=per_page, **filters)
        assert len(page.rows) <= per_page
        forward += [r.id for r in page.rows]
        if not page.has_next:
            break
        assert len(page.rows) == per_page        # only the last page is short
        pos = Position(after=page.next_cursor)
    pages, pos = [], Position(last=True)
    while True:
        page = ops.visitor_page(show, pos, per_page=per_page, **filters)
        pages.insert(0, [r.id for r in page.rows])
        if not page.has_prev:
            break
        pos = Position(before=page.prev_cursor)
    tail = [i for p in pages[1:] for i in p]
    assert pages[0] == forward[:per_page]       # Previous at the start = the first page
    assert len(set(tail)) == len(tail) and not set(pages[0][:-1]) & set(tail[per_page:])
    backward = [i for i in pages[0] if i not in tail] + tail
    return forward, backward, page.total


FILTERS = [{}, {"category": "trade"}, {"category": "media"}, {"consent": "marketing"}, {"verification": "pending"},
           {"verification": "verified"}, {"category": "trade", "verification": "pending", "consent": "share_with_exhibitors"},
           {"category": "public", "verification": "pending"}]


def test_pages_cover_every_row_once_in_order_both_ways(app, crowd):
    # Both plans run: small sets are filtered first then sorted, large ones read in index order.
    for sort in ("newest", "oldest", "name"):
        for filters in FILTERS:
            want = expected(crowd, sort, **filters)
            forward, backward, total = walk(crowd, sort=sort, **filters)
            assert forward == want, (sort, filters)          # nothing skipped, nothing twice, in order
            assert backward == want, (sort, filters)
            assert total == len(want)


def test_ties_on_the_name_straddle_pages_without_loss(app, crowd):
    want = expected(crowd, "name")
    names = [db.session.get(Registration, i).person.sort_name for i in want]
    assert names.count("zhangwei") > 20      # one sort key shared by 张伟 and 章伟
    for per_page in (1, 2, 5, 13, 50, 100):
        forward, backward, _total = walk(crowd, per_page=per_page, sort="name")
        assert forward == want and backward == want


def test_previous_from_near_the_start_gives_a_full_first_page(app, crowd):
    want = expected(crowd, "name")
    first = ops.visitor_page(crowd, Position(), per_page=10, sort="name")
    second = ops.visitor_page(crowd, Position(after=first.next_cursor), per_page=10, sort="name")
    # A row before the first one is deleted meanwhile: Previous still shows a full first page.
    back = ops.visitor_page(crowd, Position(before=second.prev_cursor), per_page=10, sort="name")
    assert [r.id for r in back.rows] == want[:10] and not back.has_prev


def _login(client, show, **kw):
    client.login(make_user("organizer", **kw))
    with client.session_transaction() as session:
        session["show"] = show.slug      # the show switcher's choice


def test_list_page_links_walk_the_whole_list(client, app, crowd):
    _login(client, crowd)
    seen, url = [], f"/shows/{crowd.slug}/visitors/?sort=name&category=trade"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [int(i) for i in ROW.findall(html)]
        assert "in all" in html
        nxt = re.search(LINK.format("next"), html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
        if url:
            assert "category=trade" in url and "sort=name" in url    # the filters stay
    assert seen == expected(crowd, "name", category="trade")
    html = client.get(f"/shows/{crowd.slug}/visitors/").get_data(as_text=True)
    assert "75 in all" in html and len(ROW.findall(html)) == 50
    last = re.search(LINK.format("last"), html).group(1).replace("&amp;", "&")
    html = client.get(last).get_data(as_text=True)
    assert [int(i) for i in ROW.findall(html)] == expected(crowd)[-50:]
    prev = re.search(LINK.format("prev"), html).group(1).replace("&amp;", "&")
    assert [int(i) for i in ROW.findall(client.get(prev).get_data(as_text=True))] == expected(crowd)[:50]
    assert [int(i) for i in ROW.findall(client.get(f"/shows/{crowd.slug}/visitors/?page=2").get_data(as_text=True))] \
        == expected(crowd)[50:]


@pytest.mark.parametrize("query, words", [
    ("page=abc", "not a page number"), ("page=0", "not a page number"), ("page=-1", "not a page number"),
    ("page=100000", "Next"), ("after=garbage", "not valid"), ("before=%25%00", "not valid"),
    ("after=WyJ6aGFuZ3dlaSIsIDFd&sort=newest", "not valid"),      # a name cursor on the date order
    ("after=WzFd&before=WzFd", "only one"), ("after=" + "A" * 3000, "not valid"),
])
def test_bad_list_urls_are_400_naming_the_problem(client, app, crowd, query, words):
    _login(client, crowd)
    resp = client.get(f"/shows/{crowd.slug}/visitors/?" + query)
    assert resp.status_code == 400
    assert words in resp.get_data(as_text=True)


def test_unknown_sort_and_filters_fall_back_to_the_plain_list(client, app, crowd):
    _login(client, crowd)
    resp = client.get(f"/shows/{crowd.slug}/visitors/?sort=drop+table&category=nope&consent=%00")
    assert resp.status_code == 200 and "75 in all" in resp.get_data(as_text=True)


def test_a_capped_total_is_shown_as_a_lower_bound(client, app, crowd, monkeypatch):
    _login(client, crowd)
    monkeypatch.setattr(ops, "CONSENT_COUNT_CAP", 5)
    html = client.get(f"/shows/{crowd.slug}/visitors/?consent=marketing").get_data(as_text=True)
    assert "at least 5 in all" in html and f"{len(expected(crowd, consent='marketing'))} in all" not in html
    monkeypatch.setattr(ops, "CONSENT_COUNT_CAP", 1000)
    html = client.get(f"/shows/{crowd.slug}/visitors/?consent=marketing").get_data(as_text=True)
    assert f"{len(expected(crowd, consent='marketing'))} in all" in html and "at least" not in html


def test_figures_and_totals_leave_out_cancelled_only_where_they_should(app, crowd):
    counts = ops.visitor_counts(crowd)
    assert sum(n for n, _x in counts.values()) == 75 and sum(x for _n, x in counts.values()) == 1
    f = ops.figures(crowd, counts)
    assert f["total"] == 74
    assert f["counted"] == len([r for r in db.session.scalars(select(Registration).where(
        Registration.show_id == crowd.id)) if r.counted and r.cancelled_at is None])


def test_pager_in_chinese(client, app, crowd):
    _login(client, crowd, locale="zh")
    html = client.get(f"/shows/{crowd.slug}/visitors/").get_data(as_text=True)
    assert "共 75 条" in html and "下一页" in html and "末页" in html
    html = client.get(f"/shows/{crowd.slug}/visitors/?page=abc").get_data(as_text=True)
    assert "不是页码" in html
