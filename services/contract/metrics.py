"""Prometheus metrics every service exposes at /metrics."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Histogram("sw_http_request_seconds", "HTTP request latency", ["method", "route", "status"])
EVENTS_PUBLISHED = Counter("sw_events_published_total", "Events published to Kafka", ["topic"])
EVENTS_CONSUMED = Counter(
    "sw_events_consumed_total",
    "Events consumed, by outcome (processed, duplicate, dead_lettered)",
    ["topic", "outcome"],
)
DEAD_LETTERS = Counter("sw_dead_letters_total", "Records sent to a dead-letter topic", ["topic"])
OUTBOX_BACKLOG = Gauge("sw_outbox_backlog", "Events committed to the outbox and not yet published")
KAFKA_CONNECTED = Gauge("sw_kafka_connected", "1 when the service's Kafka producer is connected")
