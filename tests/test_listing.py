"""Keyset pagination helpers (crm_expo.listing): cursors survive the round trip through a URL
and refuse anything else with a message; the position parameters are read strictly."""
import datetime as dt

import pytest
from werkzeug.datastructures import MultiDict

from crm_expo.listing import (
    MAX_PAGE_NUMBER,
    ListRequestError,
    Order,
    Position,
    decode_cursor,
    encode_cursor,
    position_from,
)
from crm_expo.models import Person

NAME = Order((Person.sort_name, Person.id), (str, int))
DATED = Order((Person.created_at, Person.id), (dt.datetime, int), descending=True)


def test_cursor_round_trip_keeps_types_including_chinese_and_timestamps():
    for order, values in ((NAME, ("zhangwei", 17)), (NAME, ("张 伟 &?=/#", 2 ** 40)),
                          (DATED, (dt.datetime(2027, 5, 10, 9, 30, 15, 120), 3))):
        raw = encode_cursor(values)
        assert all(c.isalnum() or c in "-_" for c in raw)      # URL-safe as it is
        assert decode_cursor(raw, order) == values


@pytest.mark.parametrize("raw", [
    "", "x", "!!!", "a" * 2000,
    encode_cursor(["zhangwei"]),             # too few values
    encode_cursor(["zhangwei", 1, 2]),       # too many
    encode_cursor([17, "zhangwei"]),         # wrong types
    encode_cursor(["zhangwei", True]),       # a bool is not an id
    encode_cursor(["zhangwei", 2 ** 70]),    # beyond any database integer
    encode_cursor(["zhangwei", 1.5]),
])
def test_damaged_or_foreign_cursors_are_refused_with_a_message(raw):
    with pytest.raises(ListRequestError, match="not valid"):
        decode_cursor(raw, NAME)


def test_timestamp_cursor_must_hold_a_timestamp():
    with pytest.raises(ListRequestError):
        decode_cursor(encode_cursor([{"t": "yesterday"}, 1]), DATED)
    with pytest.raises(ListRequestError):
        decode_cursor(encode_cursor(["2027-05-10", 1]), DATED)


def test_position_parameters(app):
    with app.test_request_context():
        assert position_from(MultiDict()) == Position()
        assert position_from(MultiDict({"page": "3"})) == Position(page=3)
        assert position_from(MultiDict({"after": "abc"})).after == "abc"
        assert position_from(MultiDict({"last": "1"})).last
        for bad, words in (({"page": "abc"}, "not a page number"), ({"page": "0"}, "not a page number"),
                           ({"page": "-2"}, "not a page number"), ({"page": "1e9"}, "not a page number"),
                           ({"page": str(MAX_PAGE_NUMBER + 1)}, "Next"),
                           ({"after": "a", "before": "b"}, "only one"), ({"page": "2", "last": "1"}, "only one")):
            with pytest.raises(ListRequestError, match=words):
                position_from(MultiDict(bad))
