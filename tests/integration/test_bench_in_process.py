"""The in-process consumer benchmark (`bench/consumers/in_process.py`): each service decides every declaration of
the workload through its own batch handler, on a real SQLite database, and the records reach it numbered as a
consumer reads them."""

from datetime import UTC, datetime

import pytest

from bench.consumers.in_process import consumed, handle
from bench.consumers.workload import build

NOW = datetime(2026, 12, 8, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize("agency", ["customs", "phyto"])
async def test_every_declaration_of_the_workload_is_decided_in_process(agency: str) -> None:
    workload = build(40, plants=agency == "phyto", run_id="t", now=NOW)  # the same events whatever the run's id
    handled = await handle(agency, 40, batch=25)  # batches that cut runs of certificates and of lodgements
    assert (handled.declarations, handled.records, handled.decided) == (40, len(workload.records), 40)
    assert handled.cpu_seconds > 0


def test_records_are_numbered_per_topic_and_partition_as_a_consumer_reads_them() -> None:
    records = build(10, plants=True, run_id="t", now=NOW).records
    read = consumed(records, partitions=3)
    assert [record.value for record in read] == [
        record.value for topic in sorted({r.topic for r in records}) for record in records if record.topic == topic
    ]
    for topic in {record.topic for record in read}:
        for partition in range(3):
            offsets = [r.offset for r in read if (r.topic, r.partition) == (topic, partition)]
            assert offsets == list(range(len(offsets)))
