"""Both languages are complete: every user-visible string has a Simplified Chinese
translation, the compiled catalogues match their sources, and the locale is chosen from
the user's preference, then the switcher, then Accept-Language."""
import glob
import os

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.factories import make_show, make_user

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHOD_MAP = [("**.py", "python"), ("**.html", "jinja2")]
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
SOURCE_DIRS = ["crm_expo", "templates"] + sorted(glob.glob(os.path.join(ROOT, "plugins", "*", "")))


def _catalogues():
    return sorted(glob.glob(os.path.join(ROOT, "crm_expo", "translations*", "zh", "LC_MESSAGES", "messages.po")) +
                  glob.glob(os.path.join(ROOT, "plugins", "*", "translations", "zh", "LC_MESSAGES", "messages.po")))


def _msgids():
    found = {}
    for d in SOURCE_DIRS:
        path = d if os.path.isabs(d) else os.path.join(ROOT, d)
        for filename, _lineno, message, _comments, _ctx in extract_from_dir(
                path, METHOD_MAP, keywords=KEYWORDS, options_map={"**.html": {"extensions": "jinja2.ext.do"}}):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault(msgid, os.path.relpath(os.path.join(path, filename), ROOT))
    return found


def test_every_string_has_a_chinese_translation():
    translated = {}
    for po in _catalogues():
        with open(po, "rb") as fh:
            for msg in read_po(fh):
                if msg.id and msg.string and not msg.fuzzy:
                    translated[msg.id if isinstance(msg.id, str) else msg.id[0]] = msg.string
    missing = {m: where for m, where in _msgids().items() if m not in translated}
    assert not missing, "strings without a zh translation:\n" + "\n".join(
        f"  {where}: {m!r}" for m, where in sorted(missing.items(), key=lambda kv: kv[1]))


def test_compiled_catalogues_match_their_sources():
    for po in _catalogues():
        mo = po[:-3] + ".mo"
        assert os.path.exists(mo), f"{mo} missing: run pybabel compile"
        with open(po, "rb") as fh:
            source = {m.id: m.string for m in read_po(fh) if m.id and m.string and not m.fuzzy}
        with open(mo, "rb") as fh:
            compiled = {m.id: m.string for m in read_mo(fh) if m.id}
        assert compiled == source, f"{mo} is stale: run pybabel compile"


def test_accept_language_picks_chinese(client):
    page = client.get("/auth/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "登录" in page and 'lang="zh-Hans"' in page


def test_switcher_overrides_browser_and_user_preference_overrides_switcher(client, app):
    make_show()
    client.form_post("/locale/zh")
    assert "登录" in client.get("/auth/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    user = make_user("organizer", locale="en")
    client.login(user)
    page = client.get("/", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "Sign out" in page and "退出登录" not in page


def test_money_and_dates_follow_the_locale(app):
    import datetime as dt

    from flask_babel import refresh

    from crm_expo.i18n import local_date, money, parse_money
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        assert money(1380000, "CNY") == "¥13,800.00"
        assert local_date(dt.date(2027, 5, 10)) == "2027年5月10日"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()   # the app context (and its cached locale) is shared by both requests
        assert money(828000, "CNY").endswith("8,280.00")
        assert local_date(dt.date(2027, 5, 10)) == "May 10, 2027"
        assert money(150, "JPY").endswith("150")  # yen have no minor unit
    assert parse_money("13,800.50") == 1380050
    import pytest

    from crm_expo.errors import DomainError
    with pytest.raises(DomainError, match="more decimals than CNY allows") as refused:
        parse_money("1.005", field="price")
    assert (refused.value.code, refused.value.field) == ("invalid_amount", "price")
    with pytest.raises(DomainError, match="Not an amount: 12 yuan"):
        parse_money("12 yuan")
    with pytest.raises(DomainError, match="Not an amount: NaN"):
        parse_money("NaN")


def test_no_string_is_translated_two_ways():
    """All catalogues merge into one namespace at run time, so the same English string
    must not carry two different Chinese translations in two catalogues."""
    seen, conflicts = {}, []
    for po in _catalogues():
        with open(po, "rb") as fh:
            for msg in read_po(fh):
                if not (msg.id and msg.string) or msg.fuzzy:
                    continue
                where = os.path.relpath(po, ROOT)
                if msg.id in seen and seen[msg.id][0] != msg.string:
                    conflicts.append(f"{msg.id!r}: {seen[msg.id][0]!r} ({seen[msg.id][1]}) vs {msg.string!r} ({where})")
                seen.setdefault(msg.id, (msg.string, where))
    assert not conflicts, "translated two ways:\n" + "\n".join(conflicts)
