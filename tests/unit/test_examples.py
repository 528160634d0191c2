"""The request examples in examples/ (used by the README's commands) are the OpenAPI examples, regenerated."""

import json

from services.gateway.entrypoints.examples import CERTIFICATE_EXAMPLE, DECLARATION_EXAMPLE, EXAMPLES


def test_examples_directory_holds_the_openapi_examples() -> None:
    # When this fails: python -m services.gateway.entrypoints.examples, then commit examples/.
    assert json.loads((EXAMPLES / "declaration.json").read_text()) == DECLARATION_EXAMPLE
    assert json.loads((EXAMPLES / "certificate.json").read_text()) == CERTIFICATE_EXAMPLE
