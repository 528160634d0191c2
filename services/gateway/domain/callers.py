"""Who is calling: a role and the identifier the role acts for (trader id, country, agency)."""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    TRADER = "trader"
    NPPO = "nppo"
    OFFICER = "officer"
    CARRIER = "carrier"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Caller:
    role: Role
    subject: str = ""
    label: str = ""
    """Who holds the key, as the operator named it (an officer's name, a company)."""
