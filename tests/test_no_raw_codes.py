"""Nothing raw on screen: on the demo, in Chinese, the visible text of every plugin's main pages
(each role's menu, and the record pages one click away: a booking, an order, a service
request, a visitor, an exhibitor, the audit log) holds none of the internal codes as a whole
word — statuses, payment methods, sources, categories, kinds, roles, audit actions."""
from __future__ import annotations

import html
import re

from sqlalchemy import select

from crm_expo.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from crm_expo.extensions import db

# The codes a user must never read: every code set the pages show a value of.
RAW_CODES = (
    # shows, bookings, payments, waiting list
    "draft", "open", "live", "closed",
    "held", "reserved", "confirmed", "paid", "cancelled", "released", "expired",
    "bank_transfer", "cash", "card", "alipay", "wechat",
    "waiting", "offered",
    # exhibitors, documents
    "applied", "under_review", "approved", "rejected", "withdrawn", "main", "co",
    "licence", "product_certificate", "brand_authorisation", "accepted",
    # visitors: categories, verification, sources, question kinds, consents
    "trade", "public", "vip", "media", "exhibitor_staff", "pending", "verified",
    "self", "staff", "import", "api", "generate", "walkin", "single", "multiple",
    "marketing", "share_with_exhibitors", "badge_data",
    # suppliers, service orders
    "placed", "delivered", "furniture", "rental", "utilities", "catering",
    # onsite: service requests, scans
    "new", "assigned", "in_progress", "resolved", "feedback_given", "complaint", "suggestion",
    "urgent", "already_in", "not_allowed",
    # roles
    "admin", "organizer", "account_manager", "service_agent", "desk", "exhibitor", "supplier",
)


def _whole_words(codes) -> re.Pattern:
    """A code as a whole word — not inside a file name, an address or an English phrase of the
    demo's own bilingual content ("Rented chairs not delivered")."""
    return re.compile(r"(?<![\w/.@-])(?<![a-z] )(" + "|".join(map(re.escape, codes)) + r")(?![\w/@-]|\.\w)")


def visible_text(page: str) -> str:
    page = re.sub(r"(?s)<(script|style|code|textarea)\b.*?</\1>", " ", page)
    # what people typed (a request's words, its keywords), marked class="free-text" on the page
    page = re.sub(r'(?s)<(\w+)\b[^>]*class="[^"]*\bfree-text\b[^"]*"[^>]*>.*?</\1>', " ", page)
    page = re.sub(r"(?s)<!--.*?-->|<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page))


def _login(client, email):
    resp = client.post("/auth/login", data={"email": email, "password": DEMO_PASSWORD,
                                            "csrf_token": client.csrf_token()})
    assert resp.status_code == 302, email
    client.post("/locale/zh", data={"csrf_token": client.csrf_token()})


def _record_pages() -> list[str]:
    """One page of each kind of record the menus lead to, found in the demo's data."""
    from crm_expo.models import Show
    from plugins.booths.models import Booking, Payment
    from plugins.exhibitors.models import Exhibitor
    from plugins.onsite.models import ServiceRequest
    from plugins.suppliers.models import ServiceOrder
    from plugins.visitors.models import Registration
    slug = db.session.scalar(select(Show.slug).where(Show.status == "live"))
    pages = ["/admin/audit", "/admin/shows", "/admin/users", "/admin/tokens", "/"]
    for booking in db.session.scalars(select(Booking).order_by(Booking.id).limit(40)):
        pages.append(f"/shows/{slug}/booths/booking/{booking.id}")
    for payment in db.session.scalars(select(Payment).limit(3)):
        pages.append(f"/shows/{slug}/booths/booking/{payment.booking_id}")
    for order in db.session.scalars(select(ServiceOrder).limit(5)):
        pages.append(f"/shows/{slug}/suppliers/orders/{order.id}")
    for req in db.session.scalars(select(ServiceRequest).limit(5)):
        pages.append(f"/shows/{slug}/onsite/service/{req.id}")
    for reg in db.session.scalars(select(Registration).limit(5)):
        pages.append(f"/shows/{slug}/visitors/{reg.id}")
    for ex in db.session.scalars(select(Exhibitor).limit(3)):
        pages.append(f"/shows/{slug}/exhibitors/{ex.id}")
        pages.append(f"/organizations/{ex.organization_id}")
    return list(dict.fromkeys(pages))


def _pages_of(client, start: list[str]) -> dict[str, str]:
    """Every menu page reachable from home and the given pages, and one click further (a few
    links of each shape), as visible text."""
    texts, queue, shapes = {}, ["/", *start], {}
    while queue and len(texts) < 150:
        url = queue.pop(0)
        if url in texts:
            continue
        resp = client.get(url, follow_redirects=True)
        if resp.status_code != 200 or "html" not in resp.content_type:
            texts[url] = ""
            continue
        page = resp.get_data(as_text=True)
        texts[url] = visible_text(page)
        for link in re.findall(r'<a href="(/[a-z][^"#]*)"', page):
            if "logout" in link or re.search(r"\.(pdf|csv|xlsx)\b|/badge/|/export|/assets/", link):
                continue
            shape = re.sub(r"\d+", "N", link.split("?")[0])
            if shapes.get(shape, 0) < 2:
                shapes[shape] = shapes.get(shape, 0) + 1
                queue.append(link)
    return texts


def test_no_raw_code_on_any_main_page_in_chinese(app, client):
    assert load_demo(app) is True
    from crm_expo.models import AuditEntry
    records = _record_pages()
    # and every audit action the demo recorded ("booking.hold", "supplier.order.place" …)
    actions = set(db.session.scalars(select(AuditEntry.action).distinct())) - {"login", "logout"}
    assert "supplier.order.place" in actions
    pattern = _whole_words(sorted({*RAW_CODES, *actions}, key=len, reverse=True))
    found = []
    for email, role in DEMO_USERS:
        _login(client, email)
        for url, text in _pages_of(client, records).items():
            for match in pattern.finditer(text):
                shape = re.sub(r"\d+", "N", url)
                if not any(f[1] == shape and f[2] == match.group(0) for f in found):
                    found.append((role, shape, match.group(0), text[max(0, match.start() - 40):match.end() + 40]))
        client.post("/auth/logout", data={"csrf_token": client.csrf_token()})
    assert not found, "\n".join(map(str, found[:80]))
