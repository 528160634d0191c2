"""Ingest benchmark: submissions accepted per second and their latency, closed and open loop, beside the Strimzi
Kafka Bridge and Kafka's ProducerPerformance on the same broker, in one run (`python -m bench.ingest`)."""
