"""Writes the JSON Schema of every event and schemas/asyncapi.yaml from the pydantic models.

`python -m services.contract.schema_export` regenerates them; `--check` fails when the committed files differ.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from services.contract.events import EVENT_TYPES, Event, Topic

ROOT = Path(__file__).resolve().parents[2] / "schemas"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# Who sends and who receives on each channel (the gateway, the agencies, and anyone subscribed).
CHANNEL_ROLES: dict[Topic, tuple[str, str, str]] = {
    Topic.DECLARATIONS: ("gateway", "customs, phyto and any agency", "Declarations lodged by traders"),
    Topic.CERTIFICATES: ("gateway", "phyto", "Phytosanitary certificates delivered by NPPOs"),
    Topic.DECISIONS: (
        "every agency",
        "gateway",
        "Agencies' decisions on declaration versions; customs' assessments of corrections",
    ),
    Topic.CLEARANCE: ("gateway", "traders' systems, carriers, terminals", "The single-window decision"),
    Topic.INSPECTIONS: ("gateway", "customs, phyto", "Inspection results recorded by officers"),
    Topic.ALERTS: (
        "phyto",
        "gateway, operators",
        "Alerts an agency raises after a release; the gateway flags the consignment",
    ),
    Topic.AUDIT: ("gateway", "auditors (the verify command)", "Heads of the gateway's hash-chained audit trail"),
}

CLOUDEVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 Kafka binary mode: context attributes as ce_* headers",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_dataschema", "ce_correlationid"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "description": "Unique per event; consumers deduplicate by it"},
        "ce_source": {"type": "string", "description": "The producing service or agency"},
        "ce_type": {"type": "string", "description": "org.singlewindow.<EventName>.v<major>"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string", "description": "The record key: declaration id or country:number"},
        "ce_dataschema": {"type": "string", "description": "The $id of the data's JSON Schema"},
        "ce_correlationid": {"type": "string", "description": "Follows one submission through every service"},
        "ce_traceparent": {
            "type": "string",
            "description": "W3C traceparent of the span that created the event (CloudEvents distributed tracing "
            "extension); only while the producer traces. A consumer that cannot parse it starts a new trace",
        },
        "ce_tracestate": {"type": "string", "description": "W3C tracestate that goes with ce_traceparent, if any"},
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def schema_file(event: type[Event]) -> str:
    return f"events/{event.__name__}.v{event.major_version}.json"


def event_schema(event: type[Event]) -> dict[str, Any]:
    schema = event.model_json_schema(mode="serialization")
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": event.schema_id(), **schema}


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic, (sender, receivers, description) in CHANNEL_ROLES.items():
        events = [event for event in EVENT_TYPES.values() if event.topic is topic]
        channels[topic.value] = {
            "address": f"{{prefix}}{topic.value}",
            "description": f"{description}. Dead letters go to {topic.value}.dlq with dlq_* headers.",
            "parameters": {"prefix": {"description": "Deployment topic prefix (settings topic_prefix), often empty"}},
            "messages": {e.__name__: {"$ref": f"#/components/messages/{e.__name__}"} for e in events},
        }
        for e in events:
            messages[e.__name__] = {
                "name": e.__name__,
                "title": e.type_name(),
                "summary": (e.__doc__ or "").strip().splitlines()[0],
                "contentType": "application/json",
                "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
                "payload": {"$ref": f"./{schema_file(e)}"},
            }
        if events:
            operations[f"send_{topic.value}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{topic.value}"},
                "summary": f"Sent by {sender}",
            }
            operations[f"receive_{topic.value}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{topic.value}"},
                "summary": f"Received by {receivers}",
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Single Window events",
            "version": "1.4.0",
            "description": (
                "Events between the single-window gateway and the border agencies, as CloudEvents 1.0 in Kafka "
                "binary mode with JSON data. Keys: declaration id (declarations, decisions, clearance, alerts) or "
                "issuing country:certificate number (certificates). Within a major version, changes only add "
                "optional fields. Consumers deduplicate by ce_id."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": {"CloudEventHeaders": CLOUDEVENT_HEADERS}},
    }


def rendered() -> dict[Path, str]:
    """Every generated file and its text."""
    files = {
        ROOT / schema_file(event): json.dumps(event_schema(event), indent=2, ensure_ascii=False) + "\n"
        for event in EVENT_TYPES.values()
    }
    files[ROOT / "asyncapi.yaml"] = yaml.safe_dump(asyncapi(), sort_keys=False, allow_unicode=True, width=110)
    return files


def write_or_check(files: dict[Path, str], *, check: bool, regenerate: str) -> None:
    """Write generated files, or with `check` exit naming the ones that differ from what is committed."""
    stale = [path for path, text in files.items() if not path.exists() or path.read_text(encoding="utf-8") != text]
    if check:
        if stale:
            names = ", ".join(str(path.relative_to(ROOT.parent)) for path in stale)
            sys.exit(f"generated files out of date: {names}; run {regenerate} and commit")
        return
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when the committed schemas are out of date")
    files = rendered()
    write_or_check(files, check=parser.parse_args().check, regenerate="python -m services.contract.schema_export")
    print(f"{len(files)} schema files up to date in {ROOT}")


if __name__ == "__main__":
    main()
