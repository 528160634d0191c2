"""Response models of the operator overview and of the Time Release Study."""

from datetime import datetime

from pydantic import BaseModel, Field

from services.gateway.domain.release_study import PERCENTILES, Dimension, Interval, Summary


class ServiceHealth(BaseModel):
    name: str
    reachable: bool
    ready: bool
    checks: dict[str, bool] | None = None
    kafka_connected: bool | None = None
    status: int | None = None
    error: str | None = None


class BrokerState(BaseModel):
    bootstrap: str
    connected: bool = Field(description="The gateway's producer is connected")
    last_error: str | None
    offsets_read: bool = Field(description="Lag and dead letters could be read from the brokers just now")


class Counts(BaseModel):
    lodged: int
    decisions: int
    released: int


class Throughput(BaseModel):
    last_minute: Counts
    last_15_minutes: Counts


class GroupLag(BaseModel):
    group: str
    topic: str
    partition: int
    committed: int
    end: int
    behind: int


class DeadLetters(BaseModel):
    topic: str
    records: int = Field(description="Records the dead-letter topic holds now")


class MixRow(BaseModel):
    agency: str
    outcome: str
    lane: str = Field(description="Customs lane; `none` for agencies without lanes")
    count: int


class DecisionMix(BaseModel):
    hours: float = Field(description="The window the mix covers, up to now")
    rows: list[MixRow]


class WaitingConsignment(BaseModel):
    declaration_id: str
    state: str
    lodged_at: datetime
    waiting_seconds: float
    waiting_for: list[str] = Field(description="Each agency not decided yet or holding the goods, with why")


class OperationsOverview(BaseModel):
    """What the operator dashboard shows, at one instant."""

    at: datetime
    services: list[ServiceHealth]
    broker: BrokerState
    outbox_backlog: int
    throughput: Throughput
    lag: list[GroupLag]
    dead_letters: list[DeadLetters]
    decision_mix: DecisionMix
    waiting_longest: list[WaitingConsignment]


class StudyRow(BaseModel):
    dimension: Dimension
    group: str
    interval: Interval
    agency: str | None = Field(description="Set for lodgement_to_decision: whose decision")
    count: int = Field(description="Consignments where the interval has ended")
    waiting: int = Field(description="Consignments where it has begun and not ended")
    p50_seconds: float | None
    p75_seconds: float | None
    p90_seconds: float | None
    p95_seconds: float | None
    p99_seconds: float | None
    mean_seconds: float | None
    min_seconds: float | None
    max_seconds: float | None

    @classmethod
    def of(cls, summary: Summary) -> "StudyRow":
        return cls(
            dimension=summary.dimension,
            group=summary.group,
            interval=summary.interval,
            agency=summary.agency,
            count=summary.count,
            waiting=summary.waiting,
            **{f"p{p}_seconds": summary.percentiles.get(p) for p in PERCENTILES},
            mean_seconds=summary.mean,
            min_seconds=summary.minimum,
            max_seconds=summary.maximum,
        )


class ReleaseStudy(BaseModel):
    """The Time Release Study of the declarations lodged in [since, until)."""

    since: datetime
    until: datetime
    consignments: int = Field(description="Declarations lodged in the period")
    percentile_method: str = Field(
        default="nearest-rank: the p-th percentile of n sorted times is the one at rank ceil(p/100 x n)"
    )
    rows: list[StudyRow]
