"""Who is calling: a role, the identifier the role acts for (trader id, country, agency), and grants."""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    TRADER = "trader"
    NPPO = "nppo"
    OFFICER = "officer"
    CARRIER = "carrier"
    OPERATOR = "operator"


class Grant(StrEnum):
    """What an operator key may do beyond operations, when the key was created with it."""

    TRADE_READ = "trade:read"
    """Read declarations, arrivals and certificates, as an officer reads them; change nothing."""


@dataclass(frozen=True)
class Caller:
    role: Role
    subject: str = ""
    label: str = ""
    """Who holds the key, as the operator named it (an officer's name, a company)."""
    grants: frozenset[Grant] = frozenset()

    def reads_all_trade(self) -> bool:
        """Officers read every declaration and certificate; so do operators granted trade:read."""
        return self.role is Role.OFFICER or (self.role is Role.OPERATOR and Grant.TRADE_READ in self.grants)
