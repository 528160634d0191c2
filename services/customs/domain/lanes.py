"""Customs control lanes (Revised Kyoto Convention) and what each means for release."""

from enum import StrEnum

from services.contract.events import Outcome


class Lane(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def severity(self) -> int:
        return list(Lane).index(self)

    @property
    def outcome(self) -> Outcome:
        """Green releases; yellow (documentary check) and red (physical inspection) hold for the officer."""
        return Outcome.RELEASED if self is Lane.GREEN else Outcome.HELD
