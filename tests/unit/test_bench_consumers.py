"""The consumer benchmark's pure parts: the profile account, the partitions read from a log line, the workload."""

from datetime import UTC, datetime

from bench.consumers.instances import assigned
from bench.consumers.kafka_io import DECISION_TYPE, Decisions
from bench.consumers.profile import LOOP_IN_C, function_of, summarise
from bench.consumers.workload import build
from deploy.stack import REPO
from services.contract.cloudevents import decode
from services.contract.events import CertificateReceived, DeclarationSubmitted

FRAMES = [
    {"name": "main", "file": "/work/main/services/customs/__main__.py", "line": 24},
    {"name": "Runner.run", "file": "/usr/lib/python3.11/asyncio/runners.py", "line": 118},
    {"name": "decide", "file": "/work/main/services/customs/service_layer/declarations.py", "line": 40},
    {"name": "decide", "file": "/work/main/services/customs/service_layer/declarations.py", "line": 61},
    {"name": "execute", "file": "/venv/lib/python3.11/site-packages/sqlalchemy/engine/base.py", "line": 10},
    {"name": "_connection_worker_thread", "file": "/venv/lib/python3.11/site-packages/aiosqlite/core.py", "line": 63},
]


def test_profile_shares_count_each_function_once_whatever_its_lines() -> None:
    speedscope = {
        "shared": {"frames": FRAMES},
        "profiles": [
            {"name": "main", "samples": [[0, 1], [0, 2, 4], [0, 3, 4], [0, 3]], "weights": [0.01] * 4},
            {"name": "sqlite", "samples": [[5], []], "weights": [0.01, 0.01]},
        ],
    }

    summary = summarise(speedscope)

    assert summary["samples"] == 5
    assert summary["threads"] == {"main": 0.8, "sqlite": 0.2}
    areas = {row["area"]: row["share"] for row in summary["areas"]}
    assert areas == {
        "SQLAlchemy": 0.4,
        LOOP_IN_C: 0.2,
        "customs service layer": 0.2,
        "SQLite driver (aiosqlite, sqlite3)": 0.2,
    }
    inclusive = {row["function"]: row["share"] for row in summary["inclusive"]}
    assert inclusive["decide (services/customs/service_layer/declarations.py)"] == 0.6
    assert inclusive["main (services/customs/__main__.py)"] == 0.8
    assert all("sqlalchemy" not in name for name in inclusive)  # only the project's own functions


def test_partitions_assigned_are_read_from_the_json_log_line() -> None:
    line = (
        '{"message": "group bench.x.customs: partitions assigned: bench.x.declarations[0], bench.x.declarations[2], '
        'bench.x.inspections[0]", "level": "INFO"}'
    )

    assert assigned(line) == "declarations 0,2"


def test_phyto_decision_counts_once_no_certificate_is_awaited() -> None:
    decisions = Decisions({"D1"}, lambda data: not data["details"]["awaited_certificates"])
    headers = {"ce_type": DECISION_TYPE.encode()}

    held = b'{"declaration_id":"D1","outcome":"held","details":{"awaited_certificates":["NL-1"]}}'
    released = b'{"declaration_id":"D1","outcome":"released","details":{"awaited_certificates":[]}}'

    decisions.take(1000, headers | {"ce_id": b"a"}, held)
    assert not decisions.complete
    decisions.take(1500, headers | {"ce_id": b"b"}, released)
    decisions.take(1600, headers | {"ce_id": b"b"}, b"{}")  # the same event again

    assert decisions.complete
    assert decisions.decided_at_ms == {"D1": 1500}
    assert (decisions.total, decisions.duplicate_event_ids, decisions.outcomes) == (2, 1, {"released": 1})


def test_phyto_workload_brings_every_certificate_its_declarations_cite() -> None:
    workload = build(40, plants=True, run_id="t", now=datetime(2026, 11, 24, tzinfo=UTC))
    events = [decode(record.headers, record.value).data for record in workload.records]

    declared = [event for event in events if isinstance(event, DeclarationSubmitted)]
    certified = {event.certificate.number for event in events if isinstance(event, CertificateReceived)}
    cited = {doc.id for event in declared for item in event.declaration.goods_items for doc in item.documents}

    assert len(declared) == workload.declarations == 40
    assert cited == certified
    assert len(certified) == workload.certificates
    assert all("phyto" in event.required_agencies for event in declared)
    assert len({event.declaration.lrn for event in declared}) == 40


def test_a_function_is_named_from_the_repository_root_wherever_the_checkout_was() -> None:
    here = function_of({"name": "decide", "file": f"{REPO}/services/customs/bootstrap.py", "line": 1})
    elsewhere = function_of({"name": "decide", "file": "/tmp/wtb/services/customs/bootstrap.py", "line": 9})
    library = function_of({"name": "run", "file": "/venv/lib/python3.11/site-packages/mylib/services/jobs.py"})

    assert here == elsewhere == "decide (services/customs/bootstrap.py)"
    assert library == "run (mylib/services/jobs.py)"  # a library's folder of that name is not the project's
