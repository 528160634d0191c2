"""Where the gateway reads a document: small ones on the event loop, large ones in a worker thread."""

import threading

import pytest

from services.gateway.adapters.safe_xml import ON_THE_LOOP_BYTES, read_in_turn


def reader(data: bytes, *, kind: str) -> tuple[int, int, str]:
    """The thread it ran on, and what it was given."""
    if kind == "refused":
        raise ValueError(f"refused {len(data)} bytes")
    return threading.get_ident(), len(data), kind


async def test_a_document_up_to_the_bound_is_read_on_the_event_loop() -> None:
    loop = threading.get_ident()
    assert await read_in_turn(reader, b"x" * ON_THE_LOOP_BYTES, kind="ePhyto") == (loop, ON_THE_LOOP_BYTES, "ePhyto")


async def test_a_larger_document_is_read_in_a_worker_thread() -> None:
    thread, size, kind = await read_in_turn(reader, b"x" * (ON_THE_LOOP_BYTES + 1), kind="declaration")
    assert thread != threading.get_ident()
    assert (size, kind) == (ON_THE_LOOP_BYTES + 1, "declaration")


@pytest.mark.parametrize("size", [10, ON_THE_LOOP_BYTES + 10])
async def test_the_reader_s_refusal_reaches_the_caller_either_way(size: int) -> None:
    with pytest.raises(ValueError, match=f"refused {size} bytes"):
        await read_in_turn(reader, b"x" * size, kind="refused")
