"""The UI shell in a real browser: sign in, switch to Chinese, every plugin in the
navigation, sign out."""
import pytest

from tests.factories import PASSWORD, make_show, make_user

pytestmark = pytest.mark.browser

PLUGIN_TITLES_ZH = {"exhibitors": "参展商", "visitors": "观众", "suppliers": "服务商", "booths": "展位",
                    "onsite": "现场服务", "loyalty": "客户忠诚"}


def test_sign_in_switch_to_chinese_see_every_plugin_sign_out(page, live_server):
    make_show("food-2027", name_zh="2027食品博览会", name_en="Food Expo 2027")
    user = make_user("admin", email="admin@example.com")
    page.goto(live_server + "/")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#logout")
    assert "Food Expo 2027" in page.content()

    page.click("#locale-switcher button")
    page.wait_for_selector("html[lang=zh-Hans]")
    nav = page.locator("nav.mainnav")
    for name, title in PLUGIN_TITLES_ZH.items():
        link = nav.locator(f'a[data-plugin="{name}"]')
        assert link.count() == 1, name
        assert link.inner_text().strip() == title
    assert "2027食品博览会" in page.content()
    assert page.locator("#logout").inner_text().strip() == "退出登录"

    page.click("#logout")
    page.wait_for_selector("input[name=password]")
    page.goto(live_server + "/admin/shows")
    assert "/auth/login" in page.url
