"""The exhibitors list at any depth: keyset pages in every sort order, with many companies of
one sort key (homophones: 张伟公司, 章威公司 … all 'zhangweigongsi'), filters kept across
pages, another show's exhibitors never shown, bad list URLs answered 400."""
from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from sqlalchemy import select

from crm_expo.extensions import db
from crm_expo.listing import Position
from plugins.exhibitors import operations as ops
from plugins.exhibitors.models import Exhibitor
from tests.factories import make_org, make_show, make_user

STATUSES = ("applied", "under_review", "approved", "rejected")
ROW = re.compile(r'<a href="/shows/[^/]+/exhibitors/(\d+)">')
LINK = r'<a href="([^"]+)" rel="{}"'


@pytest.fixture
def fair(app):
    show, other = make_show("wine-2027"), make_show("wine-2026")
    names = ["".join(p) + "公司" for p in itertools.product("张章彰樟璋漳", "伟威薇维卫")][:28]
    names += [f"Company {i:02d}" for i in range(30)]
    for i, name in enumerate(names):
        org = make_org(name if not name.isascii() else "", name_en=name if name.isascii() else "")
        ex = ops.create_exhibitor(show, organization=org, country=("CN", "DE", "FR")[i % 3])
        # Test data set directly: statuses spread, application times in 5 ties.
        ex.status, ex.applied_at = STATUSES[i % len(STATUSES)], dt.datetime(2027, 1, 1 + i % 5, 9)
        if i % 4 == 0:     # the same company at last year's fair
            ops.create_exhibitor(other, organization=org)
    db.session.commit()
    return show


def expected(show, sort="name", status="", country=""):
    rows = db.session.scalars(select(Exhibitor).where(Exhibitor.show_id == show.id)).all()
    rows = [e for e in rows if (not status or e.status == status) and (not country or e.country == country)]
    key = {"name": lambda e: (e.organization.sort_name, e.organization.id),
           "-name": lambda e: (e.organization.sort_name, e.organization.id),
           "applied": lambda e: (e.applied_at, e.id), "-applied": lambda e: (e.applied_at, e.id),
           "status": lambda e: (e.status, e.organization.sort_name, e.organization.id),
           "country": lambda e: (e.country, e.organization.sort_name, e.organization.id)}[sort]
    return [e.id for e in sorted(rows, key=key, reverse=sort.startswith("-"))]


def test_pages_cover_every_exhibitor_once_in_every_order(app, fair):
    assert len({e.organization.sort_name for e in db.session.scalars(select(Exhibitor))}) < 40   # ties
    for sort in ops.ORDERS:
        for filters in ({}, {"status": "approved"}, {"country": "DE"}, {"status": "rejected", "country": "FR"}):
            want = expected(fair, sort, **filters)
            got, pos = [], Position()
            while True:
                page = ops.exhibitor_page(fair, pos, per_page=4, sort=sort, **filters)
                got += [e.id for e in page.rows]
                if not page.has_next:
                    break
                pos = Position(after=page.next_cursor)
            assert got == want, (sort, filters)
            assert page.total == len(want)
            back, pos = [], Position(last=True)
            while True:
                page = ops.exhibitor_page(fair, pos, per_page=4, sort=sort, **filters)
                back = [e.id for e in page.rows] + back
                if not page.has_prev:
                    break
                pos = Position(before=page.prev_cursor)
            # Backwards the pages align on the end; Previous at the start shows the full first page.
            assert back[-len(want) + 4:] == want[4:] if len(want) > 4 else back == want, (sort, filters)


def test_list_page_links_keep_filters_and_reach_every_row(client, app, fair):
    client.login(make_user("organizer"))
    url, seen = f"/shows/{fair.slug}/exhibitors/?sort=-name&country=CN", []
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [int(i) for i in ROW.findall(html)]
        nxt = re.search(LINK.format("next"), html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
        assert url is None or ("country=CN" in url and "sort=-name" in url)
    assert seen == expected(fair, "-name", country="CN")
    html = client.get(f"/shows/{fair.slug}/exhibitors/").get_data(as_text=True)
    assert "58 in all" in html and len(ROW.findall(html)) == 50
    last = re.search(LINK.format("last"), html).group(1).replace("&amp;", "&")
    assert [int(i) for i in ROW.findall(client.get(last).get_data(as_text=True))] == expected(fair)[-50:]


@pytest.mark.parametrize("query, words", [("page=x", "not a page number"), ("page=999", "Next"),
                                          ("after=%ff%fe", "not valid"), ("before=WzEsMl0", "not valid"),
                                          ("after=WyJhIiwxXQ&last=1", "only one")])
def test_bad_list_urls_are_400(client, app, fair, query, words):
    client.login(make_user("organizer"))
    resp = client.get(f"/shows/{fair.slug}/exhibitors/?{query}")
    assert resp.status_code == 400 and words in resp.get_data(as_text=True)


def test_unknown_sort_and_status_fall_back(client, app, fair):
    client.login(make_user("organizer"))
    resp = client.get(f"/shows/{fair.slug}/exhibitors/?sort=evil&status=nope&category=x&manager=y")
    assert resp.status_code == 200 and "58 in all" in resp.get_data(as_text=True)
