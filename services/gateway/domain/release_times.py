"""How long a consignment took to be released, from lodgement and from arrival (pure).

Lodgement before arrival (pre-arrival processing) is normal: goods released before they arrive were
waiting for no one when they did, so their time from arrival is zero.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ReleaseTimes:
    from_lodgement: timedelta | None
    """None until released."""
    from_arrival: timedelta | None
    """None until both arrived and released."""


def release_times(lodged_at: datetime, arrived_at: datetime | None, released_at: datetime | None) -> ReleaseTimes:
    if released_at is None:
        return ReleaseTimes(None, None)
    from_arrival = None if arrived_at is None else max(timedelta(0), released_at - arrived_at)
    return ReleaseTimes(released_at - lodged_at, from_arrival)
