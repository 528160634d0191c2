"""JSON request bodies (gateway entrypoints/bodies.py): read as `json.loads` reads them, whichever parser reads
them first, and refused with the offset where they go wrong."""

import math

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from services.gateway.entrypoints.bodies import from_json


class Note(BaseModel):
    text: str
    count: int | None = None
    amount: float | None = None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            b'{"text": "a", "count": 123456789012345678901234567890}',
            Note(text="a", count=123456789012345678901234567890),
            id="an integer past 64 bits",
        ),
        pytest.param(b'{"text": "a", "text": "b"}', Note(text="b"), id="a key twice: the last"),
        pytest.param(b'\xef\xbb\xbf{"text": "a"}', Note(text="a"), id="a byte order mark"),
        pytest.param(b'{"text": "\\ud800"}', Note(text="\ud800"), id="a lone surrogate"),
        pytest.param('{"text": "\u00e9"}'.encode("utf-16"), Note(text="\u00e9"), id="UTF-16"),
    ],
)
def test_a_body_reads_as_json_loads_reads_it(body: bytes, expected: Note) -> None:
    assert from_json(body, Note) == expected


def test_nan_reads_as_json_loads_reads_it() -> None:
    note = from_json(b'{"text": "a", "amount": NaN}', Note)
    assert note.amount is not None
    assert math.isnan(note.amount)


@pytest.mark.parametrize(
    ("body", "location"),
    [
        pytest.param(b'{"text": ', ("body", 9), id="cut short"),
        pytest.param(b'{"text": "a",}', ("body", 13), id="a trailing comma"),
        pytest.param(b'{"text": "\xff"}', ("body", 10), id="not UTF-8"),
    ],
)
def test_a_body_that_is_not_json_is_refused_where_it_goes_wrong(body: bytes, location: tuple[str, int]) -> None:
    with pytest.raises(RequestValidationError) as refused:
        from_json(body, Note)
    (error,) = refused.value.errors()
    assert (error["loc"], error["type"]) == (location, "json_invalid")
