"""The JSON API base: bearer tokens, errors, pagination, OpenAPI."""
import datetime as dt

import pytest

from crm_expo.api.fast_lane import add_fast_route
from crm_expo.database import utcnow
from crm_expo.operations import create_token, revoke_token
from tests.factories import make_show, make_user


def _get(client, url, token):
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def test_shows_list_is_paginated_with_a_total(client):
    show = make_show("a-show")
    for _ in range(3):
        make_show()
    user = make_user("admin")
    client.login(user)
    body = client.get("/api/v1/shows?per_page=2&page=2").get_json()
    assert body["total"] == 4 and body["page"] == 2 and body["per_page"] == 2 and len(body["items"]) == 2
    _, token = create_token(show, "organizer")
    body = _get(client, "/api/v1/shows", token).get_json()
    assert [s["slug"] for s in body["items"]] == ["a-show"] and body["total"] == 1


def test_bad_pagination_is_a_clear_400(client):
    show = make_show()
    _, token = create_token(show, "organizer")
    resp = _get(client, "/api/v1/shows?per_page=1000", token)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "bad_pagination"


def test_missing_invalid_revoked_expired_tokens(client):
    show = make_show()
    assert client.get("/api/v1/shows").get_json()["error"]["code"] == "unauthorized"
    assert _get(client, "/api/v1/shows", "ce_nonsense").get_json()["error"]["code"] == "invalid_token"
    tok, token = create_token(show, "desk")
    assert _get(client, "/api/v1/shows", token).status_code == 200
    assert tok.last_used_at is not None
    revoke_token(tok)
    resp = _get(client, "/api/v1/shows", token)
    assert resp.status_code == 401 and resp.get_json()["error"] == {
        "code": "token_revoked", "message": "The API token was revoked."}
    _, old = create_token(show, "desk", expires_at=utcnow() - dt.timedelta(minutes=1))
    assert _get(client, "/api/v1/shows", old).get_json()["error"]["code"] == "token_expired"


def test_token_is_scoped_to_its_show(client):
    mine = make_show("mine")
    make_show("other")
    _, token = create_token(mine, "desk")
    assert _get(client, "/api/v1/shows/mine", token).get_json()["slug"] == "mine"
    resp = _get(client, "/api/v1/shows/other", token)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "wrong_show"
    resp = _get(client, "/api/v1/shows/nosuch", token)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_show"


def test_tokens_are_hashed_at_rest(app):
    show = make_show()
    tok, token = create_token(show, "desk")
    assert token not in (tok.token_hash, tok.prefix) and len(tok.token_hash) == 64


def test_unknown_api_path_is_json(client):
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_openapi_document_is_generated_from_the_routes(client, app):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.") and "/api/v1/shows" in doc["paths"]
    assert "/api/v1/shows/{slug}" in doc["paths"]
    api_rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")} - {"/api/v1/openapi.json"}
    for rule in api_rules:
        path = rule.replace("<", "{").replace(">", "}")
        import re
        path = re.sub(r"\{\w+:(\w+)\}", r"{\1}", path)
        assert path in doc["paths"], f"{rule} missing from the OpenAPI document"
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_a_fast_route_must_name_the_show_once(app):
    # the list of shows names no show; one show is only read (GET)
    with pytest.raises(ValueError, match="names the show once"):
        add_fast_route(app, "api.list_shows", lambda show, token, data: {})
    with pytest.raises(ValueError, match="POSTs of an api_require view"):
        add_fast_route(app, "api.get_show", lambda show, token, data: {})
