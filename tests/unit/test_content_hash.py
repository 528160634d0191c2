"""The content hash of a declaration or certificate (gateway service layer): the same bytes hashed as when Python's
json wrote the canonical form, so that hashes stored before still match a body sent again."""

import hashlib
import json
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from services.contract.certificate import Certificate
from services.contract.declaration import Declaration
from services.gateway.service_layer.declarations import content_hash, dumped_hash

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def hashed_by_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# What model_dump(mode="json") of a contract model holds: text, integers, booleans, null, lists and objects.
text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
scalars = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | text
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4))


@given(st.dictionaries(text, values, max_size=6))
def test_any_dumped_model_hashes_as_json_wrote_it(dumped: dict[str, Any]) -> None:
    assert dumped_hash(dumped) == hashed_by_json(dumped)


def test_the_examples_hash_as_json_wrote_them() -> None:
    declaration = Declaration.model_validate_json((EXAMPLES / "declaration.json").read_text(encoding="utf-8"))
    certificate = Certificate.model_validate_json((EXAMPLES / "certificate.json").read_text(encoding="utf-8"))
    for model in (declaration, certificate):
        assert content_hash(model) == hashed_by_json(model.model_dump(mode="json"))


def test_delete_hashes_as_json_escaped_it() -> None:
    assert dumped_hash({"\x7f": None}) == hashed_by_json({"\x7f": None})


def test_text_beyond_ascii_hashes_as_json_escaped_it() -> None:
    dumped = {"exporter": {"name": "Flores Bogotá S.A.S", "city": "Zürich"}, "note": "control\u0001"}
    assert dumped_hash(dumped) == hashed_by_json(dumped)
    as_utf8 = orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS)  # the same JSON, its text not escaped
    assert dumped_hash(dumped) != hashlib.sha256(as_utf8).hexdigest()
