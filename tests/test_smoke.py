from tests.factories import make_show, make_user


def test_login_and_home_lists_every_plugin(client, app):
    make_show("food-2027")
    user = make_user("admin")
    client.login(user)
    page = client.get("/").get_data(as_text=True)
    for name in ("exhibitors", "visitors", "suppliers", "booths", "onsite", "loyalty"):
        assert f'data-plugin="{name}"' in page
    for name in ("exhibitors", "visitors", "suppliers", "booths", "onsite", "loyalty"):
        assert client.get(f"/{name}/", follow_redirects=True).status_code == 200
