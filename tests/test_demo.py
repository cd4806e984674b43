"""The README's demo: every login lands on working pages, and the exhibitor and supplier
portals show the demo's own company (its exhibition, its catalogue and an order)."""
from __future__ import annotations

import re

from crm_expo.demo import DEMO_PASSWORD, DEMO_USERS, load_demo


def _login(client, email):
    token = client.csrf_token()
    resp = client.post("/auth/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, email


def test_every_demo_login_reaches_every_page_of_its_menu(app, client):
    assert load_demo(app) is True
    for email, role in DEMO_USERS:
        _login(client, email)
        home = client.get("/").get_data(as_text=True)
        links = sorted(set(re.findall(r'<a href="(/[a-z][^"#?]*)"', home)) - {"/auth/logout"})
        assert links, role
        for link in links:
            assert client.get(link, follow_redirects=True).status_code == 200, (role, link)
        client.post("/auth/logout", data={"csrf_token": client.csrf_token()})


def test_the_demo_portals_show_the_ordering_loop(app, client):
    load_demo(app)
    _login(client, "exhibitor@demo.crm-expo.org")
    orders = client.get("/suppliers/services/", follow_redirects=True).get_data(as_text=True)
    assert "Meeting table (round)" in orders or "洽谈桌（圆桌）" in orders
    client.post("/auth/logout", data={"csrf_token": client.csrf_token()})
    _login(client, "supplier@demo.crm-expo.org")
    page = client.get("/shows/food-expo-2027/suppliers/portal/orders").get_data(as_text=True)
    assert "上海美味食品有限公司" in page or "Shanghai Meiwei Foods" in page
