"""Bad input over the JSON API is a 4xx naming the problem, never a 500 (issue 19, finding 6;
ASVS 5.0 V2.2.1 input validation, V16.5.3 fail securely)."""
from __future__ import annotations

import pytest

from crm_expo.operations import create_token
from plugins.booths import operations as booth_ops
from plugins.booths.tests.helpers import booth_show, make_exhibitor

HUGE = 99999999999999999999
WRONG = [{"email": 12345}, {"phone": [1]}, {"birth_date": 19900101}, {"consents": [1]}, {"name": ["x"]},
         {"name_zh": {"a": 1}}, {"category": 7}, {"booth": HUGE}, {"exhibitor": HUGE}, {"exhibitor": "abc"},
         {"amount_minor": 1e300}, {"amount_minor": "12"}, {"rates": [1]}, {"rates": {"shell": -1}},
         {"start": 20270101}, {"days": "many"}, {"status": ["open"]}, {"items": "x"}, {"items": [{"item": HUGE}]},
         {"reason": {"x": 1}}, {"code": 12}, {"categories": 3}]


def _routes(show, booking_id, exhibitor_id):
    s = f"/api/v1/shows/{show.slug}"
    return [("POST", f"{s}/visitors"), ("PATCH", f"{s}/visitors/1"), ("POST", f"{s}/exhibitors"),
            ("PATCH", f"{s}/exhibitors/{exhibitor_id}"), ("POST", f"{s}/suppliers"), ("PATCH", f"{s}/suppliers/1"),
            ("POST", f"{s}/bookings"), ("POST", f"{s}/bookings/{booking_id}/pay"),
            ("POST", f"{s}/bookings/{booking_id}/move"), ("POST", f"{s}/waitlist"),
            ("POST", f"{s}/booths/A101/block"), ("PUT", f"{s}/price-list"), ("PATCH", s),
            ("POST", f"{s}/service-orders"), ("POST", f"{s}/service-orders/1/cancel"), ("POST", f"{s}/checkins")]


@pytest.fixture
def setup(app):
    show = booth_show(2)
    exhibitor = make_exhibitor(show)
    booking = booth_ops.hold_booth(show, "A101", exhibitor.id)
    _, token = create_token(show, "admin")
    return show, booking.id, exhibitor.id, {"Authorization": f"Bearer {token}"}


def test_wrong_types_and_huge_numbers_are_refused_never_a_500(client, setup):
    show, booking_id, exhibitor_id, headers = setup
    failures = []
    for method, url in _routes(show, booking_id, exhibitor_id):
        for body in WRONG:
            r = client.open(url, method=method, json=body, headers=headers)
            if r.status_code >= 500:
                failures.append((method, url, body, r.status_code))
    assert failures == []


@pytest.mark.parametrize("raw, message", [
    (b'{"name": "x", "n": Infinity}', "must be a JSON object"),
    (b'{"n": NaN}', "must be a JSON object"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"a":' * 200 + b"1" + b"}" * 200, "nested too deeply"),
    (b'{"exhibitor": 99999999999999999999}', "exhibitor is not a number"),
    (b"not json", "must be a JSON object"),
])
def test_json_that_no_operation_should_see_is_a_400(client, setup, raw, message):
    show, _b, _e, headers = setup
    r = client.post(f"/api/v1/shows/{show.slug}/bookings", data=raw, headers=dict(headers, **{
        "Content-Type": "application/json"}))
    assert r.status_code == 400 and message in r.get_json()["error"]["message"], r.get_data(as_text=True)[:200]


def test_an_id_beyond_64_bits_in_a_url_is_a_404(client, setup):
    from tests.factories import make_user
    show, _b, _e, headers = setup
    client.login(make_user("admin"))
    for url in (f"/shows/{show.slug}/visitors/{HUGE}", f"/organizations/{HUGE}",
                f"/shows/{show.slug}/booths/booking/{HUGE}"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/api/v1/shows/{show.slug}/bookings/{HUGE}", headers=headers).status_code == 404
