"""The Time Release Study, computed from the records instead of by hand (pure).

The WCO Time Release Study follows consignments from arrival to release and splits the time into phases.
Here every declaration lodged in the study period is one consignment, and four intervals are measured:

- `arrival_to_lodgement`: arrival of the goods to the first lodgement of the declaration. Negative when
  the declaration was lodged before the goods arrived (pre-arrival processing, which the TFA encourages);
- `lodgement_to_decision`: lodgement to each required agency's first decision, one row per agency;
- `lodgement_to_release`: lodgement to the single-window release;
- `arrival_to_release`: arrival to release, zero when the goods were released before they arrived (the
  time the goods themselves waited at the border).

Each interval is summarised over the consignments where both its ends are known, by dimension: all of
them, the customs lane, the agency (the consignments that agency had to decide), the office (where the
goods were presented, else the declared point of entry) and the HS chapter (a consignment with goods in
two chapters counts in both). Consignments where the interval has begun and not ended are counted as
`waiting`: an interval summarised only over the finished ones would flatter a border.

Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the value at rank
ceil(p/100 x n), so every figure is a time that one consignment really took.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

PERCENTILES = (50, 75, 90, 95, 99)
UNKNOWN = "unknown"
NO_LANE = "none"


class Interval(StrEnum):
    ARRIVAL_TO_LODGEMENT = "arrival_to_lodgement"
    LODGEMENT_TO_DECISION = "lodgement_to_decision"
    LODGEMENT_TO_RELEASE = "lodgement_to_release"
    ARRIVAL_TO_RELEASE = "arrival_to_release"


class Dimension(StrEnum):
    ALL = "all"
    LANE = "lane"
    AGENCY = "agency"
    OFFICE = "office"
    HS_CHAPTER = "hs_chapter"


@dataclass(frozen=True)
class Consignment:
    """What the records say about one declaration's way through the border."""

    declaration_id: str
    lodged_at: datetime
    required_agencies: tuple[str, ...]
    hs_chapters: frozenset[str]
    office: str = UNKNOWN
    lane: str = NO_LANE
    """The customs lane of customs' first decision; `none` before it (or when customs is not required)."""
    arrived_at: datetime | None = None
    released_at: datetime | None = None
    first_decisions: Mapping[str, datetime] = field(default_factory=dict)
    """Each agency's first decision on the declaration."""

    def groups(self, dimension: Dimension) -> Iterable[str]:
        match dimension:
            case Dimension.ALL:
                return ("all",)
            case Dimension.LANE:
                return (self.lane,)
            case Dimension.AGENCY:
                return self.required_agencies
            case Dimension.OFFICE:
                return (self.office,)
            case Dimension.HS_CHAPTER:
                return sorted(self.hs_chapters) or (UNKNOWN,)

    def measures(self, agencies: Iterable[str]) -> Iterator[tuple[Interval, str | None, float | None]]:
        """(interval, agency, seconds) for every interval that has begun; seconds None while it runs."""
        if self.arrived_at is not None:
            yield Interval.ARRIVAL_TO_LODGEMENT, None, _seconds(self.arrived_at, self.lodged_at)
        for agency in agencies:
            decided = self.first_decisions.get(agency)
            yield Interval.LODGEMENT_TO_DECISION, agency, None if decided is None else _seconds(self.lodged_at, decided)
        released = self.released_at
        yield Interval.LODGEMENT_TO_RELEASE, None, None if released is None else _seconds(self.lodged_at, released)
        if self.arrived_at is not None:
            waited = None if released is None else max(0.0, _seconds(self.arrived_at, released))
            yield Interval.ARRIVAL_TO_RELEASE, None, waited


@dataclass(frozen=True)
class Summary:
    """One row of the study: an interval over one group of consignments."""

    dimension: Dimension
    group: str
    interval: Interval
    agency: str | None
    count: int
    """Consignments where the interval has ended."""
    waiting: int
    """Consignments where it has begun and not ended."""
    percentiles: Mapping[int, float]
    """Seconds, by percentile (nearest rank); empty when count is 0."""
    mean: float | None
    minimum: float | None
    maximum: float | None


def nearest_rank(sorted_values: list[float], percentile: float) -> float:
    """The value at rank ceil(p/100 x n) of the sorted values (rank 1 for p = 0)."""
    if not sorted_values:
        raise ValueError("no values")
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile {percentile} is not between 0 and 100")
    rank = max(1, math.ceil(percentile / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def study(consignments: Iterable[Consignment], dimensions: Iterable[Dimension] = tuple(Dimension)) -> list[Summary]:
    """Every interval summarised by every dimension asked for, in a stable order."""
    chosen = list(dimensions)
    finished: dict[tuple[Dimension, str, Interval, str | None], list[float]] = defaultdict(list)
    waiting: dict[tuple[Dimension, str, Interval, str | None], int] = defaultdict(int)
    for consignment in consignments:
        for dimension in chosen:
            for group in consignment.groups(dimension):
                # Grouped by agency, a consignment's decision row is that agency's; otherwise one per agency.
                agencies = (group,) if dimension is Dimension.AGENCY else consignment.required_agencies
                for interval, agency, seconds in consignment.measures(agencies):
                    key = (dimension, group, interval, agency)
                    if seconds is None:
                        waiting[key] += 1
                    else:
                        finished[key].append(seconds)
    order = {dimension: index for index, dimension in enumerate(Dimension)}
    keys = sorted(
        set(finished) | set(waiting),
        key=lambda k: (order[k[0]], k[1], list(Interval).index(k[2]), k[3] or ""),
    )
    return [_summary(key, sorted(finished.get(key, [])), waiting.get(key, 0)) for key in keys]


def _summary(key: tuple[Dimension, str, Interval, str | None], values: list[float], waiting: int) -> Summary:
    dimension, group, interval, agency = key
    return Summary(
        dimension=dimension,
        group=group,
        interval=interval,
        agency=agency,
        count=len(values),
        waiting=waiting,
        percentiles={p: nearest_rank(values, p) for p in PERCENTILES} if values else {},
        mean=sum(values) / len(values) if values else None,
        minimum=values[0] if values else None,
        maximum=values[-1] if values else None,
    )


def _seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()
