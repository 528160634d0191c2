"""Python's cyclic garbage collector, set for a service that keeps a batch of events' objects alive at a time.

With Python's own thresholds (a young collection every 700 container objects allocated net, an old one when the
objects promoted since the last have grown by a quarter) a consumer's batch outlives several young collections:
its envelopes, declarations and rows are traversed again at each one, promoted, and then make the old generation,
every module, schema and rule loaded at start among it, be traversed whole again and again. On this machine that
was about a quarter of the customs and phyto consumers' CPU per declaration (bench/README.md, eighth round).
"""

import gc
import logging

log = logging.getLogger(__name__)


def settle(*, young_threshold: int, freeze: bool) -> None:
    """Once start-up is over: with `freeze`, collect what it left and move every object it built out of the
    collector's reach for good (`gc.freeze`: they are never traversed again, and never freed should they later
    become cyclic garbage, which start-up's modules, settings and rules do not); then collect the young generation
    every `young_threshold` container objects allocated net, not every 700. Refcounting frees everything else as
    before: the threshold bounds only how much cyclic garbage can wait for a collection.

    A process freezes once, at its first start: a process that starts services again and again (the tests) would
    otherwise freeze each time the objects of the ones before, which then become garbage."""
    if freeze and not gc.get_freeze_count():
        gc.collect()
        gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
    log.info(
        "garbage collector: %d objects from start-up frozen, young generation collected every %d allocations",
        gc.get_freeze_count(),
        young_threshold,
    )
