"""Prometheus metrics every service exposes at /metrics.

Every name here is used by deploy/monitoring (the Prometheus alert rules and the Grafana dashboard); a test
checks that what they query exists.
"""

from prometheus_client import Counter, Gauge, Histogram

# From 50 ms (an automatic decision) to a day (an inspection): how long a consignment waits.
WAITING_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600)

HTTP_REQUESTS = Histogram("sw_http_request_seconds", "HTTP request latency", ["method", "route", "status"])
EVENTS_PUBLISHED = Counter("sw_events_published_total", "Events published to Kafka", ["topic"])
EVENTS_CONSUMED = Counter(
    "sw_events_consumed_total",
    "Events consumed, by outcome (processed, duplicate, dead_lettered)",
    ["topic", "outcome"],
)
HUB_ENVELOPES = Counter(
    "sw_hub_envelopes_total",
    "ePhyto Hub envelopes the gateway pulled, acknowledged (stored, or a redelivery) and reported failed",
    ["outcome"],
)
DEAD_LETTERS = Counter("sw_dead_letters_total", "Records sent to a dead-letter topic", ["topic"])
OUTBOX_BACKLOG = Gauge("sw_outbox_backlog", "Events committed to the outbox and not yet published")
KAFKA_CONNECTED = Gauge("sw_kafka_connected", "1 when the service's Kafka producer is connected")
CONSUMER_LAG = Gauge(
    "sw_consumer_lag",
    "Records on a partition not yet committed by this service's consumer group, sampled periodically",
    ["group", "topic", "partition"],
)
ALERTS_RAISED = Counter(
    "sw_alerts_total",
    "Alerts agencies raised after a release (e.g. its certificate withdrawn), as the gateway flagged them",
    ["agency", "code"],
)
AGENCY_DECISIONS = Counter(
    "sw_agency_decisions_total",
    "Agency decisions joined by the gateway, by agency, outcome and customs lane ('none' when no lane)",
    ["agency", "outcome", "lane"],
)
CLEARANCE_DECISIONS = Counter(
    "sw_clearance_decisions_total", "Single-window decisions published, by clearance state", ["state"]
)
TIME_TO_DECISION = Histogram(
    "sw_time_to_decision_seconds",
    "From the lodgement of a declaration version to the gateway receiving an agency's decision on it",
    ["agency"],
    buckets=WAITING_BUCKETS,
)
TIME_TO_RELEASE = Histogram(
    "sw_time_to_release_seconds",
    "From the first lodgement of a declaration to its single-window release",
    buckets=WAITING_BUCKETS,
)
