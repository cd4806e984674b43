"""Every form's submit button can be seen: on the login page and one form page per plugin, in
both languages, the button found by its text (as a user finds it) is visible and its text
stands out from its background (WCAG contrast ≥ 4.5:1, from the colours the browser computed)."""
from __future__ import annotations

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from tests.factories import PASSWORD, make_show, make_user

pytestmark = pytest.mark.browser

# The colours the browser paints: the element's text colour, and its background composited
# over its ancestors' (a transparent button shows the card behind it) and finally white.
COLOURS_JS = """el => {
  const rgba = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const fg = rgba(getComputedStyle(el).color);
  const layers = [];
  for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
    const c = rgba(getComputedStyle(n).backgroundColor);
    const a = c.length > 3 ? c[3] : 1;
    if (a > 0) { layers.push([c[0], c[1], c[2], a]); if (a >= 1) break; }
  }
  let bg = [255, 255, 255];
  for (const [r, g, b, a] of layers.reverse()) bg = [r * a + bg[0] * (1 - a), g * a + bg[1] * (1 - a), b * a + bg[2] * (1 - a)];
  return {fg: fg.slice(0, 3), bg: bg};
}"""


def _luminance(rgb) -> float:
    def channel(v):
        c = v / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg, bg) -> float:
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_ratio_as_wcag_defines_it():
    assert round(contrast((0, 0, 0), (255, 255, 255)), 1) == 21.0
    assert contrast((255, 255, 255), (255, 255, 255)) == 1.0
    assert round(contrast((0x76, 0x76, 0x76), (255, 255, 255)), 2) == 4.54     # the classic 4.5 grey


def _check(page, role: str, name: str, where: str) -> int:
    """Every control with this role and exact text on the page: visible, readable. → how many."""
    controls = page.get_by_role(role, name=name, exact=True)
    count = controls.count()
    assert count, f"no {role} named {name!r} on {where}"
    for i in range(count):
        control = controls.nth(i)
        control.scroll_into_view_if_needed()
        assert control.is_visible(), (where, name)
        box = control.bounding_box()
        assert box and box["width"] >= 24 and box["height"] >= 24, (where, name, box)
        colours = control.evaluate(COLOURS_JS)
        ratio = contrast(colours["fg"], colours["bg"])
        assert ratio >= 4.5, f"{name!r} on {where}: text {colours['fg']} on {colours['bg']} is {ratio:.2f}:1"
    return count


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_submit_button_is_visible_and_readable(browser, live_server, app, lang):
    show = make_show("buttons-2027")
    admin = make_user("admin", email="admin@example.com")
    slug, email = show.slug, admin.email
    base = f"{live_server}/shows/{slug}"
    # (page, [(role, text)]) — the text as the user reads it, in the page's language
    pages = [
        (f"{live_server}/auth/login", [("button", "Sign in")]),
        (f"{base}/exhibitors/new", [("button", "Save")]),
        (f"{base}/exhibitors/", [("button", "Filter"), ("link", "New exhibitor")]),
        (f"{base}/visitors/register", [("button", "Register")]),
        (f"{base}/suppliers/new", [("button", "Save")]),
        (f"{base}/booths/rules", [("button", "Save discount rule")]),
        (f"{base}/onsite/service/new", [("button", "Log request")]),
        (f"{live_server}/admin/settings", [("button", "Save")]),
    ]
    with app.test_request_context(), force_locale(lang):
        pages = [(url, [(role, _(text)) for role, text in controls]) for url, controls in pages]
        sign_in = _("Sign in")
    context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"{live_server}/auth/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name=sign_in, exact=True).click()
        page.wait_for_url(lambda url: "/auth/login" not in url)
        checked = 0
        for url, controls in pages:
            if url.endswith("/auth/login"):
                page.context.clear_cookies()      # the login page as a visitor first sees it
            response = page.goto(url)
            assert response.status == 200, url
            for role, name in controls:
                checked += _check(page, role, name, url)
            if url.endswith("/auth/login"):
                page.fill("input[name=email]", email)
                page.fill("input[name=password]", PASSWORD)
                page.get_by_role("button", name=sign_in, exact=True).click()
                page.wait_for_url(lambda url: "/auth/login" not in url)
        assert checked >= len(pages) + 1
    finally:
        context.close()
