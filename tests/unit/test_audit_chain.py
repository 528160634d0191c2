"""The audit trail's hash chain: an intact trail verifies; every kind of tampering is named."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.gateway.domain.audit import GENESIS, Anchor, AuditRecord, Sealed, problems, seal

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def record(n: int, actor: str = "trader:GB123456789000") -> AuditRecord:
    return AuditRecord(T0 + timedelta(seconds=n), actor, "DeclarationSubmitted", f"decl-{n}", f"ev-{n}", "c", "d" * 64)


def trail(n: int) -> list[Sealed]:
    return seal(None, [record(i) for i in range(1, n + 1)])


def anchored(sealed: list[Sealed], *positions: int) -> list[Anchor]:
    return [Anchor(p, sealed[p - 1].hash) for p in positions]


def test_an_intact_trail_has_no_problems_and_sealing_continues_from_the_head() -> None:
    first = trail(3)
    more = seal(first[-1], [record(4), record(5)])
    whole = first + more
    assert [s.position for s in whole] == [1, 2, 3, 4, 5]
    assert whole[0].previous == GENESIS
    assert whole[3].previous == first[-1].hash
    assert problems(whole, anchored(whole, 3, 5)) == []


def test_an_edited_record_is_found() -> None:
    sealed = trail(4)
    sealed[1] = replace(sealed[1], record=replace(sealed[1].record, actor="officer:customs"))
    assert problems(sealed, anchored(trail(4), 4)) == ["record 2 was changed after it was sealed"]


def test_a_deleted_record_is_found() -> None:
    sealed = trail(4)
    del sealed[1]
    assert problems(sealed, []) == ["record 2 is missing or out of order (found position 3)"]


def test_reordered_records_are_found() -> None:
    sealed = trail(4)
    third, fourth = sealed[2], sealed[3]
    sealed[2], sealed[3] = replace(fourth, position=3), replace(third, position=4)
    found = problems(sealed, [])
    assert "record 3 does not follow record 2: the chain is broken" in found
    assert "record 3 was changed after it was sealed" in found


def test_a_truncated_tail_is_found_by_its_anchor() -> None:
    sealed = trail(5)
    anchors = anchored(sealed, 3, 5)
    assert problems(sealed[:4], anchors) == [
        "record 5, anchored outside the database, is gone: the trail was truncated"
    ]


def test_a_chain_rewritten_from_scratch_is_found_by_its_anchors() -> None:
    honest = trail(3)
    forged = seal(None, [record(1), record(2, actor="trader:GB999999999000"), record(3)])
    assert problems(forged, []) == []  # consistent in itself...
    assert problems(forged, anchored(honest, 3)) == ["record 3 differs from its anchor: the chain was rewritten"]
