"""Customs control lanes (Revised Kyoto Convention, SAFE) and what each means for release."""

from enum import StrEnum

from services.contract.events import Outcome


class Lane(StrEnum):
    """From least to most severe: the order of the members is the order of severity."""

    GREEN = "green"
    BLUE = "blue"
    YELLOW = "yellow"
    RED = "red"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def outcome(self) -> Outcome:
        """Green releases, blue releases now and audits after clearance; yellow (documentary check) and red
        (physical inspection) hold for the officer."""
        return Outcome.RELEASED if self in (Lane.GREEN, Lane.BLUE) else Outcome.HELD

    def relieved(self) -> "Lane":
        """One step lighter, the lane relief an AEO gets: red to yellow, yellow to green; blue and green stay."""
        return {Lane.RED: Lane.YELLOW, Lane.YELLOW: Lane.GREEN}.get(self, self)


_SEVERITY = {lane: index for index, lane in enumerate(Lane)}


def most_severe(lanes: "list[Lane]") -> Lane:
    return max(lanes, key=_SEVERITY.__getitem__)
